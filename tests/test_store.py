import os

import pandas as pd
import pytest

from bitterlab.engine import Store, StoreError, run_trial
from bitterlab.engine.store import FIELDS, export
from bitterlab.study import expand
from toy import study


def test_schema(tmp_path):
    with Store(tmp_path / "r.duckdb") as store:
        cols = store.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'results' ORDER BY ordinal_position").fetchall()
        names = [c for c, _ in cols]
        assert names == [*FIELDS[:18], "finished_at", *FIELDS[18:]]
        pk = store.con.execute("SELECT constraint_column_names FROM duckdb_constraints() "
                               "WHERE table_name = 'results' AND constraint_type = 'PRIMARY KEY'").fetchall()
        assert pk == [(["key"],)]
        assert store.con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == ("4",)


def test_roundtrip_and_no_duplicates(tmp_path):
    trials = expand(study(), "quick")[:3]
    results = [run_trial(t) for t in trials]
    with Store(tmp_path / "r.duckdb") as store:
        for r in results + results:  # writing twice replaces, never duplicates
            store.write(r)
        df = store.frame()
    assert len(df) == 3 and df["key"].is_unique
    row = df.set_index("key").loc[results[0].key]
    assert row["loss"] == results[0].metrics["loss"] and row["metrics"] == dict(results[0].metrics)
    assert row["status"] == "ok" and row["seed"] == results[0].seed


def test_read_only_missing_and_unwritable(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "none.duckdb", read_only=True).open()
    locked = tmp_path / "ro"
    locked.mkdir()
    os.chmod(locked, 0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions; use a path under a regular file instead
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "r.duckdb"
    else:
        target = locked / "r.duckdb"
    with pytest.raises(StoreError, match="cannot open store"):
        Store(target).open()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export(tmp_path, fmt):
    with Store(tmp_path / "r.duckdb") as store:
        for t in expand(study(), "quick")[:4]:
            store.write(run_trial(t))
        df = store.frame()
    path = export(df, tmp_path / f"out.{fmt}", fmt)
    back = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
    assert len(back) == 4 and set(back["key"]) == set(df["key"])
    assert back["loss"].tolist() == pytest.approx(df["loss"].tolist())


def test_a_schema_1_file_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    import duckdb

    from bitterlab.engine.store import _ADDED, _COLUMNS

    path = tmp_path / "old.duckdb"
    old_columns = _COLUMNS.split(",\n    x2 DOUBLE")[0]
    assert "tuned" not in old_columns and "finished_at" in old_columns
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE results ({old_columns})")
    con.execute("CREATE TABLE meta (name VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    r = run_trial(expand(study(), "quick")[0])
    cols = [f for f in FIELDS if f not in dict(_ADDED)]
    row = [getattr(r, f) for f in cols]
    row[cols.index("metrics")], row[cols.index("versions")] = "{}", "{}"
    con.execute(f"INSERT INTO results ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", row)
    con.close()
    with Store(path, read_only=True) as store:  # read-only: no migration, x2 reads as NaN, untuned
        old = store.frame()
        assert old["x2"].isna().all() and old["tuned"].tolist() == [{}] and old["converged"].tolist() == [None]
        assert old["curve"].tolist() == [None] and old["validation"].tolist() == [{}]
    with Store(path) as store:
        assert store.con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == ("4",)
        from toy import study_2axis
        t = next(t for t in expand(study_2axis(), "quick") if t.x2 == 64.0)
        store.write(run_trial(t))
        df = store.frame().set_index("key")
    assert len(df) == 2 and pd.isna(df.loc[r.key, "x2"]) and df.loc[t.key, "x2"] == 64.0


def test_protocol_fields_round_trip(tmp_path):
    """tuned point, validation metrics, converged and the curve come back as they were written."""
    from bitterlab.engine.run import to_result
    from bitterlab.study import Curve, TrialOutput

    t = expand(study(), "quick")[0]
    t = type(t)(**{**t.__dict__, "tuned": {"lr": 0.01}, "config": {**t.config, "lr": 0.01}})
    curve = Curve(steps=(0, 10), train=(1.0, 0.5), validation=(1.1, 0.6))
    out = TrialOutput(metrics={"loss": 0.5, "other": 1.0}, validation={"loss": 0.6}, params=3, flops=1.0, steps=10,
                      converged=False, curve=curve)
    r = to_result(t, out, 0.1)
    assert r.status == "ok"
    with Store(tmp_path / "r.duckdb") as store:
        store.write(r)
        row = store.frame().iloc[0]
    assert row["tuned"] == {"lr": 0.01} and row["validation"] == {"loss": 0.6} and row["converged"] is False
    assert row["curve"] == {"steps": [0, 10], "train": [1.0, 0.5], "validation": [1.1, 0.6]}
