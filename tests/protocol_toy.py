"""A duel the protocol must settle: two contenders that are the *same* linear model, trained by plain
gradient descent for a fixed number of steps, one on inputs multiplied by 8.

For the model ŷ = w'·(8x) gradient descent with step η' follows exactly the trajectory of ŷ = w·x with
step η = 64η' (w = 8w'; powers of two scale without rounding, so the two are equal bit for bit). With
one shared learning rate one contender is simply under- or over-stepped and loses; tuned on
validation over a grid spaced by 8, each finds its own best rate and the duel is a tie at every scale.
"""

from __future__ import annotations

import numpy as np

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput

FACTOR = 8.0
GRID = tuple(2.0**k for k in (-9, -6, -3, 0, 3))  # spaced by 8: the scaled contender's best is 64x smaller


def run(trial: Trial) -> TrialOutput:
    c = trial.config
    rng = np.random.default_rng([trial.seed, 7])
    d, n = 4, int(trial.x)
    w_true = rng.normal(size=d)

    def draw(m: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(m, d))
        return x, x @ w_true + 0.5 * rng.normal(size=m)

    x, y = draw(n)
    x_test, y_test = draw(2000)
    n_val = n // 4
    x_fit, y_fit, x_val, y_val = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    scale = float(c["scale"])
    w = np.zeros(d)
    for _ in range(int(c["steps"])):  # full-batch gradient descent on ½·mean squared error
        w -= float(c["lr"]) * (scale * x_fit).T @ ((scale * x_fit) @ w - y_fit) / len(y_fit)

    def mse(xs: np.ndarray, ys: np.ndarray) -> float:
        return float(np.mean(((scale * xs) @ w - ys) ** 2))

    def mae(xs: np.ndarray, ys: np.ndarray) -> float:
        return float(np.mean(np.abs((scale * xs) @ w - ys)))

    return TrialOutput(metrics={"mse": mse(x_test, y_test), "mae": mae(x_test, y_test)},
                       validation={"mse": mse(x_val, y_val), "mae": mae(x_val, y_val)},
                       params=d, flops=6.0 * d * len(y_fit) * int(c["steps"]), steps=int(c["steps"]))


def study(*, tuned: bool, verdicts: tuple[str, ...] = ()) -> Study:
    tune = {"lr": GRID} if tuned else {}
    options = {"steps": 20} if tuned else {"steps": 20, "lr": GRID[1]}
    return Study(
        name="protocol-toy", claim="scaling the inputs is structure", question="?", version="1", run=run,
        tasks=(Task(name="linear"),),
        contenders=(Contender(name="plain", role="generic", options={"scale": 1.0}, tune=tune),
                    Contender(name="scaled", role="structured", options={"scale": FACTOR}, tune=tune)),
        axis=Axis(name="n", label="training examples", kind="data"),
        metric="mse", metrics=("mse", "mae"), verdicts=verdicts,
        budgets={"quick": Budget(grid={"linear": (32.0, 64.0, 128.0, 256.0, 512.0)}, seeds=5, options=options)},
    )
