import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime, rosen

from bitterlab.studies.search import NotReached, objective, rosenbrock, run_adam, run_es


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
