"""equivariance — "our visionary equivariance vs their constricting inductive bias".

Real handwritten digits (``sklearn.datasets.load_digits``: 1,797 images of 8×8 pixels, 16 grey
levels, bundled with scikit-learn; Alpaydin & Kaynak 1998, UCI) placed on a larger blank canvas:

shifted
    each digit at a uniformly random offset on a 16×16 canvas (81 positions): the class is
    invariant to a translation the model has to cope with.
centered
    the control: every digit at the centre of the canvas (no shift).

Contenders, trained alike (Adam, cosine-decayed, cross-entropy, random minibatches of 128):

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
from bitterlab.train.mlp import FitConfig, mlp, n_params, train

CANVAS, DIGIT, N_TEST = 16, 8, 397


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


def run(trial: Trial) -> TrialOutput:
    c = trial.config
    x_train, y_train, x_test, y_test = split(trial.task, int(trial.x), trial.seed)
    model = model_for(c["arch"], c)
    xt = torch.as_tensor(x_train, dtype=torch.float32).unsqueeze(1)
    yt = torch.as_tensor(y_train)
    cfg = FitConfig(steps=int(c["steps"]), lr=float(c["lr"]))
    batch, gen = min(int(c["batch"]), len(xt)), torch.Generator().manual_seed(trial.seed)

    def loss() -> torch.Tensor:  # a fresh random minibatch per step
        idx = torch.randint(len(xt), (batch,), generator=gen)
        return nn.functional.cross_entropy(model(xt[idx]), yt[idx])

    fitted = train(model, batch, loss, cfg)
    with torch.no_grad():
        logits = model(torch.as_tensor(x_test, dtype=torch.float32).unsqueeze(1))
    yv = torch.as_tensor(y_test)
    errors = int((logits.argmax(1) != yv).sum())
    # FLOPs: the CNN's convolutions cost far more per parameter than a dense layer; count them per pixel
    flops = fitted.flops if c["arch"] == "mlp" else 6.0 * conv_macs(int(c["width"])) * batch * cfg.steps
    return TrialOutput(metrics={"error": (errors + 0.5) / (len(y_test) + 1),
                                "cross_entropy": float(nn.functional.cross_entropy(logits, yv))},
                       params=n_params(model), flops=flops, steps=fitted.steps)


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
    version="2",
    run=run,
    tasks=(
        Task(name="shifted", description="sklearn load_digits (1,797 real 8×8 digits) at uniformly random offsets "
             "on a 16×16 canvas"),
        Task(name="centered", description="the same digits at the centre of the canvas (control: no shift)"),
    ),
    contenders=(
        Contender(name="mlp", role="generic", description="MLP, two ReLU layers", options={"arch": "mlp"}),
        Contender(name="cnn", role="structured", description="LeNet-style: two 3×3 convolutions, each with max-pool",
                  options={"arch": "cnn"}),
    ),
    axis=Axis(name="n_train", label="training images", unit="images"),
    secondary=Axis(name="width", label="width (CNN channels; MLP units = 8×)", unit="channels", kind="width"),
    metric="error",
    metrics=("error", "cross_entropy"),
    budgets={
        "quick": Budget(grid={t: log_grid(40, 1280, 6) for t in ("shifted", "centered")}, seeds=3,
                        options={"width": 8, "steps": 300, "batch": 128, "lr": 3e-3},
                        secondary={"shifted": (1, 2, 4, 8, 16)}),
        "full": Budget(grid={t: log_grid(20, 1400, 8) for t in ("shifted", "centered")}, seeds=10,
                       options={"width": 32, "steps": 3000, "batch": 128, "lr": 1e-3},
                       secondary={t: (4, 8, 16, 32, 64) for t in ("shifted", "centered")}),
    },
    references=("Dosovitskiy et al. 2021, ICLR (ViT: generic architectures catch up with data)",
                "LeCun et al. 1998 (convolutional networks)", "Alpaydin & Kaynak 1998, UCI optdigits (load_digits)"),
)
