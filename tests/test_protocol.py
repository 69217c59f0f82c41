"""The fair-duel protocol: tuning grids as trials, strict options, the metric contract, selection by
validation, the shared trainer's early stopping and batching, and a duel the protocol must settle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from bitterlab.analysis.selection import protocol_warnings, select
from bitterlab.analysis.verdict import verdict
from bitterlab.engine import InlineExecutor, Store, run_study, run_trial
from bitterlab.engine.run import to_result
from bitterlab.study import Axis, Budget, ConfigError, Contender, Study, Task, TrialOutput, expand, merge_options
from bitterlab.train.trainer import Member, TrainConfig, fit
from protocol_toy import FACTOR, GRID
from protocol_toy import study as protocol_study
from toy import run as toy_run
from toy import study as toy_study


def tuned_toy(**budget) -> Study:
    base = toy_study()
    g, s = base.contenders
    return Study(**{**base.__dict__, "contenders": (
        Contender(name="g", role="generic", tune={"lr": (0.1, 0.2, 0.4)}), s),
        "budgets": {"quick": Budget(grid={"a": (10.0, 100.0, 1000.0)}, seeds=2, **budget)}})


def test_every_grid_point_is_a_trial_with_its_own_key():
    trials = expand(tuned_toy(), "quick")
    g = [t for t in trials if t.contender == "g"]
    assert len(g) == 3 * 3 * 2 and len({t.key for t in trials}) == len(trials)
    assert {t.config["lr"] for t in g} == {0.1, 0.2, 0.4} and all(t.tuned == {"lr": t.config["lr"]} for t in g)
    assert all(t.tuned == {} for t in trials if t.contender == "s")


def test_a_budget_replaces_a_contenders_grid():
    trials = expand(tuned_toy(tune={"g": {"lr": (1.0, 2.0)}}), "quick")
    assert {t.config["lr"] for t in trials if t.contender == "g"} == {1.0, 2.0}


def test_a_key_set_twice_raises_naming_both_layers():
    with pytest.raises(ConfigError, match=r"'lr' is set twice: 0.1 by the contender options and 0.2 by the budget"):
        merge_options(("contender", {"lr": 0.1}), ("budget", {"lr": 0.2}))
    assert merge_options(("task", {"a": 1}), ("budget", {"a": 1})) == {"a": 1}  # same value: fine
    base = toy_study()
    clash = Study(**{**base.__dict__, "contenders": (
        Contender(name="g", role="generic", options={"steps": 5}), base.contenders[1]),
        "budgets": {"quick": Budget(grid={"a": (10.0, 100.0)}, options={"steps": 9})}})
    with pytest.raises(ConfigError, match="'steps' is set twice"):
        expand(clash, "quick")
    with pytest.raises(ConfigError, match=r"tunes \['lr'\]"):
        expand(tuned_toy(options={"lr": 0.3}), "quick")


@pytest.mark.parametrize("bad, name", [(len, "builtin_function_or_method"), (np.zeros(2), "ndarray"),
                                       (object(), "object")])
def test_a_non_json_option_raises_naming_it(bad, name):
    with pytest.raises(ConfigError, match=f"option 'thing' is a {name}"):
        expand(toy_study(thing=bad), "quick")
    with pytest.raises(ConfigError, match=r"option 'nested.f\[1\]' is a function"):
        expand(toy_study(nested={"f": [1, lambda: 0]}), "quick")


def test_undeclared_or_missing_metrics_fail_the_trial():
    trial = expand(toy_study(), "quick")[0]
    for metrics, validation, reason in [
        ({"loss": 1.0}, {}, "missing declared metric(s) other"),
        ({"loss": 1.0, "other": 1.0, "extra": 2.0}, {}, "undeclared metric(s) extra"),
        ({"loss": 1.0, "other": 1.0}, {"bogus": 1.0}, "undeclared validation metric(s) bogus"),
    ]:
        r = to_result(trial, TrialOutput(metrics=metrics, validation=validation, params=1, flops=1, steps=1), 0.0)
        assert r.status == "failed" and reason in r.reason
    tuned = next(t for t in expand(tuned_toy(), "quick") if t.tuned)
    r = to_result(tuned, TrialOutput(metrics={"loss": 1.0, "other": 1.0}, params=1, flops=1, steps=1), 0.0)
    assert r.status == "failed" and "no validation value of the main metric 'loss'" in r.reason


def _rows(points: dict) -> pd.DataFrame:
    """Result rows: {(contender, x, lr): [(test, validation) per seed]} -> a results table."""
    rows = []
    for (contender, x, lr), values in points.items():
        for seed, (test, val) in enumerate(values):
            rows.append(dict(task="a", contender=contender, role="generic" if contender == "g" else "structured",
                             x=x, x2=float("nan"), seed=seed, status="ok" if math.isfinite(test) else "failed",
                             tuned={"lr": lr}, validation={"loss": val}, loss=test,
                             converged=None if lr is None else lr < 0.3))
    return pd.DataFrame(rows)


def test_selection_picks_the_validation_best_and_reports_its_test_metric():
    # at x=10 lr 0.2 has the best validation (its test is worse than lr 0.1's: the test never chooses)
    rows = _rows({("g", 10.0, 0.1): [(1.0, 0.9), (1.2, 0.8)], ("g", 10.0, 0.2): [(1.5, 0.5), (1.7, 0.6)],
                  ("g", 10.0, 0.4): [(0.1, 3.0), (0.1, 2.0)],
                  # at x=100 lr 0.4 is best on validation but one seed failed: not eligible
                  ("g", 100.0, 0.1): [(0.6, 0.7), (0.6, 0.7)], ("g", 100.0, 0.2): [(0.5, 0.5), (0.5, 0.6)],
                  ("g", 100.0, 0.4): [(0.2, 0.1), (float("nan"), 0.1)]})
    sel = select(rows, "loss")
    assert sel.tuned
    chosen = {p.x: p.values["lr"] for p in sel.selected["g"]}
    assert chosen == {10.0: 0.2, 100.0: 0.2}
    assert sel.rows.groupby("x")["loss"].mean().to_dict() == pytest.approx({10.0: 1.6, 100.0: 0.5})
    assert sel.sweep_failed == 1  # the failed seed of lr 0.4, not selected
    assert all(not p.at_edge for p in sel.selected["g"])  # 0.2 is inside (0.1, 0.4)


def test_edge_of_grid_and_unconverged_warnings():
    rows = _rows({("g", 10.0, 0.1): [(1.0, 0.9), (1.0, 0.9)], ("g", 10.0, 0.2): [(1.0, 1.0), (1.0, 1.0)],
                  ("g", 10.0, 0.4): [(1.0, 0.1), (1.0, 0.2)]})
    sel = select(rows, "loss")
    (p,) = sel.selected["g"]
    assert p.values == {"lr": 0.4} and p.at_edge and p.edge_options == ("lr",)
    assert sel.unconverged == {"g": 1.0}  # the toy marks lr >= 0.3 unconverged
    text = " ".join(protocol_warnings(sel))
    assert "edge of its tuning grid" in text and "lr=0.4" in text and "100% of the selected trials" in text
    two = _rows({("g", 10.0, 0.1): [(1.0, 0.9)], ("g", 10.0, 0.2): [(1.0, 0.1)]})
    assert not select(two, "loss").selected["g"][0].at_edge  # a grid of two values has no inside


def test_untuned_rows_pass_through():
    rows = _rows({("g", 10.0, None): [(1.0, 0.9)], ("s", 10.0, None): [(2.0, 0.9)]}).assign(tuned=[{}, {}])
    sel = select(rows, "loss")
    assert not sel.tuned and len(sel.rows) == 2 and sel.selected["g"][0].values == {}


def test_verdict_of_an_untuned_study_says_so(tmp_path):
    with Store(tmp_path / "r.duckdb") as store:
        run_study(expand(toy_study(), "quick"), store, InlineExecutor())
        df = store.frame()
    (v,) = verdict(toy_study(), df)
    assert v.tuned is False and "No hyperparameter was tuned" in v.words
    assert v.unconverged == {"g": None, "s": None} and v.axis_kind == "data"


def _run_verdict(study, tmp_path):
    with Store(tmp_path / f"{study.contenders[0].tune != {}}.duckdb") as store:
        run_study(expand(study, "quick"), store, InlineExecutor())
        df = store.frame()
    (v,) = verdict(study, df)
    return v


def test_the_protocol_decides_a_duel_of_two_identical_models(tmp_path):
    """One shared learning rate: the scaled model wins decisively. Tuned: a tie at every scale, and
    the scaled contender's selected rate is 64x smaller."""
    shared = _run_verdict(protocol_study(tuned=False), tmp_path)
    assert sum(s.decisive for s in shared.per_scale) >= 4
    assert all(s.winner == "scaled" for s in shared.per_scale if s.decisive)
    tuned = _run_verdict(protocol_study(tuned=True), tmp_path)
    assert tuned.tuned and not any(s.decisive for s in tuned.per_scale)
    assert {s.winner for s in tuned.per_scale} == {"tie"}  # the same trajectories, bit for bit
    assert "plain and scaled tie on mse" in tuned.words
    for p_plain, p_scaled in zip(tuned.selected["plain"], tuned.selected["scaled"]):
        assert p_plain.values["lr"] == pytest.approx(p_scaled.values["lr"] * FACTOR**2)
    assert {p.values["lr"] for p in tuned.selected["plain"]} <= set(GRID)


