"""From the shared trainer's results to a study's trial outputs (shared by the studies' ``run`` and
``run_batch``): a :class:`~bitterlab.train.trainer.Diverged` member becomes the engine's
:class:`~bitterlab.engine.run.Diverged` failure, a :class:`~bitterlab.train.trainer.Trained` one the
cost, convergence and curve fields of :class:`~bitterlab.study.TrialOutput`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bitterlab.engine.run import Diverged as DivergedError
from bitterlab.study import Trial, TrialOutput
from bitterlab.train.trainer import Diverged, Trained


def trial_output(trained: Trained, metrics: Mapping[str, float], validation: Mapping[str, float], *,
                 forward_flops: float | None = None) -> TrialOutput:
    """Test and validation metrics of a trained member, with its parameters, training FLOPs
    (``Trained.flops``: 3 × forward FLOPs per example seen), steps, convergence flag and curve."""
    return TrialOutput(metrics=dict(metrics), validation=dict(validation), params=trained.params,
                       flops=trained.flops(forward_flops), steps=trained.steps, converged=trained.converged,
                       curve=trained.curve)


def failure(result: Diverged) -> DivergedError:
    """The stored failure of a member whose loss stopped being finite."""
    return DivergedError(f"training {result.reason}")


def run_alone(run_batch: Callable[[list[Trial]], list[TrialOutput | Exception]], trial: Trial) -> TrialOutput:
    """A trial run as a batch of one (so ``run`` and ``run_batch`` share every line); raises its failure."""
    (out,) = run_batch([trial])
    if isinstance(out, Exception):
        raise out
    return out
