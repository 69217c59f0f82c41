"""Robust, batched curve fitting: Huber loss of log-residuals, variable-projection starts and an
L-BFGS polish, for many weightings of the same points at once.

Objective (Hoffmann et al. 2022, §D.2; Besiroglu et al. 2024, §2), for each weighting b:

    J_b(θ) = Σᵢ w_bi · huber_δ(log L̂(xᵢ; θ) − log yᵢ),   δ = 1e-3,

huber_δ(r) = r²/2 for |r| ≤ δ and δ(|r| − δ/2) beyond. A weighting is a bootstrap resample (the
multiplicity of each point), a leave-one-scale-out fit (zeros on one scale) or a held-out fold
(zeros on the largest scales): all share the points, so every fit is one vectorised computation.

Starts (variable projection, Golub & Pereyra 1973; as the ``vpnls`` package does for scaling laws):
for each shape η on the family's grid, L̂ = E + A·φ(x; η) is linear in (E, A), and the weighted
relative-error least squares Σ w (1 − (E + Aφ)/y)² with E, A ≥ 0 has a closed-form solution
(interior, or one coefficient at zero). In an exhaustive fit every grid point then gets a short
polish and the best eight continue; otherwise (bootstrap replicates, with a warm start) the best
grid point of each of two regions of the grid is polished.

Polish: L-BFGS with a backtracking line search, one independent run per row, vectorised across
rows (the same method and stopping rule as scipy's L-BFGS-B, which Besiroglu et al. 2024 use).
The gradient of J is Σ w ψ(r) ∂r/∂θ with ψ(r) = clip(r, −δ, δ). A step is kept only if it lowers J,
so the result is never worse than its start, hence never worse than the best grid point: no fit
returns a minimum that the grid beats. (Speed: the curve is evaluated once per scale, not per point,
and when few rows are left in a line search the next halvings of each are tried in one call; both
leave each row's steps as they were, up to the order of floating-point sums.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import huber

from bitterlab.analysis.families import Family

DELTA = 1e-3  # Huber threshold on log-residuals (Hoffmann et al. 2022)
SCREEN = 25  # iterations of the short polish every grid point gets in an exhaustive fit
E_FLOOR = 1e-9  # E below this share of the smallest loss is zero to every prediction: the fit's floor on E
HALVINGS = 40  # the most step halvings of one line search
BLOCK = 64  # candidate points per objective call in a line search with few rows pending (speed only)


@dataclass(frozen=True)
class BatchFit:
    """Fits of one family under B weightings: θ (B, p) and the objective J_b at θ_b (B,)."""

    family: Family
    theta: np.ndarray
    objective: np.ndarray


def huber_objective(log_pred: np.ndarray, log_y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σᵢ w_bi · huber_δ(log_pred_bi − log yᵢ): shape (B,); non-finite predictions give +inf."""
    r = log_pred - log_y[None, :]
    with np.errstate(invalid="ignore"):
        val = (w * huber(DELTA, r)).sum(axis=1)
    return np.where(np.isfinite(val), val, np.inf)


def _censor(r: np.ndarray, censored: np.ndarray | None) -> np.ndarray:
    """Residuals of censored points ("at least this loss": the truth is ≥ y) count only where the
    curve predicts below them (r = log L̂ − log y < 0): r ↦ min(r, 0), a one-sided Huber loss (the
    robust analogue of the Tobit likelihood's survival term, Tobin 1958)."""
    return r if censored is None else np.where(censored[None, :], np.minimum(r, 0.0), r)


@dataclass(frozen=True)
class Design:
    """The points' scales: the distinct x values (log, (S,)), each point's scale index (n,), and the
    order that lists the points scale by scale with where each scale's run starts (for ``np.add.reduceat``:
    a per-row sum, the same whatever the number of rows, unlike a BLAS product). Seeds repeat each
    scale and the curve depends on x alone, so it is computed once per scale, not once per point."""

    log_x: np.ndarray
    at: np.ndarray
    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Design:
        xs, at = np.unique(np.asarray(x, float), return_inverse=True)
        at = at.reshape(-1)
        order = np.argsort(at, kind="stable")
        starts = np.searchsorted(at[order], np.arange(len(xs)))
        return cls(log_x=np.log(xs), at=at, order=order, starts=starts)

    def per_scale(self, v: np.ndarray) -> np.ndarray:
        """Σ over the points at each scale: (B, n) -> (B, S)."""
        return np.add.reduceat(v[:, self.order], self.starts, axis=1)


