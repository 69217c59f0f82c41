"""The Ray executor on a local instance (2 CPUs, no dashboard): same results as inline, the driver
alone writes the store, and a trial that kills its worker is retried, then recorded as failed."""

import os
from pathlib import Path

import pytest

from bitterlab.engine import InlineExecutor, Store, run_study
from bitterlab.engine.ray_executor import RayExecutor, ray_available
from bitterlab.study import expand
from toy import study

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ray_available(), reason="ray is not installed")]


@pytest.fixture(scope="module")
def local_ray():
    import ray

    tests = str(Path(__file__).parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
                                       "OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


def test_ray_matches_inline_and_the_driver_writes_the_store(local_ray, tmp_path):
    trials = expand(study(batched=True), "quick")
    inline = {r.key: r.metrics for r in InlineExecutor().map(trials)}
    with Store(tmp_path / "r.duckdb") as store:
        summary = run_study(trials, store, RayExecutor(jobs=2))
        df = store.frame()
    assert summary.ran == len(trials) and summary.failed == 0
    assert {k: m for k, m in zip(df["key"], df["metrics"], strict=True)} == inline


def test_a_worker_killed_mid_trial_is_retried_then_recorded_failed(local_ray):
    trials = expand(study(batched=True, die=100.0), "quick")
    results = {r.key: r for r in RayExecutor(jobs=2, max_attempts=2).map(trials)}
    assert set(results) == {t.key for t in trials}  # nothing lost, nothing duplicated
    dead = [r for r in results.values() if r.status == "failed"]
    assert {r.x for r in dead} == {100.0} and len(dead) == 4
    assert all(r.reason == "worker died 2 times while running this trial" for r in dead)
    assert all(r.status == "ok" for r in results.values() if r.x != 100.0)


def test_a_study_from_a_file_runs_on_ray_workers_that_cannot_import_it(local_ray, tmp_path):
    """The file's folder is not on the workers' path: its functions travel by value, keys unchanged."""
    from bitterlab.studies import resolve
    from toy import user_study_file

    study = resolve(f"{user_study_file(tmp_path / 'only-here', 'ray_user_study')}:STUDY")
    trials = expand(study, "quick")
    inline = {r.key: r.metrics for r in InlineExecutor().map(trials)}
    results = list(RayExecutor(jobs=2).map(trials))
    assert all(r.status == "ok" for r in results), [r.reason for r in results]
    assert {r.key: r.metrics for r in results} == inline
