"""Issue 20: every bad input and fault is one line naming the culprit, exit code 2, store intact."""

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from bitterlab.cli import app
from bitterlab.engine import Store
from test_cli import store  # noqa: F401  (the fixture: a seasonal store)

runner = CliRunner()


def _one_line_error(args, *needles):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Warning" not in res.output
    return lines[0]


def _damaged(store, tmp_path, how: str):
    path = tmp_path / f"{how}.duckdb"
    shutil.copy(store, path)
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # one flipped bit in the first data block (after DuckDB's three 4 KiB headers)
        data[3 * 4096 + 100] ^= 0x01
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["truncated", "flipped"])
@pytest.mark.parametrize("verb", [["verdict", "seasonal"], ["export", "out.csv"]])
def test_a_damaged_store_is_one_line(store, tmp_path, how, verb):  # noqa: F811
    path = _damaged(store, tmp_path, how)
    before = path.read_bytes()
    _one_line_error([*verb[:1], *[str(tmp_path / a) if a.endswith(".csv") else a for a in verb[1:]],
                     "--store", str(path)], str(path))
    assert path.read_bytes() == before  # read-only: left as it was


def test_export_to_a_folder(store, tmp_path):  # noqa: F811
    _one_line_error(["export", str(tmp_path), "--format", "csv", "--store", str(store)], "is a folder")


def test_report_out_is_a_file(store, tmp_path):  # noqa: F811
    (tmp_path / "file").write_text("x")
    _one_line_error(["report", "--out", str(tmp_path / "file"), "--no-geometry", "--store", str(store)],
                    "is a file")


def _full_disk(*_, **__):
    raise OSError(28, "No space left on device")


def _half_then_full(frame, path, **_):
    with open(path, "w") as f:  # a truncated file, as a disk filling up mid-write leaves
        f.write("key,study\n")
    raise OSError(28, "No space left on device")


def test_export_onto_a_full_disk(store, tmp_path, monkeypatch):  # noqa: F811
    (tmp_path / "r.csv").write_text("an earlier export\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _half_then_full)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _half_then_full)
    for name in ("r.csv", "r.parquet"):
        _one_line_error(["export", str(tmp_path / name), "--store", str(store)], "No space left on device", name)
    assert (tmp_path / "r.csv").read_text() == "an earlier export\n"  # not replaced by a truncated one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.duckdb"]  # no partial file left


def test_report_onto_a_full_disk(store, tmp_path, monkeypatch):  # noqa: F811
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _full_disk)
    _one_line_error(["report", "--out", str(tmp_path / "rep"), "--no-geometry", "--store", str(store)],
                    "cannot write the report", "No space left on device")


def test_verdict_names_a_budget_that_does_not_exist(store):  # noqa: F811
    _one_line_error(["verdict", "seasonal", "--budget", "huge", "--store", str(store)],
                    "'huge'", "no such budget", "quick, full")
    _one_line_error(["report", "--budget", "huge", "--store", str(store)], "no such budget")


def test_a_store_under_a_file_says_so(tmp_path):
    (tmp_path / "file").write_text("x")
    line = _one_line_error(["run", "seasonal", "--store", str(tmp_path / "file" / "r.duckdb")], "is a file")
    assert "File exists" not in line


@pytest.mark.parametrize("args, needles", [
    (["geodesic", "mvn:0,0;1,0,0,1", "mvn:1,1;1,0,0,1"], ["1-D distributions", "MultivariateNormal"]),
    (["geodesic", "normal:0,1", "samples:3,4"], ["no geodesic is defined between Normal and Empirical"]),
    (["geodesic", "normal:0,1", "normal:3,1", "--fps", "0", "--frames", "3"], ["fps must be at least 1"]),
    (["regimes", "--eps", "nan"], ["--eps must be a finite number"]),
    (["distance", "points:0,1@0.5,0.6", "normal:0,1"], ["weights must sum to 1", "divide each by their sum"]),
    (["distance", "categorical:0.5,0.6", "normal:0,1"], ["weights must sum to 1"]),
])
def test_geometry_bad_input_is_one_line(args, needles, tmp_path):
    line = _one_line_error([*args, *(["--out", str(tmp_path / "g.gif")] if args[0] == "geodesic" else [])], *needles)
    assert "normalize=True" not in line
    assert not (tmp_path / "g.gif").exists()