def value_and_grad(family: Family, theta: np.ndarray, x: np.ndarray | Design, log_y: np.ndarray,
                   w: np.ndarray, censored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """J_b(θ_b) and ∇J_b(θ_b), shapes (B,) and (B, p).

    With log L̂ = logaddexp(log E, log A + log φ): ∂/∂log E = E/L̂, ∂/∂log A = Aφ/L̂ and
    ∂/∂η = (Aφ/L̂)·∂log φ/∂η, the last factor from the family's analytic derivative. Every factor
    but ψ(r) depends on the point through its scale s alone, so ∇J = Σ_s (Σ_{i at s} w_i ψ(r_i)) ∂r_s/∂θ."""
    design = x if isinstance(x, Design) else Design.of(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        lphi = family.log_phi(theta[:, 2:], design.log_x)  # (B, S)
        term = theta[:, 1:2] + lphi
        lp = np.logaddexp(theta[:, :1], term)
        share_a = np.exp(term - lp)
        r = _censor(lp[:, design.at] - log_y[None, :], censored)  # (B, n)
        val = (w * huber(DELTA, r)).sum(axis=1)
        dr = design.per_scale(w * np.clip(r, -DELTA, DELTA))  # Σ w·ψ(r) per scale (0 for a censored point above)
        da = dr * share_a
        shape = np.einsum("bs,bsk->bk", da, family.grad_log_phi(theta[:, 2:], design.log_x))
        grad = np.concatenate([(dr - da).sum(axis=1)[:, None], da.sum(axis=1)[:, None], shape], axis=1)
    ok = np.isfinite(val) & np.all(np.isfinite(grad), axis=1)
    return np.where(ok, val, np.inf), np.where(ok[:, None], grad, 0.0)


def polish(family: Family, theta: np.ndarray, x: np.ndarray, log_y: np.ndarray, w: np.ndarray,
           *, max_iter: int = 1000, memory: int = 10, ftol: float = 1e-13, gtol: float = 1e-10,
           censored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise J_b from θ (B, p), each row on its own, by L-BFGS (Nocedal 1980; Nocedal & Wright 2006,
    Alg. 7.4/7.5) with a backtracking Armijo line search; vectorised over rows. Every accepted step
    lowers J, so no row ends worse than its start. The family's box on the shape parameters is kept by
    projection: components at a bound whose gradient points outward are frozen for the step, and the
    trial point is clipped (projected L-BFGS); log E is kept at or above log(``E_FLOOR`` · min y). Stops a row
    when the relative decrease is below ``ftol`` or the largest gradient entry below ``gtol`` (scipy's
    L-BFGS-B criteria, but the decrease is relative to J itself, not to max(J, 1): J is tiny on near-exact
    data). Returns (θ, J)."""
    lower, upper = family.box(float(x.min()), float(x.max()))
    # log E ≥ log(E_FLOOR · min y): where the data want E = 0, log E is a flat direction that L-BFGS
    # otherwise follows to −1,500 and beyond, until E underflows to 0 (a positive parameter reported as 0)
    lower[0] = max(lower[0], float(np.min(log_y)) + np.log(E_FLOOR))
    theta = np.clip(np.array(theta, float), lower, upper)
    b, p = theta.shape
    design = Design.of(x)
    val, grad = value_and_grad(family, theta, design, log_y, w, censored)
    s_mem, y_mem, rho = np.zeros((b, memory, p)), np.zeros((b, memory, p)), np.zeros((b, memory))
    active = np.isfinite(val)
    first = np.ones(b, bool)
    for _ in range(max_iter):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        th, sm, ym, rh = theta[idx], s_mem[idx], y_mem[idx], rho[idx]
        stuck = ((th <= lower) & (grad[idx] > 0)) | ((th >= upper) & (grad[idx] < 0))
        g = np.where(stuck, 0.0, grad[idx])  # the projected gradient
        # two-loop recursion, newest pair at index 0
        q, alphas = g.copy(), np.zeros((len(idx), memory))
        for j in range(memory):
            alphas[:, j] = rh[:, j] * np.einsum("bp,bp->b", sm[:, j], q)
            q -= alphas[:, j, None] * ym[:, j]
        yy = np.einsum("bp,bp->b", ym[:, 0], ym[:, 0])
        gamma = np.where(rh[:, 0] > 0, np.einsum("bp,bp->b", sm[:, 0], ym[:, 0]) / np.where(yy > 0, yy, 1.0), 1.0)
        r = gamma[:, None] * q
        for j in reversed(range(memory)):
            beta = rh[:, j] * np.einsum("bp,bp->b", ym[:, j], r)
            r += sm[:, j] * (alphas[:, j] - beta)[:, None]
        d = np.where(stuck, 0.0, -r)
        slope = np.einsum("bp,bp->b", g, d)
        uphill = ~(slope < 0)
        d[uphill], slope[uphill] = -g[uphill], -np.einsum("bp,bp->b", g[uphill], g[uphill])
        gnorm = np.abs(g).max(axis=1)
        step = np.where(first[idx], np.minimum(1.0, 1.0 / np.maximum(gnorm, 1e-300)), 1.0)
        new_theta, new_val, new_grad = th.copy(), val[idx].copy(), grad[idx].copy()
        pending = np.ones(len(idx), bool)
        tried = 0
        while tried < HALVINGS:  # backtracking: halve the step until the Armijo condition holds
            k = np.nonzero(pending)[0]
            if len(k) == 0:
                break
            # the next m halvings of each pending row at once (m > 1 only when few rows are pending):
            # the first that passes is the one the one-at-a-time search would have taken
            m = max(1, min(HALVINGS - tried, BLOCK // len(k)))
            steps = step[k, None] * 0.5 ** np.arange(m)  # (K, m): exact, as halving is (unless subnormal)
            base, dk = np.repeat(th[k], m, axis=0), np.repeat(d[k], m, axis=0)
            cand = np.clip(base + steps.reshape(-1, 1) * dk, lower, upper)
            cv, cg = value_and_grad(family, cand, design, log_y, np.repeat(w[idx[k]], m, axis=0), censored)
            ok = (cv <= np.repeat(val[idx[k]], m) + 1e-4 * np.einsum("bp,bp->b", np.repeat(g[k], m, axis=0),
                                                                     cand - base)).reshape(-1, m)
            hit = ok.any(axis=1)
            pick = np.arange(len(k)) * m + ok.argmax(axis=1)
            acc = k[hit]
            new_theta[acc], new_val[acc], new_grad[acc] = cand[pick[hit]], cv[pick[hit]], cg[pick[hit]]
            pending[acc] = False
            step[k[~hit]] *= 0.5 ** m
            tried += m
        moved = ~pending
        s_new, y_new = new_theta - th, new_grad - grad[idx]
        sy = np.einsum("bp,bp->b", s_new, y_new)
        # curvature condition; and 1/sy finite (a subnormal sy made ρ = inf, and NaN steps until the pair aged out)
        keep = moved & (sy > 1e-12 * np.linalg.norm(s_new, axis=1) * np.linalg.norm(y_new, axis=1)) & (sy > 1e-300)
        rows = idx[keep]
        s_mem[rows] = np.roll(s_mem[rows], 1, axis=1)
        y_mem[rows] = np.roll(y_mem[rows], 1, axis=1)
        rho[rows] = np.roll(rho[rows], 1, axis=1)
        s_mem[rows, 0], y_mem[rows, 0], rho[rows, 0] = s_new[keep], y_new[keep], 1.0 / sy[keep]
        decrease = (val[idx] - new_val) / np.maximum(np.maximum(np.abs(val[idx]), np.abs(new_val)), 1e-300)
        theta[idx], val[idx], grad[idx] = new_theta, new_val, new_grad
        first[idx[moved]] = False
        free = ~(((new_theta <= lower) & (new_grad > 0)) | ((new_theta >= upper) & (new_grad < 0)))
        done = pending | (decrease <= ftol) | (np.abs(new_grad * free).max(axis=1) <= gtol)
        active[idx[done]] = False
    return theta, val


def varpro_starts(family: Family, x: np.ndarray, y: np.ndarray, w: np.ndarray, *, top: int = 6) -> np.ndarray:
    """``top`` starts per weighting, shape (B, top, p): (E, A) are solved exactly for every grid shape,
    the grid (an ordered product, so contiguous stretches are regions of shape space) is cut into
    ``top`` stretches, and the point with the lowest Huber objective in each stretch is kept — the
    grid's best point among them. Diverse starts find basins the best-ranked points all miss (a
    step-like pow3 at its exponent bound beat eight interior starts on flat, noisy data)."""
    eta = family.encode_shape(family.grid(float(x.min()), float(x.max())))  # (G, k)
    log_x, log_y = np.log(x), np.log(y)
    with np.errstate(over="ignore", under="ignore"):
        phi = np.exp(family.log_phi(eta, log_x))  # (G, n)
    u, v = 1 / y, phi / y[None, :]  # columns of E and A, relative to y
    suu, su = w @ (u * u), w @ u  # (B,)
    svv, sv, suv = w @ (v * v).T, w @ v.T, w @ (v * u[None, :]).T  # (B, G)
    sw = w.sum(axis=1)
    det = suu[:, None] * svv - suv**2
    with np.errstate(divide="ignore", invalid="ignore"):
        e_in = (su[:, None] * svv - sv * suv) / det
        a_in = (sv * suu[:, None] - su[:, None] * suv) / det
        e_only = np.broadcast_to((su / suu)[:, None], svv.shape)
        a_only = sv / svv
    interior = (det > 1e-14 * suu[:, None] * svv) & (e_in >= 0) & (a_in >= 0)

    def resid(e, a):
        return sw[:, None] - 2 * e * su[:, None] - 2 * a * sv + e * e * suu[:, None] + a * a * svv + 2 * e * a * suv

    cands = [(np.where(interior, e_in, 0.0), np.where(interior, a_in, 0.0), interior),
             (e_only, np.zeros_like(a_only), np.ones_like(interior)),
             (np.zeros_like(e_only), np.where(np.isfinite(a_only), a_only, 0.0), np.isfinite(a_only))]
    with np.errstate(invalid="ignore", over="ignore"):
        res = np.stack([np.where(ok, resid(e, a), np.inf) for e, a, ok in cands])  # (3, B, G)
    pick = np.argmin(res, axis=0)
    e = np.choose(pick, [c[0] for c in cands])
    a = np.choose(pick, [c[1] for c in cands])
    floor = E_FLOOR * float(y.min())
    log_e, log_a = np.log(np.maximum(e, floor)), np.log(np.maximum(a, floor))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        log_pred = np.logaddexp(log_e[:, :, None], log_a[:, :, None] + np.log(np.maximum(phi, 1e-300))[None])
        obj = (w[:, None, :] * huber(DELTA, log_pred - log_y)).sum(axis=2)  # (B, G)
    obj = np.where(np.isfinite(obj), obj, np.inf)
    stretches = np.array_split(np.arange(len(eta)), min(top, len(eta)))
    best = np.stack([chunk[np.argmin(obj[:, chunk], axis=1)] for chunk in stretches], axis=1)  # (B, top)
    b_idx = np.arange(len(w))[:, None]
    return np.concatenate([log_e[b_idx, best][..., None], log_a[b_idx, best][..., None], eta[best]], axis=2)


def _distinct_best(theta: np.ndarray, obj: np.ndarray, n: int) -> np.ndarray:
    """Indices (U, n) of the ``n`` lowest objectives per row whose (log A, η) differ at 3 decimals:
    many grid starts slide into the same basin (e.g. E → 0 on the boundary, where log E is flat), and
    ``n`` copies of it would crowd out the start that leads to the true minimum. Rows with fewer
    distinct points are filled with the best remaining ones."""
    out = np.empty((len(obj), n), int)
    for u in range(len(obj)):
        order = np.argsort(obj[u])
        seen, picked = set(), []
        for i in order:
            key = tuple(np.round(theta[u, i, 1:], 3))
            if key not in seen:
                seen.add(key)
                picked.append(i)
                if len(picked) == n:
                    break
        rest = [i for i in order if i not in set(picked)]
        out[u] = (picked + rest)[:n]
    return out


def fit_batch(family: Family, x, y, weights, *, n_polish: int = 8, extra_starts: np.ndarray | None = None,
              exhaustive: bool = True, ftol: float = 1e-13, max_iter: int = 1000,
              censored: np.ndarray | None = None) -> BatchFit:
    """Fit ``family`` to the points (x, y) under each row of ``weights`` (B, n).

    ``exhaustive``: every grid point is polished for ``SCREEN`` iterations, and the best ``n_polish``
    distinct ones (not ``n_polish`` copies of one basin) continue to convergence — so the fit matches what polishing the whole grid would find,
    up to basins that only reveal themselves late. Otherwise the best grid point of each of
    ``n_polish`` regions of the grid is polished. ``extra_starts`` (B, p), e.g. the fit to all the
    data as a warm start for bootstrap replicates, are polished too; the best result is kept.
    ``censored`` (n,) marks points that are lower bounds ("at least this loss"): the starts ignore
    them, the objective counts them only where the curve falls below them.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.atleast_2d(np.asarray(weights, float))
    if w.shape[1] != len(x):
        raise ValueError("weights must have one column per point")
    # bootstrap resamples of a few seeds repeat: fit each distinct weighting once
    w, back = np.unique(w, axis=0, return_inverse=True)
    back = back.reshape(-1)
    log_y = np.log(y)
    w_start = w if censored is None else w * ~np.asarray(censored, bool)[None, :]
    censored = None if censored is None or not np.any(censored) else np.asarray(censored, bool)
    if exhaustive:
        grid = len(family.grid(float(x.min()), float(x.max())))
        starts = varpro_starts(family, x, y, w_start, top=grid)  # (U, G, p): every grid point
        u, g, p = starts.shape
        theta, obj = polish(family, starts.reshape(u * g, p), x, log_y, np.repeat(w, g, axis=0), max_iter=SCREEN,
                            censored=censored)
        keep = _distinct_best(theta.reshape(u, g, p), obj.reshape(u, g), n_polish)
        starts = theta.reshape(u, g, p)[np.arange(u)[:, None], keep]
    elif n_polish > 0:
        starts = varpro_starts(family, x, y, w_start, top=n_polish)  # (U, k, p)
    else:  # the extra starts alone (a warm start for small perturbations of the data)
        if extra_starts is None:
            raise ValueError("fit_batch: n_polish=0 needs extra_starts")
        starts = np.zeros((len(w), 0, family.n_params))
    if extra_starts is not None:
        extra = np.asarray(extra_starts, float)
        extra = np.broadcast_to(extra, (len(back), extra.shape[-1]))
        first = np.zeros(len(w), int)
        first[back[::-1]] = np.arange(len(back))[::-1]  # one original row per distinct weighting
        starts = np.concatenate([starts, extra[first][:, None, :]], axis=1)
    u, k, p = starts.shape
    theta, obj = polish(family, starts.reshape(u * k, p), x, log_y, np.repeat(w, k, axis=0), ftol=ftol,
                        max_iter=max_iter, censored=censored)
    theta, obj = theta.reshape(u, k, p), obj.reshape(u, k)
    best = np.argmin(obj, axis=1)
    theta, obj = theta[np.arange(u), best], obj[np.arange(u), best]
    return BatchFit(family=family, theta=theta[back], objective=obj[back])
