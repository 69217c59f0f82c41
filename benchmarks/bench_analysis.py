"""Analysis timings: the Chinchilla two-axis fit with its bootstrap, and the full verdict of one study.

Run: .venv/bin/python benchmarks/bench_analysis.py   (or `make bench`)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from bitterlab.analysis import verdict
from bitterlab.analysis.fit import two_axis_summary
from bitterlab.studies.seasonal import STUDY
from bitterlab.study import expand

CHINCHILLA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla_epoch_replication.csv"


def synthetic_results() -> pd.DataFrame:
    """A results table shaped like the seasonal study's quick budget (2 tasks × 2 contenders × 6 × 3 seeds)."""
    rng = np.random.default_rng(0)
    rows = []
    for t in expand(STUDY, "quick"):
        base = 0.3 + (5.0 if t.role == "generic" else 2.0) * t.x**-0.5
        rows.append(dict(study=t.study, task=t.task, contender=t.contender, role=t.role, x=t.x, x2=t.x2,
                         seed=t.seed, budget=t.budget, status="ok", reason="", forecast_rmse=base * np.exp(rng.normal(0, 0.05)),
                         in_window_rmse=0.5 * base * np.exp(rng.normal(0, 0.05))))
    return pd.DataFrame(rows)


def main() -> None:
    if CHINCHILLA.exists():
        df = pd.read_csv(CHINCHILLA).sort_values("loss").iloc[:-5]
        n = df["Model Size"].to_numpy()
        start = time.perf_counter()
        fit = two_axis_summary(n, df["Training FLOP"].to_numpy() / (6 * n), df["loss"].to_numpy())
        took = time.perf_counter() - start
        print(f"chinchilla two-axis fit + 200-replicate bootstrap: {took:.2f} s (target < 30 s); "
              f"E={fit.params['E'].value:.4f} alpha={fit.params['alpha'].value:.4f} "
              f"beta={fit.params['beta'].value:.4f}")
    else:
        print(f"chinchilla: skipped, {CHINCHILLA} not found")
    results = synthetic_results()
    start = time.perf_counter()
    verdict(STUDY, results)
    took = time.perf_counter() - start
    print(f"full analysis of one study (seasonal quick shape, {len(results)} trials): {took:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