def test_geodesic_between_samples_works(tmp_path):
    out = tmp_path / "g.gif"
    res = runner.invoke(app, ["geodesic", "samples:0,1,2", "samples:3,4", "--frames", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0


@pytest.mark.parametrize("p, q, tv, js", [
    ("normal:1e12,1", "normal:0,1", "1", "0.693147"),
    ("normal:1e4,1", "normal:0,1", "1", "0.693147"),
    ("normal:0,1e-3", "normal:0,1", "0.996833", "0.684566"),
    ("normal:1e200,1", "normal:-1e200,1", "1", "0.693147"),
    ("normal:0,1e-200", "normal:0,1", "1", "0.693147"),
])
def test_extreme_distances_print_exact_values(p, q, tv, js):
    res = runner.invoke(app, ["distance", p, q])
    assert res.exit_code == 0 and res.stderr == "", res.output
    lines = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert (lines["TV"], lines["JS"]) == (tv, js)


def test_the_store_is_intact_after_the_errors(store, tmp_path):  # noqa: F811
    with Store(store, read_only=True) as st:
        n = len(st.frame())
    _one_line_error(["verdict", "seasonal", "--budget", "huge", "--store", str(store)])
    _one_line_error(["export", str(tmp_path), "--format", "csv", "--store", str(store)])
    with Store(store, read_only=True) as st:
        assert len(st.frame()) == n


@pytest.fixture
def toy_cli(monkeypatch):
    """``bitterlab run toy`` on the toy study, whose trials all raise ValueError."""
    import bitterlab.studies
    from toy import study

    toy = study(always_raise="bad data on purpose")
    monkeypatch.setattr(bitterlab.studies, "get_study", lambda name: toy)
    monkeypatch.setattr(bitterlab.studies, "resolve", lambda ref: toy, raising=False)  # where refs resolve
    return toy


def test_failures_are_counted_with_reasons_and_a_rerun_says_it_skipped_them(toy_cli, tmp_path):
    path = str(tmp_path / "r.duckdb")
    args = ["run", "toy", "--executor", "inline", "--store", path]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "toy: 12 run, 0 already in the store, 12 failed (most common: " \
           "'error: ValueError: bad data on purpose' x12)" in res.stderr
    res = runner.invoke(app, args)
    assert "toy: 12 trial(s) stored as failed were skipped, not rerun (rerun them with --retry-failed)" in res.stderr
    res = runner.invoke(app, ["verdict", "toy", "--store", path])
    assert res.exit_code == 0, res.output
    assert "no scale has ok results" in res.stdout
    assert "12 failed trial(s): error: ValueError: bad data on purpose" in res.stdout
    assert "rerun the failed trials with: bitterlab run toy --budget quick --retry-failed" in res.stdout
    res = runner.invoke(app, [*args, "--retry-failed"])
    assert "toy: 12 run, 0 already in the store, 12 failed" in res.stderr and "skipped" not in res.stderr


def test_a_run_that_cannot_checkpoint_fails_in_one_line_and_keeps_its_results(toy_cli, tmp_path, monkeypatch):
    import duckdb

    class FullDisk:  # the connection, except that CHECKPOINT finds the disk full
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            if sql == "CHECKPOINT":
                raise duckdb.IOException("Could not write file: No space left on device")
            return self._con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    real_open = Store.open

    def open_full(self):
        real_open(self)
        self._con = FullDisk(self._con)

    monkeypatch.setattr(Store, "open", open_full)
    path = tmp_path / "r.duckdb"
    res = runner.invoke(app, ["run", "toy", "--executor", "inline", "--store", str(path)])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.strip().splitlines() if line.startswith("error: ")]
    assert errors == [res.stderr.strip().splitlines()[-1]], res.stderr  # one error line, the last one
    assert "cannot checkpoint store" in errors[0] and "No space left on device" in errors[0] and ".wal" in errors[0]
    assert "12 run" not in res.stderr  # no success reported
    monkeypatch.setattr(Store, "open", real_open)
    with Store(path, read_only=True) as st:
        assert len(st.frame()) == 12  # every result written is still there


def test_run_study_checkpoints_before_it_returns(tmp_path):
    from bitterlab.engine import InlineExecutor, run_study
    from bitterlab.study import expand
    from toy import study

    path = tmp_path / "r.duckdb"
    with Store(path) as st:
        summary = run_study(expand(study(), "quick"), st, InlineExecutor())
        wal = path.with_name(path.name + ".wal")
        assert summary.ran == 12 and (not wal.exists() or wal.stat().st_size == 0)  # all in the file itself


@pytest.mark.parametrize("p, q, name", [
    ("normal:1e200,1", "points:0@1", "W2"),  # was an OverflowError traceback
    ("samples:1e200,-1e200", "samples:0", "W2"),  # was RuntimeWarning text and nan
])
def test_a_distance_beyond_double_precision_says_so_without_warnings(p, q, name):
    res = runner.invoke(app, ["distance", p, q])
    assert res.exit_code == 0 and res.stderr == "", res.output
    lines = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert lines[name].startswith("not computable in double precision")
    assert lines["TV"] == "1"


def test_zero_weights_print_no_warning():
    res = runner.invoke(app, ["distance", "categorical:0.5,0.5", "categorical:1,0"])
    assert res.exit_code == 0 and res.stderr == "", res.output
    lines = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert lines["TV"] == "0.5" and lines["Sinkhorn(reg=0.05)"] == "0.5"


def test_a_python_warning_that_escapes_is_one_line(monkeypatch):
    import warnings

    import bitterlab.geometry

    real = bitterlab.geometry.regimes_table

    def noisy(eps):
        warnings.warn("something odd\nat two lines", RuntimeWarning, stacklevel=1)
        return real(eps)

    monkeypatch.setattr(bitterlab.geometry, "regimes_table", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # as outside pytest, where warnings are shown, not raised
        res = runner.invoke(app, ["regimes"])
    assert res.exit_code == 0, res.output
    assert res.stderr == "warning: RuntimeWarning: something odd\n"
