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
        assert names == [*FIELDS, "finished_at"]
        pk = store.con.execute("SELECT constraint_column_names FROM duckdb_constraints() "
                               "WHERE table_name = 'results' AND constraint_type = 'PRIMARY KEY'").fetchall()
        assert pk == [(["key"],)]
        assert store.con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == ("1",)


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
