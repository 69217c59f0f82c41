"""Real learning curves (LCDB 1.1 sample, ../shared/data/lcdb): how well does bitterlab extrapolate?

For each (dataset, learner) test-error curve: fit on the training sizes up to 1/8 of the largest
available one (family chosen by held-out sizes, bootstrap over points), predict the error at the
largest size, and compare with the last-value baseline (the error at the largest training size).
For each pair of learners on a dataset: the predicted probability that their order changes
between the largest training size and the largest size (from the paired replicates) against
whether it did. Finally: do the warnings fire on the curves that are ill-behaved in truth?

Run: .venv/bin/python benchmarks/bench_lcdb.py   (or `make bench`)
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from pathlib import Path

import numpy as np

from bitterlab.analysis import fit_contender, replicates
from bitterlab.analysis.scaling import Points, selection_warnings, shape_warnings
from bitterlab.engine.executors import init_worker

LCDB = Path(__file__).resolve().parents[2] / "shared" / "data" / "lcdb"
SPLIT = 2  # test error (0 train, 1 validation, 2 test)
N_BOOT = 100
JOBS = 2
MIN_TRAIN_SIZES = 8
KINDS = {"non-monotone": "non-monotone", "leave-one-out": "driven by few points", "last value wins": "not supported"}


def curves():
    """(dataset, learner, sizes, errors) for every learner with a usable test-error curve."""
    meta = json.loads((LCDB / "meta.json").read_text())
    names = json.loads((LCDB / "names.json").read_text())
    anchors = np.asarray(meta["anchors"], float)
    for path in sorted(LCDB.glob("er_*.json")):
        ident = path.stem.split("_")[1]
        data = np.array(json.loads(path.read_text()), dtype=float)  # (learner, stat, anchor, split)
        for li, learner in enumerate(meta["learners"]):
            err = data[li, 0, :, SPLIT]
            keep = np.isfinite(err) & (err > 0)
            if keep.sum() >= 2 * MIN_TRAIN_SIZES:
                yield names.get(ident, ident), learner, anchors[keep], err[keep]


def extrapolate(item: tuple[int, str, str, np.ndarray, np.ndarray]) -> dict | None:
    """Fit one curve up to 1/8 of its largest size and predict the largest."""
    index, dataset, learner, x, y = item
    target = x.max()
    train = x <= target / 8
    if train.sum() < MIN_TRAIN_SIZES:
        return None
    pts = Points(x=x[train], y=y[train], cluster=np.arange(train.sum()), n_clusters=int(train.sum()))
    cf = fit_contender(pts, replicates(pts.n_clusters, n_boot=N_BOOT, seed=index))
    pred = float(cf.best(target)[0, 0])
    truth = float(y[-1])
    found = shape_warnings(cf, learner, "error") + selection_warnings(cf, learner)
    kinds = {k for k, marker in KINDS.items() if any(marker in w for w in found)}
    warned = bool(found)
    # ill-behaved (LCDB 1.1's notion): the error rises by more than 5 % (relative) above the best error
    # reached at a smaller size — in the fitted part (what warnings can see) and anywhere on the curve
    yt = y[train]
    ill = bool(np.any(yt[1:] > 1.05 * np.minimum.accumulate(yt)[:-1]))
    ill_anywhere = bool(np.any(y[1:] > 1.05 * np.minimum.accumulate(y)[:-1]))
    x0 = float(x[train].max())
    return dict(dataset=dataset, learner=learner, family=cf.family, fit_error=abs(np.log(pred / truth)),
                last_error=abs(np.log(y[train][-1] / truth)), warned=warned, kinds=kinds, ill=ill, ill_anywhere=ill_anywhere, x0=x0, target=float(target),
                y0=float(y[train][-1]), truth=truth, reps_x0=cf.reps(x0)[:, 0], reps_target=cf.reps(target)[:, 0])


def main() -> None:
    if not LCDB.exists():
        print(f"lcdb: skipped, {LCDB} not found")
        return
    start = time.perf_counter()
    items = [(i, *c) for i, c in enumerate(curves())]
    with ProcessPoolExecutor(JOBS, initializer=init_worker) as pool:
        results = [r for r in pool.map(extrapolate, items, chunksize=4) if r is not None]
    took_fit = time.perf_counter() - start
    fe = np.array([r["fit_error"] for r in results])
    le = np.array([r["last_error"] for r in results])
    print(f"LCDB 1.1 sample: {len(results)} test-error curves (5 datasets), fitted up to 1/8 of the largest size "
          f"and extrapolated 8x, in {took_fit:.0f} s")
    print(f"  |log error| at the largest size: fitted curve median {np.median(fe):.3f} (mean {fe.mean():.3f}), "
          f"last-value baseline median {np.median(le):.3f} (mean {le.mean():.3f}); the fit is closer on "
          f"{np.mean(fe < le):.0%} of curves")
    families = {}
    for r in results:
        families[r["family"]] = families.get(r["family"], 0) + 1
    print("  families chosen by held-out sizes: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items())))
    ill = np.array([r["ill"] for r in results])
    anywhere = np.array([r["ill_anywhere"] for r in results])
    warned = np.array([r["warned"] for r in results])
    print(f"  ill-behaved in the fitted part (error rises >5% above its best so far): {ill.sum()} of {len(ill)}; "
          f"warnings fired on {warned[ill].mean():.0%} of them and on {warned[~ill].mean():.0%} of the others")
    print(f"  ill-behaved anywhere (including the 8x the fit cannot see): {anywhere.sum()}; median |log error| of "
          f"the extrapolation: warned {np.median(fe[warned]):.3f} vs not warned {np.median(fe[~warned]):.3f}; "
          f"ill-behaved beyond the fitted part only {np.median(fe[anywhere & ~ill]):.3f}")
    for kind in KINDS:
        has = np.array([kind in r["kinds"] for r in results])
        if has.any():
            print(f"    '{kind}': on {has[ill].mean():.0%} of the ill-behaved and {has[~ill].mean():.0%} of the others; "
                  f"median |log error| {np.median(fe[has]):.3f} with vs {np.median(fe[~has]):.3f} without")
    # pairs: does the order of two learners change between the largest training size and the target?
    probs, outcomes = [], []
    for a, b in combinations(results, 2):
        if a["dataset"] != b["dataset"] or a["target"] != b["target"] or a["x0"] != b["x0"]:
            continue
        before, after = a["reps_x0"] - b["reps_x0"], a["reps_target"] - b["reps_target"]
        probs.append(float(np.mean(np.sign(before) != np.sign(after))))
        outcomes.append(bool(np.sign(a["y0"] - b["y0"]) != np.sign(a["truth"] - b["truth"])))
    p, o = np.array(probs), np.array(outcomes)
    brier = float(np.mean((p - o) ** 2))
    print(f"  learner pairs: {len(p)}; their order changed in {o.mean():.1%} (LCDB 1.1 reports crossings in ~6–18%); "
          f"Brier score of the predicted probability {brier:.3f} vs {float(np.mean(o)):.3f} for always saying 'no "
          f"change' and {float(np.mean((o.mean() - o) ** 2)):.3f} for the base rate")
    for lo, hi in [(0.0, 0.1), (0.1, 0.5), (0.5, 0.9), (0.9, 1.01)]:
        sel = (p >= lo) & (p < hi)
        if sel.any():
            print(f"    predicted P(change) in [{lo:.1f}, {min(hi, 1):.1f}): {sel.sum()} pairs, observed rate "
                  f"{o[sel].mean():.2f} (mean prediction {p[sel].mean():.2f})")
    print(f"lcdb benchmark: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
