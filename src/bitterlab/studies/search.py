"""search — "genetic algorithms are *the* generalist, scalable method".

The same differentiable objective of growing dimension d, minimised two ways:

evolution strategy (generic)
    separable CMA-ES from the maintained ``cma`` package (Hansen; sep-CMA of Ros & Hansen 2008,
    ``CMA_diagonal``): a population-based, derivative-free search whose per-sample cost is O(d) — the
    scalable member of the evolutionary family. It uses only objective values.
Adam (structured)
    gradient descent with Adam (Kingma & Ba 2015) on the gradient from reverse-mode autodiff: it uses
    the derivative, the structure the objective offers.

Cost is counted analytically, in objective-evaluation equivalents, never from wall-clock time: one
per evaluation for the ES; for Adam, each step (value and gradient by one reverse-mode sweep) counts
``GRADIENT_COST`` = 4 evaluations and the final check of the value one more. That is the cheap
gradient principle (Griewank & Walther 2008, *Evaluating Derivatives*, 2nd ed., ch. 4): reverse mode
gives the value and the whole gradient for at most a small constant multiple of the operations of
the value alone, independent of d — at most 4 in their operation-count model ("often within a
factor of 5", Kakade & Lee 2018). For these two objectives the true multiple is nearer 2–3 (the
gradient of a least-squares loss is one more matrix–vector product), so 4 is conservative toward
Adam. ``flops`` is the cost times the FLOPs of one evaluation (:func:`eval_flops`). The same trial
gives the same cost on any machine, under any load.

Tasks
-----
regression
    fitting a linear model with d parameters to 2d noisy observations, f(w) = mean((Xw − y)²), X
    Gaussian, y = Xw* + 0.1ε (a seed draws X, w*, ε); target: f − f* ≤ 1 % of f(0) − f*.
rosenbrock
    f(x) = Σᵢ 100(x_{i+1} − x_i²)² + (1 − x_i)² (Rosenbrock 1960) from x = 0 (f = d − 1), f* = 0;
    target: f ≤ half of f(0). The start is fixed: a seed draws the ES's samples, and Adam's runs are
    the same for every seed. A non-separable curved valley: the separable ES must follow it with
    axis-aligned steps.

Metrics: ``cost`` to reach the target (main; a trial that does not reach it within its cap fails,
and is counted); ``evals`` (ES evaluations or Adam steps); ``gap_at_budget``: the relative gap
(f − f*)/(f(0) − f*) after 20·d evaluation equivalents. The verdict reads the growth of cost with d
(its log–log slope) for each.

Protocol: each contender tunes its one step-size option over a declared grid (Adam's learning rate
``lr``, the ES's initial step size ``sigma0``), each value its own trial. There is no held-out data
in optimisation, so *validation* is a second, independent random instance of the same problem at
the same d, solved by the same method with the same options: regression on another draw of (X, w*,
ε); Rosenbrock from another start, x₀ ~ N(0, 0.02² I), to half of its f(x₀); the ES with other
random samples. Every metric is reported on it, and the verdict selects each contender's step size
by the mean validation cost over seeds, so the test instance never chooses. A trial fails (its
grid point is then not selected) if either instance misses the target within the cap. The axis is
the dimension, the model's size: ``kind="width"``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid


class NotReached(RuntimeError):
    """The target was not reached within the trial's cap."""


GRADIENT_COST = 4.0  # evaluations per value-and-gradient (reverse mode; Griewank & Walther 2008, ch. 4)
VALIDATION_SEED = 1_000_003  # the validation instance's ES samples come from seed + this


@dataclass(frozen=True)
class Objective:
    f: Callable[[torch.Tensor], torch.Tensor]  # (..., d) -> (...), differentiable
    x0: np.ndarray
    f_star: float
    target: float  # stop when f ≤ target
    device: str = "cpu"  # where f's tensors live; points are sent there

    def at(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), device=self.device)

    def gap(self, value: float) -> float:
        return (value - self.f_star) / (float(self.f(self.at(self.x0))) - self.f_star)


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(-1)


def objective(task: str, d: int, seed: int, *, validation: bool = False, device: str = "cpu") -> Objective:
    """The test instance of ``task`` at dimension ``d`` for ``seed``, or its validation instance (another
    random draw of the regression data; another start for Rosenbrock)."""
    stream = [seed, d, 1960, 1] if validation else [seed, d, 1960]
    if task == "rosenbrock":
        x0 = 0.02 * np.random.default_rng(stream).normal(size=d) if validation else np.zeros(d)
        f0 = float(rosenbrock(torch.as_tensor(x0)))
        return Objective(rosenbrock, x0, 0.0, 0.5 * f0, device)
    if task == "regression":
        rng = np.random.default_rng(stream)
        x = rng.normal(size=(2 * d, d))
        y = x @ rng.normal(size=d) / np.sqrt(d) + 0.1 * rng.normal(size=2 * d)
        w_star = np.linalg.solve(x.T @ x, x.T @ y)  # the normal equations: XᵀX of a 2d × d Gaussian is well conditioned
        xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)

        def f(w: torch.Tensor) -> torch.Tensor:
            return ((w @ xt.T - yt) ** 2).mean(-1)

        f_star, f0 = float(np.mean((x @ w_star - y) ** 2)), float(np.mean(y**2))
        return Objective(f, np.zeros(d), f_star, f_star + 0.01 * (f0 - f_star), device)
    raise ValueError(f"search: unknown task {task!r}")


