"""Wall time of every built-in study at the quick budget on this machine (what `make demo` runs),
against the budget of 90 s per study, with 2 worker processes, into a fresh temporary store.

Run: .venv/bin/python benchmarks/bench_quick_suite.py [STORE]   (STORE: keep the results there, e.g. for
`bitterlab report --store STORE`; it must not hold quick results already, or they are skipped, not timed)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bitterlab.engine import ProcessExecutor, Store, run_study
from bitterlab.studies import STUDIES
from bitterlab.study import expand

TARGET_S = 90.0
SUITE_TARGET_S = 15 * 60.0  # the whole quick suite under the protocol (issue 16)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Store(sys.argv[1] if len(sys.argv) > 1 else Path(tmp) / "r.duckdb") as store:
        total, over = 0.0, []
        for study in STUDIES.values():
            trials = expand(study, "quick")
            start = time.perf_counter()
            summary = run_study(trials, store, ProcessExecutor(jobs=2))
            took = time.perf_counter() - start
            total += took
            print(f"{study.name}: {summary.ran} trials, {summary.failed} failed, {took:.1f} s "
                  f"({took / TARGET_S:.2f} of the {TARGET_S:.0f} s quick budget)")
            if took > TARGET_S:
                over.append(f"{study.name} ({took:.1f} s)")
        print(f"quick suite: {total:.1f} s for {len(STUDIES)} studies")
    if total > SUITE_TARGET_S:
        over.append(f"the whole suite ({total:.1f} s, target {SUITE_TARGET_S:.0f} s)")
    if over:  # the benchmark fails where a study breaks its quick budget, or the suite its own
        raise SystemExit(f"over budget: {', '.join(over)}")


if __name__ == "__main__":
    main()
