"""Checks every study under the fair-duel protocol should pass, shared by the studies' tests."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bitterlab.analysis.verdict import verdict
from bitterlab.engine import InlineExecutor, Store, run_group, run_study, run_trial
from bitterlab.study import Study, Trial, expand


def tiny(study: Study, options: dict, *, grid: dict | None = None, seeds: int | None = None,
         secondary: dict | None = None) -> Study:
    """``study`` with only a quick budget, of the given options (and optionally axis grid, seeds and
    secondary sweep); a grid that names fewer tasks keeps only those tasks."""
    quick = study.budgets["quick"]
    changes = {"options": options, "secondary": quick.secondary if secondary is None else secondary}
    if grid is not None:
        changes["grid"] = grid
    if seeds is not None:
        changes["seeds"] = seeds
    budget = dataclasses.replace(quick, **changes)
    budget = dataclasses.replace(budget, secondary={k: v for k, v in budget.secondary.items() if k in budget.grid})
    tasks = tuple(t for t in study.tasks if t.name in budget.grid)
    return dataclasses.replace(study, tasks=tasks, budgets={"quick": budget})


def assert_protocol_result(result, study: Study) -> None:
    """An ok result with every declared metric on test and on validation (finite), a convergence
    flag, a loss curve, and analytic FLOPs."""
    assert result.status == "ok", result.reason
    assert set(result.metrics) == set(study.metrics)
    assert set(result.validation) == set(study.metrics)
    assert all(math.isfinite(v) for v in [*result.metrics.values(), *result.validation.values()])
    assert result.converged is not None and result.curve is not None and len(result.curve.steps) > 0
    assert result.params > 0 and result.steps > 0 and result.flops > 0


def assert_batched_equals_one_by_one(trials: list[Trial], rel: float = 1e-8) -> None:
    """The trials of one batch group (seeds × tuned points), trained together, give the numbers each
    gives alone (float64 options: equal up to summation order)."""
    assert len({t.seed for t in trials}) > 1 and len({str(t.tuned) for t in trials}) > 1
    one, many = [run_trial(t) for t in trials], run_group(trials)
    assert [r.key for r in one] == [r.key for r in many]
    for a, b in zip(one, many, strict=True):
        assert a.status == b.status == "ok", (a.reason, b.reason)
        assert (a.params, a.flops, a.steps, a.converged) == (b.params, b.flops, b.steps, b.converged)
        for k in a.metrics:
            assert b.metrics[k] == pytest.approx(a.metrics[k], rel=rel)
            assert b.validation[k] == pytest.approx(a.validation[k], rel=rel)


def assert_tuned_verdict(study: Study, tmp_path, budget: str = "quick") -> list:
    """Run ``study`` at ``budget`` (batched, inline) and check that its verdicts say it was tuned and
    name, per contender and axis value, a selected learning rate from the contender's grid."""
    trials = expand(study, budget)
    with Store(tmp_path / "tuned.duckdb") as store:
        summary = run_study(trials, store, InlineExecutor(batch=True))
        assert summary.failed == 0
        verdicts = verdict(study, store.frame(), budget=budget)
    for v in verdicts:
        assert v.tuned is True
        for contender, points in v.selected.items():
            grid = study.tune_grid(contender, budget)["lr"]
            assert points and all(p.values["lr"] in grid for p in points)
            assert all(p.n_points == len(grid) for p in points)
    return verdicts
