import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from bitterlab.cli import app
from bitterlab.engine import Result, Store
from bitterlab.studies.seasonal import STUDY
from bitterlab.study import expand

runner = CliRunner()
VERBS = ["list", "run", "verdict", "report", "export", "demo", "fit", "distance", "regimes", "geodesic"]


def test_run_help_names_every_executor_and_batching():
    out = runner.invoke(app, ["run", "--help"]).output
    assert "inline, process or ray" in out and "--no-batch" in out and "--address" in out


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_an_example(verb):
    res = runner.invoke(app, [verb, "--help"])
    assert res.exit_code == 0 and "Example: bitterlab" in res.output


def test_list_names_the_seasonal_study():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0 and res.output.startswith("seasonal")


@pytest.fixture
def store(tmp_path):
    """A store with made-up seasonal results: structured better by 0.5 at every scale; validation best at
    the middle learning rate (3e-3) of each contender's grid; seed 2 of the generic fails at the largest
    scale at every learning rate (one failure among the compared trials, two among the others)."""
    import math

    path = tmp_path / "r.duckdb"
    with Store(path) as st:
        for t in expand(STUDY, "quick"):
            loss = 2.0 * t.x ** -0.2 + (0.5 if t.role == "generic" else 0.0) + 0.01 * t.seed
            val = loss + abs(math.log(t.tuned["lr"] / 3e-3))
            failed = t.role == "generic" and t.seed == 2 and t.x == max(STUDY.budgets["quick"].grid[t.task])
            st.write(Result(key=t.key, study=t.study, version=t.version, task=t.task, contender=t.contender,
                            role=t.role, x=t.x, x2=t.x2, seed=t.seed, budget=t.budget, tuned=dict(t.tuned),
                            status="failed" if failed else "ok", reason="diverged: loss is nan" if failed else "",
                            metrics={"forecast_rmse": loss, "in_window_rmse": loss / 2},
                            validation={"forecast_rmse": val, "in_window_rmse": val / 2}))
    return path


def test_verdict_json_has_the_contract_keys(store):
    res = runner.invoke(app, ["verdict", "seasonal", "--json", "--store", str(store)])
    assert res.exit_code == 0, res.output
    verdicts = json.loads(res.stdout)
    assert [v["task"] for v in verdicts] == ["synthetic", "elecdemand"]
    for v in verdicts:
        assert {"study", "task", "axis", "metric", "contenders", "per_scale", "winner_at_largest", "fits",
                "exchange_rate", "crossover", "failed_trials"} <= set(v)
        assert v["failed_trials"] == 1 and v["failed_tuning_trials"] == 2 and v["winner_at_largest"] == "fourier-mlp"
        assert v["tuned"] and all(p["values"] == {"lr": 3e-3} for c, pts in v["selected"].items() for p in pts
                                  if c != "time-only-mlp")  # the reference is untuned at quick
        assert all(p["values"] == {"lr": 1e-2} for p in v["selected"]["time-only-mlp"])
        assert len(v["per_scale"]) == 6
        for s in v["per_scale"]:
            assert {"x", "winner", "difference", "low", "high"} <= set(s)
            assert s["difference"] == pytest.approx(0.5)
        assert v["per_scale"][-1]["n_seeds"] == STUDY.budgets["quick"].seeds - 1  # the failed seed is counted


def test_verdict_words(store):
    res = runner.invoke(app, ["verdict", "seasonal", "--store", str(store)])
    assert res.exit_code == 0
    assert "fourier-mlp beats relu-mlp" in res.output and "1 trial(s) failed" in res.output


def test_report_and_export(store, tmp_path):
    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", "--store", str(store), "--out", str(out), "--no-geometry"])
    assert res.exit_code == 0, res.output
    for name in ["index.html", "index.md", "seasonal.html", "seasonal.png", "seasonal.json"]:
        assert (out / name).stat().st_size > 0
    assert 'href="seasonal.html"' in (out / "index.html").read_text()
    for fmt in ["csv", "parquet"]:
        res = runner.invoke(app, ["export", str(tmp_path / f"r.{fmt}"), "--store", str(store)])
        assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "r.csv")) == len(expand(STUDY, "quick"))


@pytest.mark.parametrize("args, message", [
    (["run", "nope"], "unknown study 'nope'"),
    (["run"], "name at least one study"),
    (["run", "seasonal", "--budget", "huge"], "no budget 'huge'"),
    (["run", "seasonal", "--executor", "slurm"], "unknown executor 'slurm'"),
    (["run", "seasonal", "--jobs", "0"], "--jobs must be at least 1"),
    (["run", "seasonal", "--address", "head:6379"], "--address is for --executor ray"),
    (["verdict", "seasonal", "--store", "/nonexistent/r.duckdb"], "does not exist"),
    (["export", "x.xlsx"], "--format must be parquet or csv"),
])
def test_bad_input_is_a_one_line_error_with_exit_2(args, message):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_bad_option_exits_2():
    assert runner.invoke(app, ["run", "seasonal", "--frobnicate"]).exit_code == 2


def test_unwritable_store_leaves_it_intact(store, tmp_path):
    (tmp_path / "file").write_text("x")
    res = runner.invoke(app, ["run", "seasonal", "--store", str(tmp_path / "file" / "r.duckdb")])
    assert res.exit_code == 2 and "cannot open store" in res.stderr
    res = runner.invoke(app, ["run", "seasonal", "--store", str(store), "--device", "cuda"])
    if res.exit_code == 2:  # no GPU here: refused before touching the store
        assert "no CUDA device" in res.stderr
    with Store(store, read_only=True) as st:
        assert len(st.frame()) == len(expand(STUDY, "quick"))


@pytest.mark.slow
def test_run_then_rerun_skips_everything(tmp_path):
    path = str(tmp_path / "r.duckdb")
    args = ["run", "seasonal", "--seeds", "1", "--executor", "inline", "--store", path]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    n = len(expand(STUDY, "quick", seeds=1))
    assert f"seasonal: {n} run, 0 already in the store" in res.stderr
    res = runner.invoke(app, args)
    assert f"seasonal: 0 run, {n} already in the store" in res.stderr
