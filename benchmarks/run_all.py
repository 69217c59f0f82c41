"""Run every benchmark in this folder, one after another (what `make bench` runs)."""

import runpy
import sys
from pathlib import Path

missed = []  # a benchmark that misses its target exits non-zero: the others still run, then make bench fails
for path in sorted(Path(__file__).parent.glob("bench_*.py")):
    print(f"== {path.name}", flush=True)
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            missed.append(f"{path.name}: {exc.code}")
if missed:
    sys.exit("targets missed:\n" + "\n".join(missed))
