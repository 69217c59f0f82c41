"""Run every benchmark in this folder, one after another (what `make bench` runs)."""

import runpy
from pathlib import Path

for path in sorted(Path(__file__).parent.glob("bench_*.py")):
    print(f"== {path.name}")
    runpy.run_path(str(path), run_name="__main__")
