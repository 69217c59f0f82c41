"""Run what is missing of a study's declared grid, writing each result as it arrives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bitterlab.engine.executors import Executor
from bitterlab.engine.result import Result
from bitterlab.engine.store import Store
from bitterlab.study import Trial


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    total: int  # trials in the declared grid
    skipped: int  # already in the store
    ran: int  # run now
    failed: int  # of those run now, recorded as failed
    skipped_failed: int = 0  # of those skipped, stored as failed (rerun them with retry_failed=True)


def missing(trials: list[Trial], store: Store, *, retry_failed: bool = False) -> list[Trial]:
    """Trials whose key is not in the store yet (or failed, with ``retry_failed``)."""
    done = store.keys() if not retry_failed else store.keys(status="ok")
    return [t for t in trials if t.key not in done]


def run_study(trials: list[Trial], store: Store, executor: Executor, *, retry_failed: bool = False,
              on_result: Callable[[Result], None] | None = None) -> RunSummary:
    """Run the missing trials; each result is committed before the next is awaited, and the store is
    checkpointed before the summary is returned (:meth:`Store.checkpoint` raises if it cannot be)."""
    todo = missing(trials, store, retry_failed=retry_failed)
    stored_failed = set() if retry_failed else store.keys(status="failed")
    failed = 0
    for result in executor.map(todo):
        store.write(result)
        failed += result.status == "failed"
        if on_result is not None:
            on_result(result)
    store.checkpoint()
    return RunSummary(total=len(trials), skipped=len(trials) - len(todo), ran=len(todo), failed=failed,
                      skipped_failed=sum(t.key in stored_failed for t in trials))
