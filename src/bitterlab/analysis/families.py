"""Curve families for learning and scaling curves, each written as L(x) = E + A·φ(x; η).

Every family is linear in the floor ``E ≥ 0`` and the amplitude ``A ≥ 0`` once its shape
parameters ``η`` are fixed, which is what variable projection exploits (Golub & Pereyra 1973): for
each η on a grid, (E, A) are solved exactly, and the best grid points start the robust polish
(:mod:`bitterlab.analysis.robust`). Internally a fit is a vector θ = (log E, log A, η...), so
positivity holds by reparametrisation, and

    log L̂(x) = logaddexp(log E, log A + log φ(x; η)).

Families (the names of the learning-curve literature; LCDB: Mohr et al. 2022, Table 1, and
LCDB 1.1, arXiv 2505.15657):

======== ============================================= ==========================================
name     L(x)                                           notes
======== ============================================= ==========================================
pow3     E + A·x^-α                                     saturating power law (Hestness et al. 2017)
pow4     E + A·(x + d)^-α                               LCDB ``pow4`` = a − b(d + x)^-c, b = −A
mmf4     E + A / (1 + (x/s)^k)                          Morgan–Mercer–Flodin; LCDB ``mmf4`` =
                                                        (ab + cx^d)/(b + x^d), a = E + A, c = E, b = s^k
wbl4     E + A·exp(−(x/s)^k)                            Weibull; LCDB ``wbl4`` = c − b·exp(−a x^d)
bnsl     E + A·x^-c₀·(1 + (x/d)^{1/f})^{-c₁f}           broken neural scaling law with one break
                                                        (Caballero et al. 2022, eq. 1, n = 1)
======== ============================================= ==========================================

The exponent α of pow3 is left free in sign: a curve that rises with scale is fitted as one
(E + A·x^{|α|}), not forced down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def _row(log_x: Array) -> Array:
    """log x as (1, n) to broadcast against (B, 1) parameters; a (B, n) array is used as is."""
    return log_x[None, :] if log_x.ndim == 1 else log_x


def _softplus(z: Array) -> Array:
    """log(1 + eᶻ), stable for large |z|."""
    return np.logaddexp(0.0, z)


def _sigmoid(z: Array) -> Array:
    """1 / (1 + e⁻ᶻ) = d softplus / dz, stable for large |z|."""
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True, kw_only=True)
class Family:
    """A curve family L(x) = E + A·φ(x; η).

    ``log_phi(eta, log_x)`` takes shape parameters of shape (B, k) and log x of shape (n,) (or (B, n):
    one row of x per curve) and returns log φ of shape (B, n).

    ``bounds(x_min, x_max)`` boxes the shape parameters: exponents of at most a few units, breaks and
    scales within a few decades of the data. Without them the Huber objective can reach lower
    values only in degenerate limits — a pow3 exponent of 20 with A = 10³² is a step function that
    fits the smallest scale exactly — which are not scaling laws. ``grid(x_min, x_max)`` gives the (G, k) shape parameters whose
    exact (E, A) solutions start the fit. ``natural(theta)`` maps θ (B, p) to named parameters.
    """

    name: str
    formula: str  # for reports and docstrings
    shape_names: tuple[str, ...]  # names of η, in order
    shape_transform: tuple[str, ...]  # "id" or "log": η_j is stored as is, or as its log
    log_phi: Callable[[Array, Array], Array]
    grad_log_phi: Callable[[Array, Array], Array]  # ∂ log φ / ∂η: shape (B, n, k)
    grid: Callable[[float, float], Array]
    bounds: Callable[[float, float], tuple[Array, Array]]  # box of the stored η, given the x range

    @property
    def n_params(self) -> int:
        return 2 + len(self.shape_names)

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("E", "A", *self.shape_names)

    def log_predict(self, theta: Array, x: Array) -> Array:
        """log L̂ for parameters θ (B, p) at x (n,): shape (B, n)."""
        theta = np.atleast_2d(theta)
        log_x = np.log(np.asarray(x, float))
        return np.logaddexp(theta[:, :1], theta[:, 1:2] + self.log_phi(theta[:, 2:], log_x))

    def predict(self, theta: Array, x: Array) -> Array:
        return np.exp(self.log_predict(theta, x))

    def natural(self, theta: Array) -> dict[str, Array]:
        """Named parameters, one array of shape (B,) each."""
        theta = np.atleast_2d(theta)
        with np.errstate(over="ignore"):  # a degenerate fit (A → ∞ as s → 0) reads as inf
            out = {"E": np.exp(theta[:, 0]), "A": np.exp(theta[:, 1])}
            for j, (name, how) in enumerate(zip(self.shape_names, self.shape_transform, strict=True)):
                out[name] = np.exp(theta[:, 2 + j]) if how == "log" else theta[:, 2 + j]
        return out

    def encode(self, **params: float) -> Array:
        """θ (1, p) from natural parameters, e.g. ``POW3.encode(E=0.1, A=2.0, alpha=0.5)``."""
        missing = set(self.param_names) - set(params)
        if missing:
            raise ValueError(f"{self.name}: missing parameter(s) {', '.join(sorted(missing))}")
        shape = self.encode_shape(np.array([[params[k] for k in self.shape_names]]))
        logs = [np.log(max(params["E"], 1e-300)), np.log(max(params["A"], 1e-300))]
        return np.concatenate([np.array([logs]), shape], axis=1)

    def box(self, x_min: float, x_max: float) -> tuple[Array, Array]:
        """Bounds of the whole θ = (log E, log A, η): E and A unbounded (positive by construction)."""
        lo, hi = self.bounds(x_min, x_max)
        return np.concatenate([[-np.inf, -np.inf], lo]), np.concatenate([[np.inf, np.inf], hi])

    def encode_shape(self, values: Array) -> Array:
        """Natural shape parameters (G, k) to their stored form."""
        values = np.atleast_2d(np.asarray(values, float))
        return np.stack([np.log(values[:, j]) if how == "log" else values[:, j]
                         for j, how in enumerate(self.shape_transform)], axis=1)


def _product(*axes: Array) -> Array:
    return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)


POW3 = Family(
    name="pow3", formula="E + A·x^-α", shape_names=("alpha",), shape_transform=("id",),
    log_phi=lambda eta, lx: -eta[:, :1] * _row(lx),
    grad_log_phi=lambda eta, lx: np.broadcast_to(-_row(lx), (len(eta), _row(lx).shape[1]))[:, :, None],
    grid=lambda lo, hi: np.concatenate([np.linspace(-1.0, -0.02, 12), np.linspace(0.01, 2.5, 100)])[:, None],
    bounds=lambda lo, hi: (np.array([-2.0]), np.array([4.0])),
)

def _pow4_grad(eta: Array, lx: Array) -> Array:
    x, d = np.exp(_row(lx)), np.exp(eta[:, 1:2])
    return np.stack([np.broadcast_to(-np.log(x + d), (len(eta), x.shape[1])), -eta[:, :1] * d / (x + d)], axis=2)


POW4 = Family(
    name="pow4", formula="E + A·(x + d)^-α", shape_names=("alpha", "d"), shape_transform=("id", "log"),
    log_phi=lambda eta, lx: -eta[:, :1] * np.log(np.exp(_row(lx)) + np.exp(eta[:, 1:2])),
    grad_log_phi=_pow4_grad,
    grid=lambda lo, hi: _product(np.linspace(0.05, 2.5, 25), lo * np.array([0.01, 0.1, 0.3, 1.0, 3.0, 10.0])),
    bounds=lambda lo, hi: (np.array([0.0, np.log(lo * 1e-3)]), np.array([4.0, np.log(hi * 1e2)])),
)

def _mmf4_grad(eta: Array, lx: Array) -> Array:
    k = np.exp(eta[:, 1:2])
    z = k * (_row(lx) - eta[:, :1])
    sig = _sigmoid(z)
    return np.stack([sig * k, -sig * z], axis=2)


def _wbl4_grad(eta: Array, lx: Array) -> Array:
    k = np.exp(eta[:, 1:2])
    z = k * (_row(lx) - eta[:, :1])
    ez = np.exp(z)
    return np.stack([ez * k, -ez * z], axis=2)


MMF4 = Family(
    name="mmf4", formula="E + A / (1 + (x/s)^k)", shape_names=("s", "k"), shape_transform=("log", "log"),
    log_phi=lambda eta, lx: -_softplus(np.exp(eta[:, 1:2]) * (_row(lx) - eta[:, :1])),
    grad_log_phi=_mmf4_grad,
    grid=lambda lo, hi: _product(np.geomspace(lo / 30, hi * 10, 16), np.array([0.15, 0.3, 0.5, 0.8, 1.2, 2.0])),
    bounds=lambda lo, hi: (np.log([lo / 1e3, 0.02]), np.log([hi * 1e3, 30.0])),
)

WBL4 = Family(
    name="wbl4", formula="E + A·exp(−(x/s)^k)", shape_names=("s", "k"), shape_transform=("log", "log"),
    log_phi=lambda eta, lx: -np.exp(np.exp(eta[:, 1:2]) * (_row(lx) - eta[:, :1])),
    grad_log_phi=_wbl4_grad,
    grid=lambda lo, hi: _product(np.geomspace(lo / 30, hi * 10, 16), np.array([0.05, 0.1, 0.2, 0.35, 0.6, 1.0])),
    bounds=lambda lo, hi: (np.log([lo / 1e3, 0.02]), np.log([hi * 1e3, 30.0])),
)


def _bnsl_log_phi(eta: Array, lx: Array) -> Array:
    c0, c1, log_d, f = eta[:, :1], eta[:, 1:2], eta[:, 2:3], np.exp(eta[:, 3:4])
    return -c0 * _row(lx) - c1 * f * _softplus((_row(lx) - log_d) / f)


def _bnsl_grad(eta: Array, lx: Array) -> Array:
    c1, log_d, f = eta[:, 1:2], eta[:, 2:3], np.exp(eta[:, 3:4])
    u = (_row(lx) - log_d) / f
    sp, sig = _softplus(u), _sigmoid(u)
    return np.stack([np.broadcast_to(-_row(lx), u.shape), -f * sp, c1 * sig, -c1 * f * (sp - u * sig)], axis=2)


BNSL = Family(
    name="bnsl", formula="E + A·x^-c0·(1 + (x/d)^(1/f))^(-c1·f)", shape_names=("c0", "c1", "d", "f"),
    shape_transform=("id", "id", "log", "log"), log_phi=_bnsl_log_phi, grad_log_phi=_bnsl_grad,
    grid=lambda lo, hi: _product(np.array([0.0, 0.15, 0.35, 0.7]), np.array([-0.5, -0.2, 0.2, 0.5, 1.0]),
                                 np.geomspace(lo, hi, 5), np.array([0.3, 1.0])),
    bounds=lambda lo, hi: (np.array([-2.0, -10.0, np.log(lo / 10), np.log(0.02)]),
                           np.array([4.0, 10.0, np.log(hi * 10), np.log(10.0)])),
)

FAMILIES: dict[str, Family] = {f.name: f for f in (POW3, POW4, MMF4, WBL4, BNSL)}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown curve family {name!r} (known: {', '.join(FAMILIES)})") from None
