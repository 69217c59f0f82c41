"""Executors: where trials run. Each yields results as trials finish; the driver writes them.

``InlineExecutor`` runs in this process (tests, debugging). ``ProcessExecutor`` runs a pool of
local worker processes, each with one torch thread (on a 2-core machine a small model given two
threads while both cores are busy ran ~30x slower than with one). A worker that dies (``kill -9``,
out of memory) breaks the pool: the pool is rebuilt and the trials in flight are retried, at most
``max_attempts`` times, after which they are recorded as failed with the reason.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bitterlab.engine.result import Result
from bitterlab.engine.run import library_versions, run_trial
from bitterlab.study import Trial


class Executor(Protocol):
    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        """Run ``trials`` and yield each result as it finishes (order not guaranteed)."""
        ...


def init_worker() -> None:
    """One thread per worker process, for torch and the BLAS under NumPy."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@dataclass(frozen=True)
class InlineExecutor:
    """Runs trials one after another in the calling process."""

    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        for trial in trials:
            yield run_trial(trial)


def _lost(trial: Trial, attempts: int) -> Result:
    return Result(key=trial.key, study=trial.study, version=trial.version, task=trial.task,
                  contender=trial.contender, role=trial.role, x=trial.x, seed=trial.seed, budget=trial.budget,
                  status="failed", reason=f"worker died {attempts} times while running this trial",
                  device=trial.device, versions=library_versions())


def _run_marked(trial: Trial, marks: str) -> Result:
    """Run a trial in a worker, leaving a marker file while it runs (to tell who was in flight)."""
    mark = Path(marks) / trial.key
    mark.touch()
    result = run_trial(trial)
    mark.unlink()
    return result


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=init_worker)


@dataclass(frozen=True)
class ProcessExecutor:
    """A pool of ``jobs`` local processes (spawned, one torch thread each).

    When a worker dies the pool breaks. Trials that were queued go back to the pool; trials that
    were in flight (their marker file exists) are suspects and are rerun alone, one at a time, so a
    death is blamed on the trial that caused it: after ``max_attempts`` deaths running alone, that
    trial is recorded as failed.
    """

    jobs: int = 2
    max_attempts: int = 3

    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        pending, suspects = list(trials), []
        attempts = {t.key: 0 for t in trials}
        with tempfile.TemporaryDirectory(prefix="bitterlab-marks-") as marks:
            while pending or suspects:
                if pending:
                    pending, broken = [], pending
                    for trial, result in self._round(broken, marks):
                        if result is not None:
                            yield result
                        elif (Path(marks) / trial.key).exists():
                            suspects.append(trial)
                        else:
                            pending.append(trial)
                    for mark in Path(marks).iterdir():
                        mark.unlink()
                    continue
                trial = suspects.pop(0)
                ((_, result),) = self._round([trial], marks, jobs=1)
                if result is not None:
                    yield result
                    continue
                attempts[trial.key] += 1
                if attempts[trial.key] >= self.max_attempts:
                    yield _lost(trial, attempts[trial.key])
                else:
                    suspects.append(trial)

    def _round(self, trials: list[Trial], marks: str, jobs: int | None = None) -> Iterator[tuple[Trial, Result | None]]:
        """Run trials in one pool; yield (trial, result), or (trial, None) if the pool broke under it."""
        pool = _pool(jobs or self.jobs)
        futures: dict[Future[Result], Trial] = {pool.submit(_run_marked, t, marks): t for t in trials}
        broken = False
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    trial = futures.pop(fut)
                    try:
                        yield trial, fut.result()
                    except BrokenProcessPool:
                        broken = True
                        yield trial, None
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)


EXECUTORS: tuple[str, ...] = ("inline", "process")


def make_executor(name: str, *, jobs: int = 2) -> Executor:
    """An executor by name: ``inline`` or ``process`` (``jobs`` workers)."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    if name == "inline":
        return InlineExecutor()
    if name == "process":
        return ProcessExecutor(jobs=jobs)
    raise ValueError(f"unknown executor {name!r} (choose from: {', '.join(EXECUTORS)})")
