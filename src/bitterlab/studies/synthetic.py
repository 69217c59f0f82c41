"""synthetic — "synthetic data won't scale like we think" (the data processing inequality).

A chain of generations of models, each fitted to data, the next one's data sampled from it. Per
generation ``M`` new samples are consumed; after ``n`` generations the chain has consumed
``x = n·M`` samples (the main axis; generation ``n = x / M`` and ``M`` are in the trial's config):

replace (generic)
    the "just add synthetic data" recipe: generation 1 is fitted to ``M`` real samples, generation
    ``k > 1`` only to ``M`` samples drawn from generation ``k − 1``.
accumulate (structured)
    generation ``k`` is fitted to the ``M`` real samples plus every synthetic sample drawn so far
    (``k·M`` in all) — it keeps the provenance structure "real data is never thrown away".
fresh (reference)
    the control: generation ``k`` is fitted to ``k·M`` real samples.

Each generation is scored against the truth: W2 (main), KL(truth ‖ model) and the share of the
truth's 2 % tail mass (outside its 1 % and 99 % quantiles) that the model lost. A curve that rises
with ``x`` is a real outcome here (the analysis reports it as "rises").

Protocol: the models are fitted in closed form or by EM (no learning rate, no penalty: nothing is
tuned), and each chain's main axis is data (``kind="data"``). Every trial also reports the three
metrics on a validation split carved from its last generation's training data
(:func:`validation_scores`): the model fitted on three in four of those samples against the same
kind of model fitted to the other one in four. Validation cannot see the truth — for a replace
chain it holds out synthetic samples — so a collapsing chain can look as good on validation as a
fresh one: the data processing inequality at work, and the reason the test metrics are distances to
the known truth.

Anchors: Shumailov et al. 2024, Nature, "AI models collapse when trained on recursively generated
data" — refitting a Gaussian by maximum likelihood to ``M`` of its own samples gives
E[σ²ₙ] = ((M−1)/M)ⁿ σ₀² (the MLE variance is biased by (M−1)/M and generations are independent
given the previous one), so the variance collapses; Gerstgrasser et al. 2024, "Is model collapse
inevitable?" — for linear regression, replacing makes the test error grow linearly in n, while
accumulating keeps it bounded (their Thm. 1: ≤ σ²d/(T−d−1) · π²/6).

Tasks
-----
gaussian
    Truth N(0, 1); model: a Gaussian fitted by maximum likelihood (std with ddof = 0).
gmm
    Truth a 1-D mixture of three Gaussians; model: scikit-learn ``GaussianMixture`` (3 components,
    EM). W2 by quantile quadrature, KL on a fine grid (:func:`mixture_w2`, :func:`mixture_kl`).
linreg
    y = x·w + ε, x ~ N(0, I₈), ε ~ N(0, 1); model: ordinary least squares with σ̂² = RSS/(T − d);
    synthetic labels y = x·ŵ + σ̂ε on fresh x. The model is the joint normal of (x, y), so W2 is the
    Bures distance and KL is closed form (geometry module).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bitterlab.geometry import Mixture, MultivariateNormal, Normal, kl, wasserstein
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput

TAIL = 0.01  # the tails are the truth's mass below its 1 % and above its 99 % quantile
GMM_TRUTH = Mixture(components=(Normal(-2.0, 0.5), Normal(0.5, 0.8), Normal(3.0, 0.4)), weights=(0.5, 0.3, 0.2))
LINREG_DIM = 8
VALIDATION_SHARE = 4  # one in this many of the last generation's samples is held out for validation


class Model(Protocol):
    """A fitted generation: it can be sampled and scored against the truth."""

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray: ...
    def scores(self, truth=None) -> dict[str, float]: ...  # against ``truth`` (a model of the same kind)


def mixture_w2(p: Mixture, q: Mixture, n: int = 1 << 14) -> float:
    r""":math:`W_2^2 = \int_0^1 |F^{-1}(u) - G^{-1}(u)|^2 du` (Villani 2003, Thm 2.18) by the midpoint
    rule on ``n`` quantile levels, the quantiles found by vectorised bisection of the CDFs. Agrees
    with the geometry module's adaptive quadrature (exact, but ~10 s per pair) to ~1e-4 (tested)."""
    u = (np.arange(n) + 0.5) / n
    return float(np.sqrt(np.mean((_mixture_ppf(p, u) - _mixture_ppf(q, u)) ** 2)))


