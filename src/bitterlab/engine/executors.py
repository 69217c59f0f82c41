"""Executors: where trials run. Each yields results as trials finish; the driver writes them.

``InlineExecutor`` runs in this process (tests, debugging). ``ProcessExecutor`` runs a pool of
local worker processes, each with one torch thread (on a 2-core machine a small model given two
threads while both cores are busy ran ~30x slower than with one). ``RayExecutor``
(:mod:`bitterlab.engine.ray_executor`) runs on a Ray cluster. With ``batch`` (the default), trials
that differ only by seed are one unit of work, trained as one batched model when the study has
``run_batch`` (:mod:`bitterlab.engine.batch`). A worker that dies (``kill -9``, out of memory)
breaks the pool: the pool is rebuilt and the units in flight are split into their trials, each
retried alone at most ``max_attempts`` times, after which it is recorded as failed with the reason.
A worker whose driver dies ends within a fraction of a second (:func:`watch_parent`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bitterlab.engine.batch import group_trials, largest_first
from bitterlab.engine.result import Result
from bitterlab.engine.run import base_fields, run_group
from bitterlab.study import Trial


class Executor(Protocol):
    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        """Run ``trials`` and yield each result as it finishes (order not guaranteed)."""
        ...


PARENT_POLL_S = 0.25  # how often a worker checks that its driver is still alive


def watch_parent(parent: int, interval: float = PARENT_POLL_S) -> threading.Thread:
    """End this process as soon as ``parent`` is no longer its parent (the driver died, even by
    ``kill -9``, and the worker was re-parented): a daemon thread polls ``os.getppid()``. Without it, an
    orphaned worker runs its trial to the end (minutes, ~500 MB) and the pool's resource tracker,
    which waits for every holder of its pipe, lives on with it. A thread rather than Linux's
    ``PR_SET_PDEATHSIG``, which fires when the spawning *thread* exits, and exists on Linux only."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # no cleanup to run: the driver that would receive our results is gone

    thread = threading.Thread(target=watch, name="bitterlab-watch-parent", daemon=True)
    thread.start()
    return thread


def init_worker() -> None:
    """One thread per worker process (for torch and the BLAS under NumPy), memory kept for reuse; end with
    the driver."""
    spawner = mp.parent_process()  # the driver's pid, even if it died before we got here
    watch_parent(spawner.pid if spawner is not None and spawner.pid is not None else os.getppid())
    from bitterlab.train.worker import setup_worker

    setup_worker()


@dataclass(frozen=True)
class InlineExecutor:
    """Runs trials one unit after another in the calling process."""

    batch: bool = True

    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        for unit in group_trials(trials, batch=self.batch):
            yield from run_group(unit)


def lost(trial: Trial, attempts: int) -> Result:
    """The failed result of a trial whose worker died ``attempts`` times."""
    return Result(**base_fields(trial), status="failed",
                  reason=f"worker died {attempts} times while running this trial")


def _run_marked(unit: list[Trial], marks: str) -> list[Result]:
    """Run a unit in a worker, leaving a marker file while it runs (to tell who was in flight)."""
    mark = Path(marks) / unit[0].key
    mark.touch()
    results = run_group(unit)
    mark.unlink()
    return results


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` spawned processes set up by :func:`init_worker` (one thread each, ending with the driver)."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=init_worker)


@dataclass(frozen=True)
class ProcessExecutor:
    """A pool of ``jobs`` local processes (spawned, one torch thread each).

    When a worker dies the pool breaks. Units that were queued go back to the pool; units that were
    in flight (their marker file exists) are suspects: their trials are rerun alone, one at a time,
    so a death is blamed on the trial that caused it: after ``max_attempts`` deaths running alone,
    that trial is recorded as failed.
    """

    jobs: int = 2
    max_attempts: int = 3
    batch: bool = True

    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        pending, suspects = largest_first(group_trials(trials, batch=self.batch)), []
        attempts = {t.key: 0 for t in trials}
        with tempfile.TemporaryDirectory(prefix="bitterlab-marks-") as marks:
            while pending or suspects:
                if pending:
                    pending, broken = [], pending
                    for unit, results in self._round(broken, marks):
                        if results is not None:
                            yield from results
                        elif (Path(marks) / unit[0].key).exists():
                            suspects.extend(unit)
                        else:
                            pending.append(unit)
                    for mark in Path(marks).iterdir():
                        mark.unlink()
                    continue
                trial = suspects.pop(0)
                ((_, results),) = self._round([[trial]], marks, jobs=1)
                if results is not None:
                    yield from results
                    continue
                attempts[trial.key] += 1
                if attempts[trial.key] >= self.max_attempts:
                    yield lost(trial, attempts[trial.key])
                else:
                    suspects.append(trial)

    def _round(self, units: list[list[Trial]], marks: str, jobs: int | None = None
               ) -> Iterator[tuple[list[Trial], list[Result] | None]]:
        """Run units in one pool; yield (unit, results), or (unit, None) if the pool broke under it."""
        pool = worker_pool(jobs or self.jobs)
        futures: dict[Future[list[Result]], list[Trial]] = {pool.submit(_run_marked, u, marks): u for u in units}
        broken = False
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    unit = futures.pop(fut)
                    try:
                        yield unit, fut.result()
                    except BrokenProcessPool:
                        broken = True
                        yield unit, None
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)


EXECUTORS: tuple[str, ...] = ("inline", "process", "ray")


def make_executor(name: str, *, jobs: int = 2, batch: bool = True, address: str | None = None) -> Executor:
    """An executor by name: ``inline``, ``process`` (``jobs`` workers) or ``ray`` (a local instance with
    ``jobs`` CPUs, or the cluster at ``address``)."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    if address is not None and name != "ray":
        raise ValueError("--address is for --executor ray")
    if name == "inline":
        return InlineExecutor(batch=batch)
    if name == "process":
        return ProcessExecutor(jobs=jobs, batch=batch)
    if name == "ray":
        from bitterlab.engine.ray_executor import RayExecutor, ray_available

        if not ray_available():
            raise ValueError("--executor ray needs Ray: pip install 'bitterlab[ray]'")
        return RayExecutor(jobs=jobs, batch=batch, address=address)
    raise ValueError(f"unknown executor {name!r} (choose from: {', '.join(EXECUTORS)})")