def test_a_further_verdict_compares_the_same_selected_points_on_its_metric(tmp_path):
    """``Study(verdicts=("mae",))``: a second verdict on the test MAE of the grid points that the
    validation MSE selected (not the points the validation MAE would select)."""
    study = protocol_study(tuned=True, verdicts=("mae",))
    with Store(tmp_path / "also.duckdb") as store:
        run_study(expand(study, "quick"), store, InlineExecutor())
        df = store.frame()
    (v,) = verdict(study, df)
    (also,) = v.also
    assert v.metric == "mse" and also.metric == "mae" and also.selected_by == "mse"
    assert also.selected == v.selected and also.words.startswith("On mae: ")
    chosen = select(df, "mse").rows
    for s in also.per_scale:
        at = chosen[(chosen["x"] == s.x) & (chosen["status"] == "ok")]
        means = at.groupby("contender")["mae"].mean()
        assert s.difference == pytest.approx(means["plain"] - means["scaled"])
    with pytest.raises(ValueError, match="verdicts must be"):
        protocol_study(tuned=True, verdicts=("rmse",))
    with pytest.raises(ValueError, match="verdicts must be"):
        protocol_study(tuned=True, verdicts=("mse",))


# --- the shared trainer ---------------------------------------------------------------------------

def _quadratic_members(seeds, lrs, **cfg):
    """y = 3x + noise; validation on fresh draws: the optimum is the least-squares line."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(64, 1))
        xv = rng.normal(size=(32, 1))
        y, yv = 3 * x + 0.1 * rng.normal(size=x.shape), 3 * xv + 0.1 * rng.normal(size=xv.shape)
        t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
        for lr in lrs:
            out.append(Member(seed=seed, train=(t(x), t(y)), val=(t(xv), t(yv)),
                              cfg=TrainConfig(lr=lr, dtype="float64", **cfg)))
    return out


def _mse(forward, batch):
    x, y = batch
    return ((forward(x) - y) ** 2).mean(-1)


def test_early_stopping_stops_and_restores_the_best_weights():
    """A linear model reaches the least-squares optimum and stops long before its maximum; the
    restored weights are those of the best validation check, which equals the reported best_val."""
    (m,) = _quadratic_members([0], [0.1], max_steps=20000, eval_every=10, patience=5, tol=1e-4)
    (r,) = fit(lambda: torch.nn.Linear(1, 1), _mse, [m])
    assert r.converged and r.steps < 20000
    assert r.model.weight.item() == pytest.approx(3.0, abs=0.05)
    x, y = m.val
    with torch.no_grad():
        assert float(((r.model(x) - y) ** 2).mean()) == pytest.approx(r.best_val, rel=1e-12)
    assert min(r.curve.validation) == pytest.approx(r.best_val, rel=1e-12)
    assert len(r.curve.steps) <= 50 and r.curve.steps == tuple(sorted(r.curve.steps))


def test_a_maximum_hit_while_improving_is_unconverged():
    (m,) = _quadratic_members([0], [1e-2], max_steps=50, eval_every=10, patience=3)
    (r,) = fit(lambda: torch.nn.Linear(1, 1), _mse, [m])
    assert r.steps == 50 and r.converged is False


def test_batched_grid_times_seeds_equals_one_by_one():
    members = _quadratic_members([0, 1, 2], [0.01, 0.03, 0.1], max_steps=300, batch_size=16, eval_every=10,
                                 patience=4)
    build = lambda: torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))  # noqa: E731
    together = fit(build, _mse, members)
    alone = [fit(build, _mse, [m])[0] for m in members]
    assert len({r.steps for r in together}) > 1  # members stopped at different steps
    for a, b in zip(together, alone):
        assert a.steps == b.steps and a.converged == b.converged
        assert a.best_val == pytest.approx(b.best_val, rel=1e-9)
        for pa, pb in zip(a.model.parameters(), b.model.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-9, atol=1e-12)


def test_a_diverging_member_does_not_take_the_others_down():
    from bitterlab.train.trainer import Diverged

    members = _quadratic_members([0], [0.01, 1e150], max_steps=100, eval_every=10)
    ok, bad = fit(lambda: torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)),
                  _mse, members)
    assert isinstance(bad, Diverged) and not isinstance(ok, Diverged) and math.isfinite(ok.best_val)
