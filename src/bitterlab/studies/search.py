"""search — "genetic algorithms are *the* generalist, scalable method".

The same differentiable objective of growing dimension d, minimised two ways:

evolution strategy (generic)
    separable CMA-ES from the maintained ``cma`` package (Hansen; sep-CMA of Ros & Hansen 2008,
    ``CMA_diagonal``): a population-based, derivative-free search whose per-sample cost is O(d) — the
    scalable member of the evolutionary family. It uses only objective values.
Adam (structured)
    gradient descent with Adam (Kingma & Ba 2015) on the gradient from reverse-mode autodiff: it uses
    the derivative, the structure the objective offers.

Cost is counted in objective-evaluation equivalents: one per evaluation for the ES; for Adam, each
step counts as the measured time of (value + gradient) over the time of a value alone at that d
(median of 5 timings, stored as ``grad_cost``; Griewank & Walther 2008 bound it by ~4–5).

Tasks
-----
regression
    fitting a linear model with d parameters to 2d noisy observations, f(w) = mean((Xw − y)²), X
    Gaussian, y = Xw* + 0.1ε (a seed draws X, w*, ε); target: f − f* ≤ 1 % of f(0) − f*.
rosenbrock
    f(x) = Σᵢ 100(x_{i+1} − x_i²)² + (1 − x_i)² (Rosenbrock 1960) from x = 0 (f = d − 1), f* = 0;
    target: f ≤ half of f(0). The start is fixed: a seed draws the ES's samples, and Adam's seeds differ
    only through the measured gradient cost. A non-separable curved valley: the separable ES must
    follow it with axis-aligned steps.

Metrics: ``cost`` to reach the target (main; a trial that does not reach it within its cap fails,
and is counted); ``evals`` (ES evaluations or Adam steps); ``gap_at_budget``: the relative gap
(f − f*)/(f(0) − f*) after 20·d evaluation equivalents. The verdict reads the growth of cost with d
(its log–log slope) for each.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid


class NotReached(RuntimeError):
    """The target was not reached within the trial's cap."""


@dataclass(frozen=True)
class Objective:
    f: Callable[[torch.Tensor], torch.Tensor]  # (..., d) -> (...), differentiable
    x0: np.ndarray
    f_star: float
    target: float  # stop when f ≤ target

    def gap(self, value: float) -> float:
        return (value - self.f_star) / (float(self.f(torch.as_tensor(self.x0))) - self.f_star)


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(-1)


def objective(task: str, d: int, seed: int) -> Objective:
    if task == "rosenbrock":
        x0 = np.zeros(d)
        return Objective(rosenbrock, x0, 0.0, 0.5 * (d - 1))
    if task == "regression":
        rng = np.random.default_rng([seed, d, 1960])
        x = rng.normal(size=(2 * d, d))
        y = x @ rng.normal(size=d) / np.sqrt(d) + 0.1 * rng.normal(size=2 * d)
        w_star, *_ = np.linalg.lstsq(x, y, rcond=None)
        xt, yt = torch.as_tensor(x), torch.as_tensor(y)

        def f(w: torch.Tensor) -> torch.Tensor:
            return ((w @ xt.T - yt) ** 2).mean(-1)

        f_star, f0 = float(np.mean((x @ w_star - y) ** 2)), float(np.mean(y**2))
        return Objective(f, np.zeros(d), f_star, f_star + 0.01 * (f0 - f_star))
    raise ValueError(f"search: unknown task {task!r}")


def gradient_cost(obj: Objective, repeats: int = 5) -> float:
    """Measured time of value + gradient over time of a value alone, at x0 (median of ``repeats``)."""
    x = torch.as_tensor(obj.x0).clone().requires_grad_(True)
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            with torch.no_grad():
                obj.f(x)
        value = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(20):
            obj.f(x).backward()
            x.grad = None
        ratios.append((time.perf_counter() - start) / value)
    return float(np.median(ratios))


