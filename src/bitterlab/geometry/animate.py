"""Side-by-side animation of the Fisher–Rao, Wasserstein and mixture paths between two distributions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib import animation
from matplotlib.figure import Figure

from bitterlab.geometry._support import as_value, is_1d
from bitterlab.geometry._support import name as kind
from bitterlab.geometry.distributions import Discrete
from bitterlab.geometry.geodesics import fisher_rao_geodesic, mixture_geodesic, wasserstein_geodesic

PATHS = {"Fisher–Rao": fisher_rao_geodesic, "Wasserstein (W2)": wasserstein_geodesic, "mixture": mixture_geodesic}


def _range(p, q) -> tuple[float, float]:
    lows, highs = [], []
    for d in (p, q):
        if isinstance(d, Discrete):
            lows.append(d.points.min())
            highs.append(d.points.max())
        else:
            lo, hi = d.mean - 4 * d.std, d.mean + 4 * d.std
            lows.append(lo)
            highs.append(hi)
    pad = 0.1 * (max(highs) - min(lows) or 1.0)
    return min(lows) - pad, max(highs) + pad


def geodesic_animation(p, q, out: str | Path, *, frames: int = 30, fps: int = 10,
                       progress: Callable[[int, int], None] | None = None) -> Path:
    """Write a GIF (Pillow) or MP4 (ffmpeg) of the three paths from p to q, one panel each, with the
    density (or point masses) at t and a frame counter. 1-D distributions only (normals, point masses,
    categoricals, samples); a path that is not defined between p and q is left out."""
    out = Path(out)
    kinds = f"{kind(p)} and {kind(q)}"  # as given (samples are Empirical before they become Discrete)
    p, q = as_value(p), as_value(q)
    if not (is_1d(p) and is_1d(q)):
        raise ValueError(f"geodesic animates 1-D distributions (normal, points, categorical, samples), got {kinds}")
    if out.suffix not in (".gif", ".mp4"):
        raise ValueError(f"animation file must end in .gif or .mp4, got {out.name!r}")
    if out.suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise ValueError("writing .mp4 needs ffmpeg on PATH (apt-get install ffmpeg); .gif needs nothing")
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    if fps < 1:
        raise ValueError(f"fps must be at least 1, got {fps}")
    paths = {}
    for name, make in PATHS.items():
        try:
            paths[name] = make(p, q)
        except ValueError:
            continue  # e.g. no Fisher–Rao path between a normal and a point mass
    if not paths:
        raise ValueError(f"no geodesic is defined between {kinds}: the paths need two normals "
                         "or two discrete distributions (points, categorical, samples)")
    lo, hi = _range(p, q)
    xs = np.linspace(lo, hi, 400)
    ts = np.linspace(0, 1, frames)
    peak = max(_height(paths[n](t), xs) for n in paths for t in ts[:: max(1, frames // 10)])
    fig = Figure(figsize=(4.2 * len(paths), 3.4))  # no pyplot: no backend chosen, nothing to close
    axes = fig.subplots(1, len(paths), squeeze=False)
    fig.subplots_adjust(top=0.8, bottom=0.15, wspace=0.3)
    counter = fig.suptitle("")

    def draw(k: int):
        t = ts[k]
        for ax, (name, path) in zip(axes[0], paths.items(), strict=True):
            ax.clear()
            for end, style in ((path(0.0), ":"), (path(1.0), ":")):
                _plot(ax, end, xs, color="0.6", linestyle=style)
            _plot(ax, path(t), xs, color="tab:blue", linestyle="-")
            ax.set_xlim(lo, hi)
            ax.set_ylim(0, 1.1 * peak)
            ax.set_title(name)
        counter.set_text(f"t = {t:.2f}   (frame {k + 1}/{frames})")
        return []

    anim = animation.FuncAnimation(fig, draw, frames=frames, blit=False)
    writer = animation.PillowWriter(fps=fps) if out.suffix == ".gif" else animation.FFMpegWriter(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    anim.save(out, writer=writer, dpi=80,
              progress_callback=(lambda i, n: progress(i + 1, n)) if progress else None)
    return out


def _height(d, xs) -> float:
    return float(d.weights.max()) if isinstance(d, Discrete) else float(np.max(d.pdf(xs)))


def _plot(ax, d, xs, **style) -> None:
    if isinstance(d, Discrete):
        ax.vlines(d.points, 0, d.weights, colors=style["color"], linestyles=style["linestyle"], linewidth=2)
    else:
        ax.plot(xs, d.pdf(xs), **style)
