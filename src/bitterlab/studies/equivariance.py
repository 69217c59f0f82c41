"""equivariance — "our visionary equivariance vs their constricting inductive bias".

Real handwritten digits (``sklearn.datasets.load_digits``: 1,797 images of 8×8 pixels, 16 grey
levels, bundled with scikit-learn; Alpaydin & Kaynak 1998, UCI) placed on a larger blank canvas:

shifted
    each digit at a uniformly random offset on a 16×16 canvas (81 positions): the class is
    invariant to a translation the model has to cope with.
centered
    the control: every digit at the centre of the canvas (no shift).

Contenders, trained alike by the shared trainer (AdamW, cross-entropy, random minibatches of 128,
early stopping on a validation split — a random 20 % of the training images — with the best weights
restored; each contender's learning rate tuned on that split):

MLP (generic)
    flattened canvas → two ReLU layers → 10 logits: translation is something to learn from data.
CNN (structured)
    LeNet-style (LeCun et al. 1998): conv 3×3 → ReLU → max-pool 2 → conv 3×3 → ReLU → max-pool 2 →
    linear: shared local filters (translation-equivariant) and pooling (local invariance).
    Parameters and FLOPs cannot both match: a convolution reuses each weight at every pixel. At the
    quick budget (width 8) the MLP (64 hidden units) has ~21k parameters and ~21k multiply-adds per
    image, the CNN (8 channels) ~3.8k parameters and ~95k multiply-adds: each is ~5x ahead on one of
    the two (both are stored with every result).

Axes: training images (main; a seed draws the 397 test digits, the training digits and the
offsets) and width (secondary, swept on the shifted digits at the largest training set): the CNN's
first-layer channels, the MLP's hidden units being 8 × width, so both grow together and keep the
ratio above.
Metrics: test error rate (main), as (errors + ½)/(n + 1) so a perfect score stays positive; test
cross-entropy.

The verdict's question (Dosovitskiy et al. 2021, ViT: with enough data, a generic architecture
catches up with a convolutional one): does the MLP's curve approach or cross the CNN's within the
measured range, and where would it by extrapolation?
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import nn

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.mlp import mlp
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Member, TrainConfig, Trained, fit

CANVAS, DIGIT, N_TEST = 16, 8, 397
VAL_SHARE = 0.2  # share of the training images held out as the validation split (never the test set)


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) images scaled to [0, 1] and their labels 0..9."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images / 16.0, d.target


def place(images: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each 8×8 image pasted on a blank 16×16 canvas with its top-left corner at (row, col) offset."""
    out = np.zeros((len(images), CANVAS, CANVAS))
    for i, (img, (r, c)) in enumerate(zip(images, offsets, strict=True)):
        out[i, r:r + DIGIT, c:c + DIGIT] = img
    return out


def offsets_for(task: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if task == "shifted":
        return rng.integers(0, CANVAS - DIGIT + 1, size=(n, 2))
    if task == "centered":
        return np.full((n, 2), (CANVAS - DIGIT) // 2)
    raise ValueError(f"equivariance: unknown task {task!r}")


def split(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training canvases and labels (n), test canvases and labels (397), for one seed."""
    images, labels = digits()
    rng = np.random.default_rng([seed, 1998])
    order = rng.permutation(len(images))
    test, pool = order[:N_TEST], order[N_TEST:]
    if n > len(pool):
        raise ValueError(f"equivariance: {n} training images requested, the pool has {len(pool)}")
    train_idx = pool[:n]
    x_train = place(images[train_idx], offsets_for(task, n, rng))
    x_test = place(images[test], offsets_for(task, N_TEST, rng))
    return x_train, labels[train_idx], x_test, labels[test]


LR_GRID = (1e-3, 3e-3, 1e-2)  # AdamW learning rates tried per contender (each selected on validation)
MLP_LR_GRID = (3e-4, 1e-3, 3e-3)  # the MLP selected the bottom of LR_GRID at 5 of 6 sizes: its grid sits lower
FULL_LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
MLP_PER_CHANNEL = 8  # the MLP's hidden units per CNN channel at the same width


def cnn(channels: int) -> nn.Sequential:
    """LeNet-style: conv3×3(1→c) → ReLU → max-pool 2 → conv3×3(c→2c) → ReLU → max-pool 2 →
    linear(2c·4·4 → 10)."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * channels * (CANVAS // 4) ** 2, 10),
    )


def model_for(arch: str, cfg: dict) -> nn.Module:
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), mlp(CANVAS * CANVAS, MLP_PER_CHANNEL * int(cfg["width"]), 2, 10))
    if arch == "cnn":
        return cnn(int(cfg["width"]))
    raise ValueError(f"equivariance: unknown architecture {arch!r}")