def run_es(obj: Objective, seed: int, cap: int, budget: int, sigma0: float) -> tuple[int, float]:
    """sep-CMA-ES until the best value ≤ target; (evaluations, gap at ``budget`` evaluations)."""
    import cma

    warnings.filterwarnings("ignore", category=UserWarning, module="cma")  # its numerical notices, per iteration
    es = cma.CMAEvolutionStrategy(obj.x0, sigma0, {"CMA_diagonal": True, "seed": seed + 1, "verbose": -9,
                                                   "tolfun": 0, "tolx": 0, "tolfunhist": 0, "maxfevals": cap})
    evals, best, gap_at_budget = 0, np.inf, None
    while evals < cap:
        xs = es.ask()
        with torch.no_grad():
            values = obj.f(torch.as_tensor(np.asarray(xs))).numpy()
        es.tell(xs, values.tolist())
        evals += len(xs)
        best = min(best, float(values.min()))
        if gap_at_budget is None and evals >= budget:
            gap_at_budget = obj.gap(best)
        if best <= obj.target:
            return evals, obj.gap(best) if gap_at_budget is None else gap_at_budget
    raise NotReached(f"target not reached within {cap} evaluations (best gap {obj.gap(best):.3g})")


def run_adam(obj: Objective, lr: float, cap: int, budget_steps: int) -> tuple[int, float]:
    """Adam from x0 until f ≤ target; (steps, gap after ``budget_steps`` steps)."""
    x = torch.as_tensor(obj.x0).clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    gap_at_budget = None
    for step in range(cap + 1):
        value = obj.f(x)
        v = float(value.detach())
        if not np.isfinite(v):
            raise NotReached(f"Adam diverged at step {step}")
        if gap_at_budget is None and step >= budget_steps:
            gap_at_budget = obj.gap(v)
        if v <= obj.target:
            return step, obj.gap(v) if gap_at_budget is None else gap_at_budget
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    raise NotReached(f"target not reached within {cap} Adam steps (gap {obj.gap(v):.3g})")


def run(trial: Trial) -> TrialOutput:
    c = trial.config
    d = int(trial.x)
    obj = objective(trial.task, d, trial.seed)
    budget = int(c["budget_per_dim"]) * d
    if c["method"] == "es":
        evals, gap = run_es(obj, trial.seed, int(c["es_cap_per_dim"]) * d, budget, float(c["sigma0"]))
        cost, ratio = float(evals), 1.0
    else:
        ratio = gradient_cost(obj)
        evals, gap = run_adam(obj, float(c["lr"]), int(c["adam_cap"]), max(1, int(budget / ratio)))
        cost = max(evals, 1) * ratio
    return TrialOutput(metrics={"cost": cost, "evals": float(max(evals, 1)), "gap_at_budget": max(gap, 1e-12),
                                "grad_cost": ratio},
                       params=d, flops=0.0, steps=evals)


TASKS = ("regression", "rosenbrock")

STUDY = Study(
    name="search",
    claim="Genetic algorithms are the generalist, scalable method.",
    question="As the dimension d grows, how fast does the cost (objective-evaluation equivalents) to reach a "
             "target grow for an evolution strategy and for gradient descent with Adam?",
    version="1",
    run=run,
    tasks=(
        Task(name="regression", description="least-squares fit of a d-parameter linear model to 2d noisy points "
             "(generated); target: 1 % of the initial excess loss", options={"sigma0": 0.3, "lr": 0.05}),
        Task(name="rosenbrock", description="Rosenbrock's function in d dimensions from 0; target: half of f(0)",
             options={"sigma0": 0.1, "lr": 0.01}),
    ),
    contenders=(
        Contender(name="sep-cma-es", role="generic", description="separable CMA-ES (pycma), values only",
                  options={"method": "es"}),
        Contender(name="adam", role="structured", description="Adam on the autodiff gradient",
                  options={"method": "adam"}),
    ),
    axis=Axis(name="d", label="dimension d", unit="parameters", kind="width"),
    metric="cost",
    metrics=("cost", "evals", "gap_at_budget", "grad_cost"),
    budgets={
        "quick": Budget(grid={t: log_grid(10, 1000, 5) for t in TASKS}, seeds=3,
                        options={"budget_per_dim": 20, "es_cap_per_dim": 100, "adam_cap": 20000}),
        "full": Budget(grid={t: log_grid(10, 10000, 7) for t in TASKS}, seeds=10,
                       options={"budget_per_dim": 20, "es_cap_per_dim": 20000, "adam_cap": 200000}),
    },
    references=("Ros & Hansen 2008, PPSN (separable CMA-ES)", "Hansen, pycma (cma package)",
                "Kingma & Ba 2015 (Adam); Griewank & Walther 2008 (cost of a gradient)"),
)
