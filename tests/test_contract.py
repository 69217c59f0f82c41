"""One contract table over every registered study (optax's ``_OPTIMIZERS_UNDER_TEST``): a new study gets
these checks for free. Each runs the study's first task at its smallest main-axis value (quick budget,
main sweep, the middle point of each tuning grid):

- the tune grid expands: every contender has grid-size × axis values × seeds trials, with distinct keys;
- declared metrics returned and finite, validation metrics declared (the main one where tuned);
- the same seed gives the same numbers;
- the device is honoured: asked for ``cuda`` on a machine without it, a study that computes with torch
  must fail trying to reach the device, not run quietly on the CPU.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch.overrides import TorchFunctionMode

from bitterlab.engine import run_trial
from bitterlab.studies import STUDIES
from bitterlab.study import expand, grid_points


def smallest_point(name: str):
    """Per contender, the trials of seed 0 and 1 at the first task's smallest x (middle grid point)."""
    study = STUDIES[name]
    trials = expand(study, "quick", seeds=2)
    task = study.tasks[0].name
    x = min(study.budgets["quick"].grid[task])
    default = study.secondary_default(task, "quick")
    out = {}
    for c in study.contenders:
        mine = [t for t in trials if t.contender == c.name and t.task == task and t.x == x and t.x2 == default]
        points = grid_points(study.tune_grid(c.name, "quick"))
        middle = points[len(points) // 2]
        out[c.name] = [t for t in mine if dict(t.tuned) == middle]
    return study, out


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_the_tune_grid_expands(name):
    study = STUDIES[name]
    trials = expand(study, "quick")
    assert len({t.key for t in trials}) == len(trials)
    spec = study.budgets["quick"]
    for c in study.contenders:
        points = grid_points(study.tune_grid(c.name, "quick"))
        main = [t for t in trials if t.contender == c.name and t.x2 == study.secondary_default(t.task, "quick")]
        assert len(main) == len(points) * sum(len(g) for g in spec.grid.values()) * spec.seeds
        assert sorted(map(str, {str(sorted(t.tuned.items())) for t in main})) == \
            sorted(map(str, {str(sorted(p.items())) for p in points}))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_metrics_determinism_and_device(name):
    study, by_contender = smallest_point(name)
    for contender, trials in by_contender.items():
        assert len(trials) == 2, contender
        results = [run_trial(t) for t in trials]
        for r in results:
            assert r.status == "ok", f"{contender}: {r.reason}"
            assert set(r.metrics) == set(study.metrics) and all(math.isfinite(v) for v in r.metrics.values())
            assert set(r.validation) <= set(study.metrics) and all(math.isfinite(v) for v in r.validation.values())
            if trials[0].tuned:
                assert study.metric in r.validation
        again = run_trial(trials[0])
        assert again.metrics == results[0].metrics and again.validation == results[0].validation
    trial = next(iter(by_contender.values()))[0]
    calls = _TorchCalls()
    with calls:
        r = run_trial(replace(trial, device="cuda"))
    if calls.n:  # it computed with torch: it must have tried the device it was given
        assert r.status == "failed" and ("cuda" in r.reason.lower() or "nvidia" in r.reason.lower()), r.reason


class _TorchCalls(TorchFunctionMode):
    """Counts torch function calls (a study that never calls torch has no device to honour)."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_the_device_check_can_fail():
    """A trial that ignores its device runs on the CPU under device="cuda": the check above catches it."""
    from bitterlab.study import TrialOutput
    from toy import study as toy_study

    def ignores_device(trial):
        x = torch.ones(3) * 2
        return TrialOutput(metrics={"loss": float(x.sum()), "other": 1.0}, params=0, flops=0, steps=0)

    trial = replace(expand(toy_study(), "quick")[0], run=ignores_device, device="cuda")
    calls = _TorchCalls()
    with calls:
        r = run_trial(trial)
    assert calls.n > 0 and r.status == "ok"  # what the contract test rejects
