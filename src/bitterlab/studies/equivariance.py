"""equivariance — "our visionary equivariance vs their desperate data augmentation" (design.md, issue 17).

Data: real handwritten digits (``sklearn.datasets.load_digits``: 1,797 images of 8×8 pixels, 16
grey levels, bundled with scikit-learn; Alpaydin & Kaynak 1998, UCI) as *source* digits, each
rendered any number of times on a 16×16 canvas under a fresh random distortion, so that the data
grows without a download (to 51,200 training images in the full budget):

- an affine map about the digit's centre: rotation θ ~ U(±15°), scale s ~ U(0.9, 1.1), shear
  h ~ U(±0.15);
- an elastic deformation (Simard, Steinkraus & Platt 2003, §2): a displacement field of i.i.d.
  U(−1, 1) values per canvas pixel, smoothed by a Gaussian of σ = 2 pixels and scaled to a standard
  deviation of α = 0.25 pixel (at 0.5 a linear classifier of the centred digits falls from 97 % to 71 % accuracy);
- the translation the task names (below); then bilinear resampling of the source
  (``scipy.ndimage.map_coordinates``, zero outside the digit), vectorised over the batch.

A seed splits the 1,797 source digits into 397 *test sources* and 1,400 *training sources*
(disjoint: a test image is never a distorted copy of a digit seen in training, so the test measures
generalisation to new handwriting, not recall of a distorted training digit). ``load_digits`` has
no writer ids, so a writer may contribute to both sides; held-out fonts were the alternative, but
matplotlib ships only a handful of typefaces, too few to hold some out and still train on many.
Training image i of a seed is drawn by its own generator (chunks of 1,024), so a seed's training
sets are nested: n images are the first n of a larger set. The test set: 2,000 renderings of the
test sources.

Tasks:

shifted
    each digit's centre at a uniformly random (continuous) position with the 8×8 box inside the
    16×16 canvas (offsets 0..8 in each direction): the class is invariant to a translation the model
    has to cope with.
centered
    the control: every digit at the centre of the canvas (affine and elastic distortions only).

Contenders, trained alike by the shared trainer (AdamW, cross-entropy, random minibatches of 128,
early stopping on a validation split — a random 20 % of the training images — with the best weights
restored; each contender's learning rate tuned on that split):

MLP (generic)
    flattened canvas → two ReLU layers → 10 logits: translation is something to learn from data.
MLP + shift augmentation (reference: the generic side's answer to translation)
    the same MLP, trained on the training images and ``AUG_COPIES`` copies of each, shifted by a
    uniform integer offset in ±4 pixels per direction with zero fill (as pad-and-crop augmentation;
    Krizhevsky et al. 2012); the same information as the others (no new source digits), validation
    on unshifted images.
CNN (structured)
    LeNet-style (LeCun et al. 1998): conv 3×3 → ReLU → max-pool 2 → conv 3×3 → ReLU → max-pool 2 →
    linear: shared local filters (translation-equivariant) and pooling (local invariance).
    Parameters and FLOPs cannot both match: a convolution reuses each weight at every pixel. At the
    quick budget (width 4) the MLP (32 hidden units) has ~9.5k parameters and ~9.5k multiply-adds per
    image, the CNN (4 channels) ~1.6k parameters and ~29k multiply-adds: each is 3–6x ahead on one
    of the two (both are stored with every result; at width 32, full budget: 134k/134k vs 29k/1.26M).

Axes: training images (main) and width (secondary, swept on the shifted digits at the largest
training set): the CNN's first-layer channels, the MLP's hidden units being 8 × width, so both grow
together and keep the ratio above.
Metrics: test cross-entropy (main: a proper score, fair to both sides), and the test error rate,
as (errors + ½)/(n + 1) so a perfect score stays positive, with a verdict of its own.

The verdict's question (Dosovitskiy et al. 2021, ViT: with enough data, a generic architecture
catches up with a convolutional one): does the MLP's curve (and the augmented MLP's) approach or
cross the CNN's within the measured range, and where would it by extrapolation?
"""

