"""Analysis timings: the Chinchilla two-axis fit with its bootstrap, the full verdict of one study, the
line search's blocked halvings against one halving per call (the same fits, checked), and the report's
analysis of several studies in one process against two worker processes (the same verdicts, checked).

Run: .venv/bin/python benchmarks/bench_analysis.py   (or `make bench`)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bitterlab.analysis import robust, verdict
from bitterlab.analysis.fit import two_axis_summary
from bitterlab.engine import Store
from bitterlab.engine.result import Result
from bitterlab.report import collect
from bitterlab.studies import STUDIES
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
    line_search(results)
    workers()


def _verdict_json(study, df) -> list:
    return [v.to_json() for v in verdict(study, df)]


def line_search(results: pd.DataFrame) -> None:
    """The seasonal-shaped verdict with one halving per objective call (``BLOCK = 1``) and as shipped."""
    took, out = {}, {}
    for block in (1, robust.BLOCK):
        old, robust.BLOCK = robust.BLOCK, block
        try:
            start = time.perf_counter()
            out[block] = _verdict_json(STUDY, results)
            took[block] = time.perf_counter() - start
        finally:
            robust.BLOCK = old
    if out[1] != out[robust.BLOCK]:
        raise SystemExit("blocked line search changed the verdict")
    print(f"line search, one halving per call vs blocks of {robust.BLOCK}: {took[1] / took[robust.BLOCK]:.2f}x "
          f"({took[1]:.1f} vs {took[robust.BLOCK]:.1f} s; verdicts identical)")


def workers() -> None:
    """collect() over made-up quick results of four studies, in one process and in two workers."""
    studies = [STUDIES[n] for n in ("grammar", "search", "positions", "equivariance")]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "r.duckdb") as st:
        for study in studies:
            for t in expand(study, "quick"):
                loss = (0.2 + (3.0 if t.role == "generic" else 2.0) * t.x ** -0.4) * np.exp(rng.normal(0, 0.05))
                st.write(Result(key=t.key, study=t.study, version=t.version, task=t.task, contender=t.contender,
                                role=t.role, x=t.x, x2=t.x2, seed=t.seed, budget=t.budget, status="ok", reason="",
                                metrics={m: loss for m in study.metrics}))
        df = st.frame()
    took, out = {}, {}
    for jobs in (1, 2):
        start = time.perf_counter()
        out[jobs] = [[v.to_json() for v in e.verdicts] for e in collect(df, studies, jobs=jobs)]
        took[jobs] = time.perf_counter() - start
    if out[1] != out[2]:
        raise SystemExit("the analysis in worker processes differs from one process")
    print(f"report analysis of {len(studies)} studies, one process vs 2 workers: {took[1] / took[2]:.2f}x "
          f"({took[1]:.1f} vs {took[2]:.1f} s, spawning included; verdicts identical)")


if __name__ == "__main__":
    main()
