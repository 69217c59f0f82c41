"""kill -9 a worker, or the driver itself, in the middle of a run: nothing lost, nothing duplicated."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitterlab.engine import Store
from bitterlab.study import expand
from toy import study

DRIVER = Path(__file__).with_name("drive_toy.py")
TOTAL = len(expand(study(), "quick", seeds=4))


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _start(store: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(DRIVER.parent)}
    return subprocess.Popen([sys.executable, str(DRIVER), str(store)], stdout=subprocess.PIPE, text=True, env=env)


def _wait_for_lines(proc: subprocess.Popen, n: int) -> list[str]:
    return [proc.stdout.readline().strip() for _ in range(n)]


def _rows(store: Path):
    with Store(store, read_only=True) as st:
        return st.frame()


@pytest.mark.slow
def test_killing_a_worker_loses_nothing(tmp_path):
    store = tmp_path / "r.duckdb"
    proc = _start(store)
    _wait_for_lines(proc, 3)
    workers = [p for p in _children(proc.pid) if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()]
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    df = _rows(store)
    assert len(df) == TOTAL and df["key"].is_unique
    assert (df["status"] == "ok").all()  # the interrupted trials were retried and finished


@pytest.mark.slow
def test_killing_the_driver_then_rerunning_loses_nothing(tmp_path):
    store = tmp_path / "r.duckdb"
    proc = _start(store)
    printed = _wait_for_lines(proc, 4)
    for kid in _children(proc.pid):
        os.kill(kid, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    saved = _rows(store)
    assert set(printed) <= set(saved["key"])  # every result reported as written is there
    assert saved["key"].is_unique and len(saved) < TOTAL
    rerun = _start(store)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    assert out.strip().splitlines()[-1] == f"ran {TOTAL - len(saved)} skipped {len(saved)}"
    df = _rows(store)
    assert len(df) == TOTAL and df["key"].is_unique


LONG_DRIVER = """
import sys
from bitterlab.engine import ProcessExecutor, Store, run_study
from bitterlab.study import expand
from toy import study
trials = expand(study(sleep=60, started=sys.argv[2]), "quick", seeds=2)
with Store(sys.argv[1]) as store:
    run_study(trials, store, ProcessExecutor(jobs=2))
"""


def _alive(pid: int) -> bool:
    try:  # a zombie is dead: it only waits for a reaper that a container may lack
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_killing_the_driver_ends_its_workers_within_seconds(tmp_path):
    started = tmp_path / "started"
    started.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(DRIVER.parent), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-c", LONG_DRIVER, str(tmp_path / "r.duckdb"), str(started)], env=env)
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not any(started.iterdir()):  # a worker is inside a 60 s trial
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        kids = _children(proc.pid)  # the workers and the resource tracker
        assert len(kids) >= 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(map(_alive, kids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [k for k in kids if _alive(k)], "orphans outlived their driver by 10 s"
    finally:
        for k in kids:
            if _alive(k):
                os.kill(k, signal.SIGKILL)