from __future__ import annotations

import json
from functools import cache, lru_cache

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.mlp import mlp
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Member, TrainConfig, Trained, fit

CANVAS, DIGIT, N_TEST, N_TEST_SOURCES = 16, 8, 2000, 397
CHUNK = 1024  # training images per generator (nested training sets)
ROTATION, SCALE, SHEAR = np.deg2rad(15.0), 0.1, 0.15  # affine ranges: U(±θ), U(1 ± s), U(±h)
ELASTIC_SIGMA, ELASTIC_ALPHA = 2.0, 0.25  # Gaussian smoothing (pixels) and displacement std (pixels)
AUG_COPIES, AUG_SHIFT = 4, 4  # the augmented MLP's shifted copies per image, and their range (± pixels)
VAL_SHARE = 0.2  # share of the training images held out as the validation split (never the test set)


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) images scaled to [0, 1] and their labels 0..9."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images / 16.0, d.target


def sources(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seed's disjoint source digits: (training sources (1,400), test sources (397)), as indices."""
    order = np.random.default_rng([seed, 1998]).permutation(len(digits()[0]))
    return order[N_TEST_SOURCES:], order[:N_TEST_SOURCES]


def centres(task: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) canvas positions of the digits' centres (row, col)."""
    half = (DIGIT - 1) / 2
    if task == "shifted":
        return half + rng.uniform(0, CANVAS - DIGIT, size=(n, 2))
    if task == "centered":
        return np.full((n, 2), (CANVAS - 1) / 2)
    raise ValueError(f"equivariance: unknown task {task!r}")


def distortions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n random distortions: rotation θ, scale s, shear h (n,) and a displacement field (n, 2, C, C) of
    i.i.d. U(−1, 1) values smoothed by a Gaussian of ``ELASTIC_SIGMA`` and scaled to a standard
    deviation of ``ELASTIC_ALPHA`` pixels per image."""
    theta = rng.uniform(-ROTATION, ROTATION, n)
    scale = rng.uniform(1 - SCALE, 1 + SCALE, n)
    shear = rng.uniform(-SHEAR, SHEAR, n)
    field = rng.uniform(-1, 1, size=(n, 2, CANVAS, CANVAS))
    field = ndimage.gaussian_filter(field, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA), mode="constant")
    field *= ELASTIC_ALPHA / field.reshape(n, -1).std(axis=1).clip(min=1e-12)[:, None, None, None]
    return theta, scale, shear, field


def render(images: np.ndarray, centre: np.ndarray, theta: np.ndarray, scale: np.ndarray, shear: np.ndarray,
           field: np.ndarray) -> np.ndarray:
    """Each 8×8 image drawn on a blank 16×16 canvas with its centre at ``centre`` (n, 2), under the affine
    map A = s·R(θ)·[[1, h], [0, 1]] about its centre and the displacement ``field`` (n, 2, C, C): canvas
    pixel o samples the source at p = A⁻¹(o + d(o) − centre) + c_src (bilinear, zero outside the
    source; ``scipy.ndimage.map_coordinates`` over the whole batch)."""
    n = len(images)
    cos, sin = np.cos(theta), np.sin(theta)
    a = np.empty((n, 2, 2))
    a[:, 0, 0], a[:, 0, 1] = cos, cos * shear - sin
    a[:, 1, 0], a[:, 1, 1] = sin, sin * shear + cos
    inv = np.linalg.inv(a * np.asarray(scale)[:, None, None])
    grid = np.stack(np.meshgrid(np.arange(CANVAS), np.arange(CANVAS), indexing="ij")).astype(float)  # (2, C, C)
    offset = grid[None] + field - centre[:, :, None, None]  # (n, 2, C, C)
    src = np.einsum("nij,njrc->nirc", inv, offset) + (DIGIT - 1) / 2
    index = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], (n, CANVAS, CANVAS))
    coords = np.stack([index, src[:, 0], src[:, 1]])
    return ndimage.map_coordinates(images, coords, order=1, mode="constant", cval=0.0)


@lru_cache(maxsize=256)
def _chunk(task: str, seed: int, part: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-th chunk (``CHUNK`` images) of a seed's training (``part="train"``) or test renderings: float32
    canvases and labels, from its own generator (cached in-process)."""
    images, labels = digits()
    pool = sources(seed)[0 if part == "train" else 1]
    rng = np.random.default_rng([seed, 2003, 0 if part == "train" else 1, k, 0 if task == "shifted" else 1])
    idx = pool[rng.integers(0, len(pool), size=CHUNK)]
    x = render(images[idx], centres(task, CHUNK, rng), *distortions(CHUNK, rng)).astype(np.float32)
    x.setflags(write=False)
    return x, labels[idx]


def rendered(task: str, seed: int, part: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n renderings of a seed's training or test sources (nested in n)."""
    parts = [_chunk(task, seed, part, k) for k in range(-(-n // CHUNK))]
    return np.concatenate([p[0] for p in parts])[:n], np.concatenate([p[1] for p in parts])[:n]


def split(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training canvases and labels (n, from the training sources), test canvases and labels (2,000,
    from the test sources), for one seed."""
    x_train, y_train = rendered(task, seed, "train", n)
    x_test, y_test = rendered(task, seed, "test", N_TEST)
    return x_train, y_train, x_test, y_test


def shifted_copies(x: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
    """``copies`` versions of each canvas (n, C, C), each shifted by a uniform integer offset in
    ±``AUG_SHIFT`` per direction with zero fill (pad by AUG_SHIFT, crop at a random corner)."""
    n = len(x)
    pad = np.pad(x, ((0, 0), (AUG_SHIFT, AUG_SHIFT), (AUG_SHIFT, AUG_SHIFT)))
    out = np.empty((copies, n, CANVAS, CANVAS), dtype=x.dtype)
    corner = rng.integers(0, 2 * AUG_SHIFT + 1, size=(copies, n, 2))
    rows = corner[..., 0, None] + np.arange(CANVAS)  # (copies, n, C)
    cols = corner[..., 1, None] + np.arange(CANVAS)
    for c in range(copies):
        out[c] = pad[np.arange(n)[:, None, None], rows[c][:, :, None], cols[c][:, None, :]]
    return out.reshape(copies * n, CANVAS, CANVAS)


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
    """Per-image cross-entropy of the logits, (B,) — or (K, B) when ``forward`` is a stack of K models
    (the class dimension moved to where ``cross_entropy`` expects it, so the loss broadcasts and the
    trainer can use its stacked forward)."""
    x, y = batch
    return nn.functional.cross_entropy(forward(x).movedim(-1, 1), y, reduction="none")


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
    x_fit, y_fit = x_train[fit_idx], y_train[fit_idx]
    if trial.config.get("augment", False):  # the training images and AUG_COPIES shifted copies of each
        rng = np.random.default_rng([trial.seed, int(trial.x), 2012])
        x_fit = np.concatenate([x_fit, shifted_copies(x_fit, AUG_COPIES, rng)])
        y_fit = np.tile(y_fit, AUG_COPIES + 1)
    member = Member(seed=trial.seed, cfg=cfg, train=tensors(x_fit, y_fit), val=tensors(x_train[val], y_train[val]))
    return member, tensors(x_test, y_test)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one architecture, task and width (any sizes, seeds and learning rates), trained as
    one batched model by the shared trainer (the CNNs as one grouped convolution per layer, channels-last;
    smaller training sets padded, each member with its own minibatch stream)."""
    preps = [prepare(t) for t in trials]
    c, device = trials[0].config, trials[0].device
    # FLOPs: the CNN's convolutions cost far more per parameter than a dense layer; count them per pixel
    forward_flops = None if c["arch"] == "mlp" else 2.0 * conv_macs(int(c["width"]))
    results = fit(lambda: model_for(c["arch"], c), cross_entropy, [m for m, _ in preps], device=device)
    return [failure(r) if not isinstance(r, Trained) else
            trial_output(r, scores(r.model, *test), scores(r.model, *m.val), forward_flops=forward_flops)
            for (m, test), r in zip(preps, results, strict=True)]


def batch_key(trial: Trial) -> tuple:
    """Trials of one task, contender and width train together, at every size."""
    fixed = {k: v for k, v in trial.config.items() if k not in trial.tuned and k != "n_train"}
    return trial.task, trial.contender, json.dumps(fixed, sort_keys=True)


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
    claim="Our visionary equivariance vs their desperate data augmentation.",
    question="Classifying handwritten digits rendered under random distortions at random offsets on a larger canvas "
             "(test digits from held-out source digits), does an MLP's error curve, or that of an MLP trained on "
             "shift-augmented data, approach or cross a small CNN's as training images grow, and where would it "
             "by extrapolation?",
    version="4",  # rendered digits under affine + elastic distortions, held-out test sources, augmented MLP
    run=run,
    run_batch=run_batch,
    batch_key=batch_key,
    tasks=(
        Task(name="shifted", description="sklearn load_digits sources (1,400 train / 397 test per seed) rendered "
             "under random affine and elastic distortions at uniformly random offsets on a 16×16 canvas"),
        Task(name="centered", description="the same renderings at the centre of the canvas (control: no shift)"),
    ),
    contenders=(
        Contender(name="mlp", role="generic", description="MLP, two ReLU layers", options={"arch": "mlp"},
                  tune={"lr": MLP_LR_GRID}),
        Contender(name="cnn", role="structured", description="LeNet-style: two 3×3 convolutions, each with max-pool",
                  options={"arch": "cnn"}, tune={"lr": LR_GRID}),
        Contender(name="mlp-aug", role="reference", description=f"the MLP on its images and {AUG_COPIES} copies "
                  f"shifted by up to ±{AUG_SHIFT} pixels (data augmentation)", options={"arch": "mlp", "augment": True},
                  tune={"lr": MLP_LR_GRID}),
    ),
    axis=Axis(name="n_train", label="training images", unit="images", kind="data"),
    secondary=Axis(name="width", label="width (CNN channels; MLP units = 8×)", unit="channels", kind="width"),
    metric="cross_entropy",  # a proper score, on the test sources' renderings
    metrics=("cross_entropy", "error"),
    verdicts=("error",),
    budgets={
        # quick: 3 seeds. 5 do not fit its 90 s on 2 cores: the trials' CPU time, one batch after another, was
        # 142 s at 3 seeds and 236 s at 5 (the largest batch, the centred CNN's, 50 and 85 s), 2026-12-02
        "quick": Budget(grid={t: log_grid(100, 3200, 5) for t in ("shifted", "centered")}, seeds=3,
                        options={"width": 4, "batch_size": 64, "max_steps": 600, "eval_every": 20, "patience": 6},
                        tune={c: {"lr": LR_GRID} for c in ("mlp", "cnn", "mlp-aug")},
                        secondary={"shifted": (1, 2, 4, 8)}),
        "full": Budget(grid={t: log_grid(100, 51200, 8) for t in ("shifted", "centered")}, seeds=10,
                       options={"width": 32, "batch_size": 128, "max_steps": 30000, "eval_every": 50, "patience": 20},
                       tune={c: {"lr": FULL_LR_GRID} for c in ("mlp", "cnn", "mlp-aug")},
                       secondary={t: (4, 8, 16, 32, 64) for t in ("shifted", "centered")}),
    },
    references=("Dosovitskiy et al. 2021, ICLR (ViT: generic architectures catch up with data)",
                "LeCun et al. 1998 (convolutional networks)", "Simard, Steinkraus & Platt 2003, ICDAR (elastic "
                "distortions)", "Alpaydin & Kaynak 1998, UCI optdigits (load_digits)"),
)
