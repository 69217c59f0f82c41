import math

import pytest

from bitterlab.engine import InlineExecutor, ProcessExecutor, Store, run_study, run_trial
from bitterlab.study import expand
from toy import study


def _trial(x, **options):
    return next(t for t in expand(study(**options), "quick") if t.x == x and t.contender == "g")


def test_ok_trial_records_metrics_and_cost():
    r = run_trial(_trial(100.0))
    assert r.status == "ok" and r.reason == ""
    assert math.isclose(r.metrics["loss"], 2.0 * 100 ** -0.3 + 0.1, abs_tol=0.05)
    assert r.flops == 6000.0 and r.params == 10 and r.wall_s >= 0
    assert set(r.versions) == {"python", "torch", "numpy", "bitterlab"}


@pytest.mark.parametrize("options, reason", [
    ({"nan": 10.0}, "diverged: non-finite metric(s) loss, other"),
    ({"diverge": 10.0}, "diverged: loss is nan at step 3"),
    ({"raise": 10.0}, "error: ValueError: bad data on purpose"),
])
def test_failures_are_results_with_reasons(options, reason):
    r = run_trial(_trial(10.0, **options))
    assert r.status == "failed"
    assert r.reason == reason


def test_same_seed_same_numbers():
    assert run_trial(_trial(10.0)).metrics == run_trial(_trial(10.0)).metrics


def test_resume_skips_finished_and_retry_failed_reruns(tmp_path):
    trials = expand(study(nan=10.0), "quick")
    with Store(tmp_path / "r.duckdb") as store:
        first = run_study(trials[:5], store, InlineExecutor())
        again = run_study(trials, store, InlineExecutor())
        assert (first.ran, again.ran, again.skipped) == (5, len(trials) - 5, 5)
        n_failed = len(store.keys(status="failed"))
        assert n_failed == 4  # x=10 for both contenders, two seeds
        retry = run_study(trials, store, InlineExecutor(), retry_failed=True)
        assert retry.ran == n_failed
        assert len(store.frame()) == len(trials)


def test_process_executor_matches_inline(tmp_path):
    trials = expand(study(), "quick")
    inline = {r.key: r.metrics for r in InlineExecutor().map(trials)}
    pooled = {r.key: r.metrics for r in ProcessExecutor(jobs=2).map(trials)}
    assert pooled == inline


def test_a_trial_that_kills_its_worker_is_retried_then_recorded_failed():
    trials = expand(study(die=100.0), "quick")
    results = {r.key: r for r in ProcessExecutor(jobs=2, max_attempts=2).map(trials)}
    assert set(results) == {t.key for t in trials}
    dead = [r for r in results.values() if r.status == "failed"]
    assert {r.x for r in dead} == {100.0} and len(dead) == 4
    assert all(r.reason == "worker died 2 times while running this trial" for r in dead)
    assert all(r.status == "ok" for r in results.values() if r.x != 100.0)
