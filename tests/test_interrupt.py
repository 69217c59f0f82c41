"""kill -9 a worker, or the driver itself, in the middle of a run: nothing lost, nothing duplicated."""

import os
import signal
import subprocess
import sys
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
