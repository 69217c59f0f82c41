"""`bitterlab fit` on a raw evaluation log: time and peak memory at 1e4, 1e5 and 1e6 rows.

The log: 2 models × 6 scales × 5 seeds, each (model, scale, seed) evaluated on many batches (one row
per batch, loss = curve · noise). `fit` averages the rows to one result per (group, x, seed) before
fitting, so its cost grows with the 60 distinct (group, x, seed), not with the rows (issue 20: before,
1,000 rows took 68 s and 2.6 GB, and 1e6 rows ran out of memory). Each size runs in a fresh process;
peak memory is that process's maximum resident set size. Target: 1e6 rows in ≤ 30 s and ≤ 2 GB.

Run: .venv/bin/python benchmarks/bench_fit.py   (or `make bench`)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RUNNER = """
import resource, sys, time
from bitterlab.cli import app
start = time.perf_counter()
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    took = time.perf_counter() - start
    me = resource.getrusage(resource.RUSAGE_SELF)
    print(f"BENCH {took:.2f} {me.ru_maxrss / 1024:.0f} {me.ru_utime + me.ru_stime:.2f}", file=sys.stderr)
"""


def raw_log(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    scales = np.geomspace(100, 1e4, 6)
    model = rng.choice(np.array(["generic", "structured"]), rows)
    x = scales[rng.integers(0, len(scales), rows)]
    s = rng.integers(0, 5, rows)
    amp = np.where(model == "generic", 20.0, 5.0)
    loss = (0.2 + amp * x**-0.5) * np.exp(rng.normal(0, 0.05, 5)[s] + rng.normal(0, 0.2, rows))
    return pd.DataFrame({"model": model, "n": x, "seed": s, "loss": loss})


def run(path: Path) -> tuple[float, float, float, str]:
    args = ["fit", str(path), "--x", "n", "--y", "loss", "--group", "model", "--seed", "seed"]
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, check=True)
    took = time.perf_counter() - start  # the whole process: interpreter start and imports included
    _, _, mb, cpu = next(ln for ln in res.stderr.splitlines() if ln.startswith("BENCH")).split()
    return took, float(mb), float(cpu), res.stdout


def main(sizes=(10_000, 100_000, 1_000_000)) -> None:
    print("bitterlab fit on a raw log (2 models × 6 scales × 5 seeds, rows = evaluation batches): wall and CPU time of "
          "the whole process (start-up, imports and reading the CSV included) and its peak resident memory")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"log_{n}.csv"
            raw_log(n).to_csv(path, index=False)
            took, mb, cpu, out = run(path)
            rate = next((ln for ln in out.splitlines() if ln.startswith("generic vs")), "")
            print(f"  {n:>9,} rows: {took:5.1f} s wall ({cpu:4.1f} s CPU), peak {mb:6.0f} MB   {rate[:90]}")
    print("  target (issue 20): 1e6 rows in ≤ 30 s and ≤ 2 GB peak")


if __name__ == "__main__":
    main()
