"""The Ray executor: units of work (a trial, or trials batched by seed) as Ray tasks on a cluster.

With no address it starts a local Ray instance with ``jobs`` CPUs and no dashboard; with an
address (``ray://host:10001`` or ``host:6379``) it joins that cluster, whose nodes must have
bitterlab installed (``pip install 'bitterlab[ray]'``). Each task takes one CPU and one torch
thread. The driver alone writes the store: results come back to it as tasks finish.

A task whose worker process dies (killed, out of memory, node lost) raises a system error in the
driver; its trials are then resubmitted one by one, each at most ``max_attempts`` times in all,
after which it is recorded as failed — the same rule as the process executor. Ray's own task
retries are off (``max_retries=0``) so that every death is counted here.

Ray pickles a trial's functions by reference (module and name), so workers must import the study's
module. A study loaded from a file (``bitterlab run my_study.py:STUDY``) is not importable there: its
module is registered with :func:`pickle_by_value`, and its functions then travel by value.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bitterlab.engine.batch import group_trials, largest_first
from bitterlab.engine.executors import lost
from bitterlab.engine.result import Result
from bitterlab.engine.run import run_group
from bitterlab.study import Trial


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


_BY_VALUE: set[str] = set()  # modules whose functions are pickled by value for the workers


def pickle_by_value(module: str) -> None:
    """Send the functions of ``module`` (already imported) to Ray workers by value: for a module that
    exists only on the driver, e.g. a study loaded from a file."""
    _BY_VALUE.add(module)


def _run_unit(unit: list[Trial]) -> list[Result]:
    """Body of the Ray task: one torch thread, then the unit."""
    from bitterlab.train.worker import setup_worker

    setup_worker()
    return run_group(unit)


@dataclass(frozen=True)
class RayExecutor:
    jobs: int = 2  # CPUs of the local instance (ignored when joining a cluster)
    batch: bool = True
    address: str | None = None
    max_attempts: int = 3

    def _start(self) -> bool:
        """Start or join Ray unless it is already up; True if this call started it."""
        import ray

        if ray.is_initialized():
            return False
        env = {"env_vars": {"OMP_NUM_THREADS": "1"}}
        if self.address:
            ray.init(address=self.address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=self.jobs, include_dashboard=False, runtime_env=env, log_to_driver=False,
                     configure_logging=False)
        return True

    def map(self, trials: Sequence[Trial]) -> Iterator[Result]:
        import ray
        from ray import cloudpickle
        from ray.exceptions import RayError, RayTaskError

        if not trials:
            return
        started = self._start()
        for name in sorted(_BY_VALUE & set(sys.modules)):
            cloudpickle.register_pickle_by_value(sys.modules[name])
        task = ray.remote(num_cpus=1, max_retries=0)(_run_unit)
        attempts = {t.key: 0 for t in trials}
        running = {task.remote(unit): unit for unit in largest_first(group_trials(trials, batch=self.batch))}
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                ref = done[0]
                unit = running.pop(ref)
                try:
                    yield from ray.get(ref)
                    continue
                except RayTaskError:  # run_group catches a trial's own errors; this is a bug: let it show
                    raise
                except RayError:  # the worker died (or its node): blame each trial alone
                    pass
                if len(unit) > 1:
                    for t in unit:
                        running[task.remote([t])] = [t]
                    continue
                (trial,) = unit
                attempts[trial.key] += 1
                if attempts[trial.key] >= self.max_attempts:
                    yield lost(trial, attempts[trial.key])
                else:
                    running[task.remote([trial])] = [trial]
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
