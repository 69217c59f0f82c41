import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime, rosen

from bitterlab.engine import run_trial
from bitterlab.studies.search import (GRADIENT_COST, STUDY, NotReached, eval_flops, objective, rosenbrock, run,
                                      run_adam, run_es)
from bitterlab.study import expand


def test_rosenbrock_matches_scipy():
    x = np.random.default_rng(0).normal(size=7)
    assert float(rosenbrock(torch.as_tensor(x))) == pytest.approx(rosen(x), rel=1e-12)


@pytest.mark.parametrize("task", ["regression", "rosenbrock"])
def test_gradients_match_finite_differences(task):
    obj = objective(task, 12, seed=3)
    x = np.random.default_rng(1).normal(scale=0.5, size=12)
    xt = torch.as_tensor(x).requires_grad_(True)
    obj.f(xt).backward()
    fd = approx_fprime(x, lambda v: float(obj.f(torch.as_tensor(v))), 1e-7)
    np.testing.assert_allclose(xt.grad.numpy(), fd, rtol=1e-4, atol=1e-4)


def test_regression_optimum_and_target():
    obj = objective("regression", 20, seed=0)
    assert obj.f_star < obj.target < float(obj.f(torch.zeros(20, dtype=torch.float64)))
    assert obj.gap(obj.f_star) == 0.0 and obj.gap(float(obj.f(torch.zeros(20, dtype=torch.float64)))) == 1.0


@pytest.mark.parametrize("task", ["regression", "rosenbrock"])
def test_adam_reaches_the_target_on_a_tiny_dimension(task):
    obj = objective(task, 5, seed=0)
    steps, gap = run_adam(obj, lr=0.05, cap=5000, budget_steps=10)
    assert 0 < steps < 5000 and 0 < gap <= 1


def test_the_es_reaches_the_target_on_a_tiny_dimension_and_fails_loudly_when_capped():
    obj = objective("regression", 5, seed=0)
    evals, gap = run_es(obj, seed=0, cap=20000, budget=100, sigma0=0.3)
    assert evals < 20000 and 0 < gap <= 1
    again = run_es(obj, seed=0, cap=20000, budget=100, sigma0=0.3)
    assert again == (evals, gap)  # seeded
    with pytest.raises(NotReached, match="within 20 evaluations"):
        run_es(obj, seed=0, cap=20, budget=10, sigma0=0.3)


def _trial(task, contender, d=10.0):
    return next(t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.contender == contender and t.x == d)


@pytest.mark.parametrize("contender", ["adam", "sep-cma-es"])
def test_cost_is_the_analytic_count_not_a_timing(contender):
    t = _trial("regression", contender)
    first, second = run(t), run(t)
    assert first.metrics == second.metrics and first.validation == second.validation  # no clock inside
    evals = first.metrics["evals"]
    expected = GRADIENT_COST * evals + 1 if contender == "adam" else evals  # value+gradient per step, last check
    assert first.metrics["cost"] == expected
    assert first.flops == expected * eval_flops("regression", 10) == expected * (4 * 10 * 10 + 6 * 10)
    assert set(STUDY.metrics) == {"cost", "evals", "gap_at_budget"}  # no wall-clock-derived metric


def test_validation_is_another_instance_of_the_same_problem():
    test, val = objective("regression", 12, 0), objective("regression", 12, 0, validation=True)
    x = torch.ones(12, dtype=torch.float64)
    assert float(test.f(x)) != float(val.f(x)) and val.target > val.f_star
    r = objective("rosenbrock", 12, 0, validation=True)
    assert np.abs(r.x0).max() > 0 and r.target == pytest.approx(0.5 * float(rosenbrock(torch.as_tensor(r.x0))))
    np.testing.assert_array_equal(objective("rosenbrock", 12, 0).x0, np.zeros(12))
    out = run_trial(_trial("regression", "sep-cma-es"))
    assert out.status == "ok", out.reason
    assert set(out.validation) == set(out.metrics) == set(STUDY.metrics)
    assert all(np.isfinite(v) for v in (*out.metrics.values(), *out.validation.values()))
    assert out.validation != out.metrics


def test_each_contender_tunes_its_step_size_and_nothing_else_sets_it():
    assert STUDY.axis.kind == "width" and STUDY.tuned
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.x == 10.0 and t.task == "rosenbrock"]
    tuned = {c: sorted({tuple(t.tuned.items()) for t in trials if t.contender == c}) for c in ("adam", "sep-cma-es")}
    assert [k for ((k, _),) in tuned["adam"]] == ["lr"] * 4 and [k for ((k, _),) in tuned["sep-cma-es"]] == ["sigma0"] * 5
    assert all("lr" not in t.config for t in trials if t.contender == "sep-cma-es")