def _mixture_ppf(p: Mixture, u: np.ndarray, iters: int = 60) -> np.ndarray:
    lo, hi = np.full_like(u, p.support_hint()[0]), np.full_like(u, p.support_hint()[1])
    for _ in range(iters):  # bisection: the bracket halves each step (8σ·2⁻⁶⁰ is below float precision)
        mid = (lo + hi) / 2
        below = p.cdf(mid) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def mixture_kl(p: Mixture, q: Mixture, n: int = 20001) -> float:
    r""":math:`KL(p\|q) = \int p (\log p - \log q)` by Simpson's rule on ``n`` points over p's ±8σ
    support, log-densities by log-sum-exp (finite where a collapsed component underflows)."""
    from scipy.integrate import simpson

    x = np.linspace(*p.support_hint(), n)
    log_p, log_q = _mixture_logpdf(p, x), _mixture_logpdf(q, x)
    return float(simpson(np.exp(log_p) * (log_p - log_q), x=x))


def _mixture_logpdf(p: Mixture, x: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp
    from scipy.stats import norm

    logs = [np.log(w) + norm.logpdf(x, c.mean, c.std) for w, c in zip(p.weights, p.components, strict=True) if w > 0]
    return logsumexp(np.stack(logs), axis=0)


def tail_mass_lost(truth_cdf, model_cdf, low: float, high: float) -> float:
    """1 − P_model(tails)/P_truth(tails) for the tails x < low, x > high (the truth's 1 %/99 %
    quantiles): 0 when the model keeps the tails, 1 when it lost them, negative when it fattens them."""
    true_mass = truth_cdf(low) + 1 - truth_cdf(high)
    return float(1 - (model_cdf(low) + 1 - model_cdf(high)) / true_mass)


@dataclass(frozen=True)
class GaussianModel:
    mean: float
    std: float

    @staticmethod
    def fit(x: np.ndarray) -> GaussianModel:
        """Maximum likelihood: the sample mean and the biased (ddof = 0) standard deviation."""
        return GaussianModel(float(np.mean(x)), float(np.std(x)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.std, n)

    def scores(self, truth: GaussianModel | None = None) -> dict[str, float]:
        """W2, KL(truth ‖ model) and the tail mass lost against ``truth`` (default: the task's N(0, 1))."""
        truth = GaussianModel(0.0, 1.0) if truth is None else truth
        truth, model = Normal(truth.mean, truth.std), Normal(self.mean, self.std)
        low, high = truth.ppf(TAIL), truth.ppf(1 - TAIL)
        return {"w2": wasserstein(truth, model), "kl": kl(truth, model),
                "tail_mass_lost": tail_mass_lost(truth.cdf, model.cdf, low, high)}


@dataclass(frozen=True)
class MixtureModel:
    mixture: Mixture

    @staticmethod
    def fit(x: np.ndarray, seed: int) -> MixtureModel:
        """EM for three components (scikit-learn), k-means initialisation, seeded."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm = GaussianMixture(3, covariance_type="full", reg_covar=1e-6, random_state=seed).fit(x[:, None])
        order = np.argsort(gm.means_[:, 0])
        comps = tuple(Normal(float(gm.means_[k, 0]), float(np.sqrt(gm.covariances_[k, 0, 0]))) for k in order)
        w = gm.weights_[order]
        return MixtureModel(Mixture(components=comps, weights=tuple(float(v) for v in w / w.sum())))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return sample_mixture(self.mixture, n, rng)

    def scores(self, truth: MixtureModel | None = None) -> dict[str, float]:
        """W2, KL(truth ‖ model) and the tail mass lost against ``truth`` (default: the task's mixture)."""
        truth, model = GMM_TRUTH if truth is None else truth.mixture, self.mixture
        u = np.array([TAIL, 1 - TAIL])
        low, high = _mixture_ppf(truth, u)
        return {"w2": mixture_w2(truth, model), "kl": mixture_kl(truth, model),
                "tail_mass_lost": tail_mass_lost(truth.cdf, model.cdf, low, high)}


def sample_mixture(m: Mixture, n: int, rng: np.random.Generator) -> np.ndarray:
    k = rng.choice(len(m.weights), size=n, p=np.asarray(m.weights))
    means = np.array([c.mean for c in m.components])
    stds = np.array([c.std for c in m.components])
    return rng.normal(means[k], stds[k])


def true_weights() -> np.ndarray:
    """The linear task's fixed true coefficients (|w| = 1), the same for every seed."""
    w = np.random.default_rng(8).normal(size=LINREG_DIM)
    return w / np.linalg.norm(w)


@dataclass(frozen=True)
class LinearModel:
    w: np.ndarray
    sigma2: float

    @staticmethod
    def fit(xy: np.ndarray) -> LinearModel:
        """Ordinary least squares; σ̂² = RSS/(T − d) (unbiased)."""
        x, y = xy[:, :-1], xy[:, -1]
        w, *_ = np.linalg.lstsq(x, y, rcond=None)
        rss = float(np.sum((y - x @ w) ** 2))
        return LinearModel(w, rss / (len(y) - x.shape[1]))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.normal(size=(n, len(self.w)))
        return np.column_stack([x, x @ self.w + np.sqrt(self.sigma2) * rng.normal(size=n)])

    def joint(self) -> MultivariateNormal:
        """(x, y) ~ N(0, [[I, w], [wᵀ, wᵀw + σ²]])."""
        d = len(self.w)
        cov = np.eye(d + 1)
        cov[:d, d] = cov[d, :d] = self.w
        cov[d, d] = self.w @ self.w + self.sigma2
        return MultivariateNormal(np.zeros(d + 1), cov)

    def scores(self, truth: LinearModel | None = None) -> dict[str, float]:
        """W2, KL(truth ‖ model) of the joints and the tail mass of y lost against ``truth`` (default: the
        task's true regression)."""
        truth, model = LinearModel(true_weights(), 1.0) if truth is None else truth, self
        y_true, y_model = (Normal(0.0, float(np.sqrt(m.joint().cov[-1, -1]))) for m in (truth, model))
        low, high = y_true.ppf(TAIL), y_true.ppf(1 - TAIL)
        return {"w2": wasserstein(truth.joint(), model.joint()), "kl": kl(truth.joint(), model.joint()),
                "tail_mass_lost": tail_mass_lost(y_true.cdf, y_model.cdf, low, high)}


def real_samples(task: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples from the task's true distribution."""
    if task == "gaussian":
        return rng.normal(0.0, 1.0, n)
    if task == "gmm":
        return sample_mixture(GMM_TRUTH, n, rng)
    if task == "linreg":
        return LinearModel(true_weights(), 1.0).sample(n, rng)
    raise ValueError(f"synthetic: unknown task {task!r}")


def fit(task: str, data: np.ndarray, seed: int) -> Model:
    if task == "gaussian":
        return GaussianModel.fit(data)
    if task == "gmm":
        return MixtureModel.fit(data, seed)
    return LinearModel.fit(data)


def chain(task: str, mode: str, generations: int, per_generation: int, seed: int) -> Model:
    """The model after ``generations`` generations of ``mode`` (replace, accumulate or fresh)."""
    return chain_data(task, mode, generations, per_generation, seed)[0]


def chain_data(task: str, mode: str, generations: int, per_generation: int, seed: int) -> tuple[Model, np.ndarray]:
    """The model after ``generations`` generations of ``mode`` and the data its last generation was
    fitted to.

    Generation g's new samples come from the stream ``(seed, g)``, so chains of different lengths
    with one seed share their first generations, and the three modes share the real data."""
    if mode not in ("replace", "accumulate", "fresh"):
        raise ValueError(f"synthetic: unknown mode {mode!r}")
    data = real_samples(task, per_generation, np.random.default_rng([seed, 0, 17]))
    model = fit(task, data, seed)
    for g in range(1, generations):
        rng = np.random.default_rng([seed, g, 17])
        new = real_samples(task, per_generation, rng) if mode == "fresh" else model.sample(per_generation, rng)
        data = new if mode == "replace" else np.concatenate([data, new])
        model = fit(task, data, seed)
    return model, data


def validation_scores(task: str, data: np.ndarray, seed: int, generations: int) -> dict[str, float]:
    """The metrics on a validation split carved from the last generation's training data: one in four
    of its samples (at random) held out; the model fitted on the rest is scored against the model of
    the same kind fitted to the held-out samples, the stand-in for a truth that validation cannot see."""
    order = np.random.default_rng([seed, generations, 23]).permutation(len(data))
    held = len(data) // VALIDATION_SHARE
    return fit(task, data[order[held:]], seed).scores(fit(task, data[order[:held]], seed))


def run(trial: Trial) -> TrialOutput:
    """Run one chain to generation x / M and score its last model against the truth (test) and
    against the held-out part of its own training data (validation)."""
    c = trial.config
    m = int(c["per_generation"])
    generations = int(round(trial.x / m))
    if generations < 1 or generations * m != int(trial.x):
        raise ValueError(f"synthetic: x = {trial.x} is not a whole number of generations of {m} samples")
    model, data = chain_data(trial.task, c["mode"], generations, m, trial.seed)
    params = {"gaussian": 2, "gmm": 8, "linreg": LINREG_DIM + 1}[trial.task]
    return TrialOutput(metrics=model.scores(), validation=validation_scores(trial.task, data, trial.seed, generations),
                       params=params, flops=0.0, steps=generations)


def _grid(per_generation: int, generations: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(float(per_generation * g) for g in generations)


# generation 1 is the same model in the three modes (fitted to the same M real samples): grids start at 2
QUICK = dict(per_generation=100, generations=(2, 4, 8, 16, 32, 64))
FULL = dict(per_generation=100, generations=(2, 4, 8, 16, 32, 64, 128, 256, 512))

STUDY = Study(
    name="synthetic",
    claim="Synthetic data won't scale like we think.",
    question="As a chain of models consumes more samples, does training each generation on the previous "
             "generation's samples (replace) approach the truth like fresh real data does, and does keeping "
             "all data (accumulate) stop the collapse?",
    version="2",
    run=run,
    tasks=(
        Task(name="gaussian", description="N(0, 1), Gaussian refitted by maximum likelihood (generated; "
             "Shumailov et al. 2024's exact case)"),
        Task(name="gmm", description="1-D mixture 0.5·N(−2, 0.5²) + 0.3·N(0.5, 0.8²) + 0.2·N(3, 0.4²), refitted by "
             "EM with 3 components (scikit-learn GaussianMixture; generated)"),
        Task(name="linreg", description="y = x·w + ε, x ~ N(0, I₈), |w| = 1, ε ~ N(0, 1); OLS refitted on "
             "synthetic labels (generated; Gerstgrasser et al. 2024's setting)"),
    ),
    contenders=(
        Contender(name="replace", role="generic", description="each generation trained only on the previous "
                  "generation's M samples", options={"mode": "replace"}),
        Contender(name="accumulate", role="structured", description="each generation trained on the real data "
                  "plus all synthetic data so far", options={"mode": "accumulate"}),
        Contender(name="fresh", role="reference", description="each generation trained on as many fresh real "
                  "samples as the chain has consumed", options={"mode": "fresh"}),
    ),
    axis=Axis(name="samples", label="samples consumed (generations × M)", unit="samples", kind="data"),
    metric="w2",
    metrics=("w2", "kl", "tail_mass_lost"),
    budgets={
        "quick": Budget(grid={t: _grid(QUICK["per_generation"], QUICK["generations"])
                              for t in ("gaussian", "gmm", "linreg")}, seeds=5,
                        options={"per_generation": QUICK["per_generation"]}),
        "full": Budget(grid={t: _grid(FULL["per_generation"], FULL["generations"])
                             for t in ("gaussian", "gmm", "linreg")}, seeds=20,
                       options={"per_generation": FULL["per_generation"]}),
    },
    references=("Shumailov et al. 2024, Nature 631 (E[σ²ₙ] = ((M−1)/M)ⁿ for the Gaussian MLE chain)",
                "Gerstgrasser et al. 2024, arXiv:2404.01413 (accumulating data keeps the error bounded, Thm. 1)"),
)
