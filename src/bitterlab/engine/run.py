"""``run_trial(trial) -> Result``: the one function every executor calls."""

from __future__ import annotations

import math
import platform
import random
import time
import traceback

import numpy as np

from bitterlab.engine.result import Result
from bitterlab.study import Trial, TrialOutput


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


def _base(trial: Trial) -> dict:
    return dict(key=trial.key, study=trial.study, version=trial.version, task=trial.task,
                contender=trial.contender, role=trial.role, x=trial.x, x2=trial.x2, seed=trial.seed,
                budget=trial.budget, device=trial.device, versions=library_versions())


def to_result(trial: Trial, out: TrialOutput | BaseException, wall: float) -> Result:
    """The stored result of a trial's output or of the exception it raised.

    A non-finite metric or a :class:`Diverged` is a failure with its reason; any other exception is
    a failure whose reason is the exception's last line."""
    base = _base(trial)
    if isinstance(out, Diverged):
        return Result(**base, status="failed", reason=f"diverged: {out}", wall_s=wall)
    if isinstance(out, BaseException):
        last = traceback.format_exception_only(type(out), out)[-1].strip()
        return Result(**base, status="failed", reason=f"error: {last}", wall_s=wall)
    metrics = {k: float(v) for k, v in out.metrics.items()}
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    cost = dict(params=int(out.params), flops=float(out.flops), steps=int(out.steps), wall_s=wall)
    if bad:
        return Result(**base, status="failed", reason=f"diverged: non-finite metric(s) {', '.join(bad)}",
                      metrics=metrics, **cost)
    return Result(**base, status="ok", metrics=metrics, **cost)


def run_trial(trial: Trial) -> Result:
    """Run one trial in this process and return its result; never raises for a trial's own failure.

    Seeds Python, NumPy and torch first, so the same trial on the same device gives the same numbers.
    """
    seed_everything(trial.seed)
    start = time.perf_counter()
    try:
        out: TrialOutput | BaseException = trial.run(trial)
    except Exception as exc:  # a trial's bug or bad data must not kill the sweep
        out = exc
    return to_result(trial, out, time.perf_counter() - start)


def run_group(trials: list[Trial]) -> list[Result]:
    """Run a group of trials (by default, trials that differ only by seed; see
    :func:`bitterlab.engine.batch.batch_key`): together through the study's ``run_batch`` when it has
    one (wall time shared equally), else one by one. If the batch itself raises, each trial is rerun
    alone, so one bad trial cannot take its batch-mates down with it."""
    if len(trials) == 1 or trials[0].run_batch is None:
        return [run_trial(t) for t in trials]
    seed_everything(trials[0].seed)
    start = time.perf_counter()
    try:
        outs = trials[0].run_batch(list(trials))
    except Exception:
        return [run_trial(t) for t in trials]
    wall = (time.perf_counter() - start) / len(trials)
    return [to_result(t, o, wall) for t, o in zip(trials, outs, strict=True)]
