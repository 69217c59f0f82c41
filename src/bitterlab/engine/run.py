"""``run_trial(trial) -> Result``: the one function every executor calls."""

from __future__ import annotations

import math
import platform
import random
import time
import traceback

import numpy as np

from bitterlab.engine.result import Result
from bitterlab.study import Trial


class Diverged(RuntimeError):
    """Raised by training code when the loss stops being finite; stored as a failed trial."""


def library_versions() -> dict[str, str]:
    import torch

    from bitterlab import __version__

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "bitterlab": __version__}


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_trial(trial: Trial) -> Result:
    """Run one trial in this process and return its result; never raises for a trial's own failure.

    A non-finite metric or a :class:`Diverged` is a failure with its reason; any other exception is
    a failure whose reason is the exception's last line. Seeds Python, NumPy and torch first, so the
    same trial on the same device gives the same numbers.
    """
    base = dict(key=trial.key, study=trial.study, version=trial.version, task=trial.task,
                contender=trial.contender, role=trial.role, x=trial.x, seed=trial.seed,
                budget=trial.budget, device=trial.device, versions=library_versions())
    seed_everything(trial.seed)
    start = time.perf_counter()
    try:
        out = trial.run(trial)
    except Diverged as exc:
        return Result(**base, status="failed", reason=f"diverged: {exc}", wall_s=time.perf_counter() - start)
    except Exception as exc:  # a trial's bug or bad data must not kill the sweep
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Result(**base, status="failed", reason=f"error: {last}", wall_s=time.perf_counter() - start)
    wall = time.perf_counter() - start
    metrics = {k: float(v) for k, v in out.metrics.items()}
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    cost = dict(params=int(out.params), flops=float(out.flops), steps=int(out.steps), wall_s=wall)
    if bad:
        return Result(**base, status="failed", reason=f"diverged: non-finite metric(s) {', '.join(bad)}",
                      metrics=metrics, **cost)
    return Result(**base, status="ok", metrics=metrics, **cost)
