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


def base_fields(trial: Trial) -> dict:
    """The fields of a trial's result that do not depend on its outcome."""
    return dict(key=trial.key, study=trial.study, version=trial.version, task=trial.task,
                contender=trial.contender, role=trial.role, x=trial.x, x2=trial.x2, seed=trial.seed,
                budget=trial.budget, device=trial.device, versions=library_versions(), tuned=dict(trial.tuned))


def metric_problem(trial: Trial, out: TrialOutput) -> str | None:
    """Why ``out`` breaks the study's metric contract, or ``None``: the test metrics must be exactly the
    declared ones, the validation metrics declared ones, and a tuned trial must report the main metric
    on validation (the engine selects its grid point by it)."""
    if not trial.metrics:
        return None
    declared = set(trial.metrics)
    missing, extra = sorted(declared - set(out.metrics)), sorted(set(out.metrics) - declared)
    parts = []
    if missing:
        parts.append(f"missing declared metric(s) {', '.join(missing)}")
    if extra:
        parts.append(f"undeclared metric(s) {', '.join(extra)}")
    extra_val = sorted(set(out.validation) - declared)
    if extra_val:
        parts.append(f"undeclared validation metric(s) {', '.join(extra_val)}")
    censored = sorted(set(out.censored) - set(trial.censorable))
    if censored:
        parts.append(f"censored metric(s) {', '.join(censored)} the study does not declare censorable")
    if trial.tuned and trial.metric and trial.metric not in out.validation:
        parts.append(f"no validation value of the main metric {trial.metric!r}, which selects tuned options")
    return "; ".join(parts) or None


def to_result(trial: Trial, out: TrialOutput | BaseException, wall: float) -> Result:
    """The stored result of a trial's output or of the exception it raised.

    A non-finite metric or a :class:`Diverged` is a failure with its reason; so is an output whose
    metrics are not the declared ones (the reason names the missing or extra metric); any other
    exception is a failure whose reason is the exception's last line."""
    base = base_fields(trial)
    if isinstance(out, Diverged):
        return Result(**base, status="failed", reason=f"diverged: {out}", wall_s=wall)
    if isinstance(out, BaseException):
        last = traceback.format_exception_only(type(out), out)[-1].strip()
        return Result(**base, status="failed", reason=f"error: {last}", wall_s=wall)
    metrics = {k: float(v) for k, v in out.metrics.items()}
    validation = {k: float(v) for k, v in out.validation.items()}
    cost = dict(params=int(out.params), flops=float(out.flops), steps=int(out.steps), wall_s=wall,
                validation=validation, converged=None if out.converged is None else bool(out.converged),
                curve=out.curve, censored=tuple(out.censored))
    problem = metric_problem(trial, out)
    if problem:
        return Result(**base, status="failed", reason=f"error: {problem}", metrics=metrics, **cost)
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    bad += sorted(f"validation {k}" for k, v in validation.items() if not math.isfinite(v))
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
