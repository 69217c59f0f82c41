"""Driver for the interruption tests: runs the toy study with 2 worker processes, printing each
stored key as soon as it is committed. Usage: python drive_toy.py STORE"""

import sys

from bitterlab.engine import ProcessExecutor, Store, run_study
from bitterlab.study import expand
from toy import study

if __name__ == "__main__":
    trials = expand(study(sleep=0.3), "quick", seeds=4)
    with Store(sys.argv[1]) as store:
        summary = run_study(trials, store, ProcessExecutor(jobs=2),
                            on_result=lambda r: print(r.key, flush=True))
    print(f"ran {summary.ran} skipped {summary.skipped}", flush=True)