def eval_flops(task: str, d: int) -> float:
    """FLOPs of one evaluation: regression, the (2d × d) matrix–vector product (2·2d·d) plus the
    residual, its square and the mean (3·2d); Rosenbrock, 8 operations per term of its d − 1."""
    return 4.0 * d * d + 6.0 * d if task == "regression" else 8.0 * (d - 1)


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
            values = obj.f(obj.at(xs)).cpu().numpy()
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
    x = obj.at(obj.x0).clone().requires_grad_(True)
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


def solve(trial: Trial, *, validation: bool) -> dict[str, float]:
    """The metrics of one instance: cost (evaluation equivalents, counted), evaluations or steps, gap."""
    c, d = trial.config, int(trial.x)
    obj = objective(trial.task, d, trial.seed, validation=validation, device=trial.device)
    budget = int(c["budget_per_dim"]) * d
    where = "validation" if validation else "test"
    try:
        if c["method"] == "es":
            seed = trial.seed + VALIDATION_SEED if validation else trial.seed
            evals, gap = run_es(obj, seed, int(c["es_cap_per_dim"]) * d, budget, float(c["sigma0"]))
            cost = float(evals)
        else:
            evals, gap = run_adam(obj, float(c["lr"]), int(c["adam_cap"]), max(1, int(budget / GRADIENT_COST)))
            cost = GRADIENT_COST * evals + 1.0  # value and gradient at each step, the value at the last check
    except NotReached as exc:
        raise NotReached(f"{where} instance: {exc}") from None
    return {"cost": cost, "evals": float(max(evals, 1)), "gap_at_budget": max(gap, 1e-12)}


def run(trial: Trial) -> TrialOutput:
    """Solve the test instance and the validation instance; cost and FLOPs counted, not timed."""
    validation = solve(trial, validation=True)
    metrics = solve(trial, validation=False)
    return TrialOutput(metrics=metrics, validation=validation, params=int(trial.x),
                       flops=metrics["cost"] * eval_flops(trial.task, int(trial.x)), steps=int(metrics["evals"]))


TASKS = ("regression", "rosenbrock")
# the declared grids (version 1 fixed lr 0.05 / 0.01 and sigma0 0.3 / 0.1 on regression / Rosenbrock)
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)  # Adam's learning rate
SIGMA0_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # the ES's initial step size (|x*| shrinks like 1/√d)
QUICK_TUNE = {"adam": {"lr": (0.01, 0.03, 0.1, 0.3)}, "sep-cma-es": {"sigma0": (0.003, 0.01, 0.03, 0.1, 0.3)}}

STUDY = Study(
    name="search",
    claim="Genetic algorithms are the generalist, scalable method.",
    question="As the dimension d grows, how fast does the cost (objective-evaluation equivalents) to reach a "
             "target grow for an evolution strategy and for gradient descent with Adam?",
    version="2",
    run=run,
    tasks=(
        Task(name="regression", description="least-squares fit of a d-parameter linear model to 2d noisy points "
             "(generated); target: 1 % of the initial excess loss"),
        Task(name="rosenbrock", description="Rosenbrock's function in d dimensions from 0; target: half of f(0)"),
    ),
    contenders=(
        Contender(name="sep-cma-es", role="generic", description="separable CMA-ES (pycma), values only",
                  options={"method": "es"}, tune={"sigma0": SIGMA0_GRID}),
        Contender(name="adam", role="structured", description="Adam on the autodiff gradient (a gradient counted "
                  f"as {GRADIENT_COST:g} evaluations)", options={"method": "adam"}, tune={"lr": LR_GRID}),
    ),
    axis=Axis(name="d", label="dimension d", unit="parameters", kind="width"),
    metric="cost",
    metrics=("cost", "evals", "gap_at_budget"),
    budgets={
        # quick: d to 320 and an ES cap of 50·d (regression needs ≤ 25·d at these step sizes; sep-CMA
        # needs ~350·d on Rosenbrock at d = 10 and more beyond, so it is censored there, as in version 1)
        "quick": Budget(grid={t: log_grid(10, 320, 5) for t in TASKS}, seeds=5, tune=QUICK_TUNE,
                        options={"budget_per_dim": 20, "es_cap_per_dim": 50, "adam_cap": 20000}),
        "full": Budget(grid={t: log_grid(10, 10000, 7) for t in TASKS}, seeds=10,
                       options={"budget_per_dim": 20, "es_cap_per_dim": 20000, "adam_cap": 200000}),
    },
    references=("Ros & Hansen 2008, PPSN (separable CMA-ES)", "Hansen, pycma (cma package)",
                "Kingma & Ba 2015 (Adam); Griewank & Walther 2008 (cost of a gradient)"),
)