def error_rate(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """(errors + ½)/(n + 1), so that a perfect score stays positive for the log–log fit."""
    return (int((logits.argmax(1) != labels).sum()) + 0.5) / (len(labels) + 1)


def scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():
        logits = model(x)
    return {"error": error_rate(logits, y), "cross_entropy": float(nn.functional.cross_entropy(logits, y))}


def cross_entropy(forward, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Per-image cross-entropy of the logits, (B,)."""
    x, y = batch
    return nn.functional.cross_entropy(forward(x), y, reduction="none")


def prepare(trial: Trial) -> tuple[Member, tuple[torch.Tensor, torch.Tensor]]:
    """The trainer's member (a random ``VAL_SHARE`` of the seed's training images validates) and the
    seed's test images, as tensors (n, 1, 16, 16) on the trial's device."""
    x_train, y_train, x_test, y_test = split(trial.task, int(trial.x), trial.seed)
    cfg = TrainConfig.from_options(dict(trial.config))
    dtype = getattr(torch, cfg.dtype)

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.as_tensor(x, dtype=dtype, device=trial.device).unsqueeze(1),
                torch.as_tensor(y, device=trial.device))

    order = np.random.default_rng([trial.seed, int(trial.x), 1999]).permutation(len(x_train))
    n_val = max(2, round(VAL_SHARE * len(order)))
    val, fit_idx = order[:n_val], order[n_val:]
    member = Member(seed=trial.seed, cfg=cfg, train=tensors(x_train[fit_idx], y_train[fit_idx]),
                    val=tensors(x_train[val], y_train[val]))
    return member, tensors(x_test, y_test)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one architecture, task, size and width that differ by seed and learning rate, trained
    as one batched model by the shared trainer (the CNN's convolutions batched by ``torch.func.vmap``)."""
    preps = [prepare(t) for t in trials]
    c, device = trials[0].config, trials[0].device
    # FLOPs: the CNN's convolutions cost far more per parameter than a dense layer; count them per pixel
    forward_flops = None if c["arch"] == "mlp" else 2.0 * conv_macs(int(c["width"]))
    results = fit(lambda: model_for(c["arch"], c), cross_entropy, [m for m, _ in preps], device=device)
    return [failure(r) if not isinstance(r, Trained) else
            trial_output(r, scores(r.model, *test), scores(r.model, *m.val), forward_flops=forward_flops)
            for (m, test), r in zip(preps, results, strict=True)]


def run(trial: Trial) -> TrialOutput:
    """Train one architecture on x training images; score it on the seed's 397 test digits."""
    return run_alone(run_batch, trial)


def conv_macs(channels: int) -> float:
    """Multiply-accumulates of one forward pass of :func:`cnn` on a 16×16 canvas."""
    first = CANVAS * CANVAS * 9 * channels
    second = (CANVAS // 2) ** 2 * 9 * channels * 2 * channels
    return float(first + second + 2 * channels * (CANVAS // 4) ** 2 * 10)


STUDY = Study(
    name="equivariance",
    claim="Our visionary equivariance vs their constricting inductive bias.",
    question="Classifying real handwritten digits at random offsets on a larger canvas, does an MLP's error curve "
             "approach or cross a small CNN's as training images grow, and where would it by extrapolation?",
    version="3",
    run=run,
    run_batch=run_batch,
    tasks=(
        Task(name="shifted", description="sklearn load_digits (1,797 real 8×8 digits) at uniformly random offsets "
             "on a 16×16 canvas"),
        Task(name="centered", description="the same digits at the centre of the canvas (control: no shift)"),
    ),
    contenders=(
        Contender(name="mlp", role="generic", description="MLP, two ReLU layers", options={"arch": "mlp"},
                  tune={"lr": MLP_LR_GRID}),
        Contender(name="cnn", role="structured", description="LeNet-style: two 3×3 convolutions, each with max-pool",
                  options={"arch": "cnn"}, tune={"lr": LR_GRID}),
    ),
    axis=Axis(name="n_train", label="training images", unit="images", kind="data"),
    secondary=Axis(name="width", label="width (CNN channels; MLP units = 8×)", unit="channels", kind="width"),
    metric="error",
    metrics=("error", "cross_entropy"),
    budgets={
        "quick": Budget(grid={t: log_grid(40, 1280, 5) for t in ("shifted", "centered")}, seeds=3,
                        options={"width": 8, "batch_size": 128, "max_steps": 1000, "eval_every": 20, "patience": 5},
                        secondary={"shifted": (2, 4, 8, 16)}),
        "full": Budget(grid={t: log_grid(20, 1400, 8) for t in ("shifted", "centered")}, seeds=10,
                       options={"width": 32, "batch_size": 128, "max_steps": 30000, "eval_every": 50, "patience": 20},
                       tune={c: {"lr": FULL_LR_GRID} for c in ("mlp", "cnn")},
                       secondary={t: (4, 8, 16, 32, 64) for t in ("shifted", "centered")}),
    },
    references=("Dosovitskiy et al. 2021, ICLR (ViT: generic architectures catch up with data)",
                "LeCun et al. 1998 (convolutional networks)", "Alpaydin & Kaynak 1998, UCI optdigits (load_digits)"),
)
