"""The ``bitterlab`` command line: a thin typer shell over the engine, analysis and report."""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from bitterlab.engine.store import DEFAULT_STORE, Store, StoreError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="bitterlab: duels between generic and structured methods across scale, with honest statistics.")
console = Console(stderr=True)

StoreOpt = Annotated[Path, typer.Option("--store", help="DuckDB results file.")]


@app.callback()
def _main() -> None:
    """bitterlab: duels between generic and structured methods across scale, with honest statistics."""
    import warnings

    warnings.showwarning = _warning_line


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning, should one escape, as one line on stderr (not two with the source line)."""
    print(f"warning: {category.__name__}: {str(message).splitlines()[0] if str(message) else ''}", file=sys.stderr)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(code)


def _say(text: str) -> None:
    """A status line on stderr, printed as is: no markup (reasons may hold brackets), no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _common(reasons: Counter[str], top: int = 3) -> str:
    """The most common failure reasons, e.g. "most common: 'diverged: loss is nan' x2"."""
    shown = [f"{reason!r} x{n}" for reason, n in reasons.most_common() if n][:top]
    rest = sum(1 for n in reasons.values() if n) - len(shown)
    return "most common: " + "; ".join(shown) + (f"; and {rest} other reason(s)" if rest > 0 else "")


def _studies(refs: list[str] | None, all_: bool):
    """The studies named by ``refs`` (built-in names, file.py:NAME or package.module:NAME), or all built-ins."""
    from bitterlab.studies import STUDIES, StudyRefError, resolve

    if all_:
        return list(STUDIES.values())
    if not refs:
        raise fail("name at least one study, or pass --all (see: bitterlab list)")
    try:
        studies = [resolve(r) for r in refs]
    except StudyRefError as exc:
        raise fail(str(exc)) from None
    names = [s.name for s in studies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise fail(f"study name(s) {', '.join(twice)} given twice (results are stored by study name)")
    return studies


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise fail("--device cuda: no CUDA device is available here (use cpu or auto)")
    if device not in ("cpu", "cuda"):
        raise fail(f"--device must be cpu, cuda or auto, got {device!r}")
    return device


@app.command("list")
def list_() -> None:
    """List the built-in studies, one line each.

    Example: bitterlab list
    """
    from bitterlab.studies import STUDIES

    for s in STUDIES.values():
        roles = " vs ".join(f"{c.name} ({c.role})" for c in s.contenders)
        print(f"{s.name:<14} {s.claim}  [{roles}]")


def run_studies(studies, *, budget: str, executor: str, jobs: int, device: str, store: Path,
                seeds: int | None, retry_failed: bool, batch: bool = True, address: str | None = None) -> int:
    """Run the missing trials of ``studies`` with a progress bar; returns the number of failures."""
    from bitterlab.engine import make_executor, run_study
    from bitterlab.engine.runner import missing
    from bitterlab.study import expand

    try:
        trials = {s.name: expand(s, budget, seeds=seeds, device=device) for s in studies}
        ex = make_executor(executor, jobs=jobs, batch=batch, address=address)
    except ValueError as exc:
        raise fail(str(exc)) from None
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("trials"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    try:
        with Store(store) as st, Progress(*columns, console=console) as progress:
            for s in studies:
                bar = progress.add_task(f"{s.name} ({budget})", total=len(trials[s.name]))

                reasons: Counter[str] = Counter()

                def advance(result, bar=bar, reasons=reasons):
                    progress.advance(bar)
                    reasons[result.reason] += result.status == "failed"

                todo = missing(trials[s.name], st, retry_failed=retry_failed)
                progress.update(bar, completed=len(trials[s.name]) - len(todo))
                summary = run_study(trials[s.name], st, ex, retry_failed=retry_failed, on_result=advance)
                failed += summary.failed
                _say(f"{s.name}: {summary.ran} run, {summary.skipped} already in the store, {summary.failed} failed"
                     + (f" ({_common(reasons)})" if summary.failed else ""))
                if summary.skipped_failed:
                    _say(f"{s.name}: {summary.skipped_failed} trial(s) stored as failed were skipped, not rerun "
                         f"(rerun them with --retry-failed)")
    except StoreError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("interrupted: finished trials are saved; rerun the same command to resume")
        raise typer.Exit(130) from None
    return failed


@app.command()
def run(
    studies: Annotated[list[str] | None, typer.Argument(help="Study names (see bitterlab list), or your own: "
                                                        "my_study.py:STUDY or package.module:STUDY.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Run every built-in study.")] = False,
    budget: Annotated[str, typer.Option(help="quick (CPU, minutes) or full (GPU/cluster, hours).")] = "quick",
    executor: Annotated[str, typer.Option(help="inline, process or ray.")] = "process",
    jobs: Annotated[int, typer.Option(help="Worker processes, or CPUs of a local Ray instance (one torch thread "
                                      "each).")] = 2,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (with --executor ray), e.g. "
                                                "ray://head:10001; none starts a local instance.")] = None,
    batch: Annotated[bool, typer.Option("--batch/--no-batch", help="Train trials that differ only by seed as one "
                                        "batched model where the study supports it.")] = True,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
    store: StoreOpt = DEFAULT_STORE,
    seeds: Annotated[int | None, typer.Option(help="Override the budget's number of seeds.")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Rerun trials stored as failed.")] = False,
) -> None:
    """Run the missing trials of studies; safe to interrupt and rerun.

    Example: bitterlab run seasonal --budget quick --jobs 2   (or: --executor ray --address ray://head:10001;
    your own study: bitterlab run my_study.py:STUDY)
    """
    chosen = _studies(studies, all_)
    run_studies(chosen, budget=budget, executor=executor, jobs=jobs, device=_device(device), store=store,
                seeds=seeds, retry_failed=retry_failed, batch=batch, address=address)


def _check_budget(studies, budget: str | None) -> None:
    """A --budget that a study does not declare is an error, not "no results"."""
    for s in studies:
        if budget is not None and budget not in s.budgets:
            raise fail(f"--budget {budget!r}: study {s.name!r} has no such budget (has: {', '.join(s.budgets)})")


def _verdicts(study, store: Path, budget: str | None):
    from bitterlab.analysis import verdict

    _check_budget([study], budget)
    try:
        with Store(store, read_only=True) as st:
            df = st.frame([study.name])
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        return df, verdict(study, df, budget=budget)
    except LookupError as exc:
        raise fail(exc.args[0]) from None


@app.command("verdict")
def verdict_(
    study: Annotated[str, typer.Argument(help="Study name, or my_study.py:STUDY / package.module:STUDY.")],
    json_: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON (see README).")] = False,
    budget: Annotated[str | None, typer.Option(help="Budget to read (default: full if present, else quick).")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """The verdict of a study from the store.

    Example: bitterlab verdict seasonal --json
    """
    (s,) = _studies([study], False)
    rows, verdicts = _verdicts(s, store, budget)
    if json_:
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
        return
    _print_verdicts(verdicts, rows)


def _print_verdicts(verdicts, rows) -> None:
    """The verdicts in words (their warnings count the failed trials and give the reasons); under a task
    with failures, how to rerun them."""
    for v in verdicts:
        print(f"[{v.study} / {v.task}, budget {v.budget}] {v.words}")
        for w in v.warnings:
            print(f"  warning: {w}")
        mine = rows[(rows["study"] == v.study) & (rows["task"] == v.task) & (rows["budget"] == v.budget)]
        if (mine["status"] == "failed").any():
            print(f"  rerun the failed trials with: bitterlab run {v.study} --budget {v.budget} --retry-failed")
        if v.secondary:
            side = v.secondary
            print(f"[{v.study} / {v.task} along {side.axis}] {side.words}")
            for w in side.warnings:
                print(f"  warning: {w}")
        for other in v.also or ():
            print(f"[{v.study} / {v.task} on {other.metric}] {other.words}")
            for w in other.warnings:
                print(f"  warning: {w}")


def _write_report(store: Path, names: list[str] | None, budget: str | None, out: Path, geometry: bool,
                  jobs: int = 2):
    """Analyse the store's results for ``names`` (default: every study with results), write the report;
    return the analysed entries and index.html's path (one analysis, shared by ``report`` and ``demo``)."""
    from bitterlab.report import collect, geometry_inputs, write_report
    from bitterlab.studies import STUDIES

    chosen = _studies(names, False) if names else None
    try:
        with Store(store, read_only=True) as st:
            df = st.frame()
    except StoreError as exc:
        raise fail(str(exc)) from None
    if chosen is None:
        chosen = [s for n, s in STUDIES.items() if (df["study"] == n).any()]
    if not chosen:
        raise fail(f"no results in {store}: run a study first (bitterlab run --all)")
    _check_budget(chosen, budget)
    if out.exists() and not out.is_dir():
        raise fail(f"--out {out} is a file: name a folder for the report")
    try:
        with console.status("analysing results"):
            entries = collect(df, chosen, budget, jobs=jobs)
    except LookupError as exc:
        raise fail(exc.args[0]) from None
    geo = None
    try:
        if geometry:
            with console.status("geometry page: regimes table and geodesic animation"):
                geo = geometry_inputs(out)
        return entries, write_report(out, entries, geo)
    except OSError as exc:
        raise fail(f"cannot write the report to {out}: {exc.strerror or exc}") from None


@app.command()
def report(
    studies: Annotated[list[str] | None, typer.Argument(help="Studies, built-in or my_study.py:STUDY (default: "
                                                        "every built-in study in the store).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("bitterlab-report"),
    budget: Annotated[str | None, typer.Option(help="Budget to read (default: full if present, else quick).")] = None,
    geometry: Annotated[bool, typer.Option("--geometry/--no-geometry", help="Include the geometry page (regimes "
                                           "table, geodesic animation; ~15 s).")] = True,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes for the analysis (each analyses one study at a time).")] = 2,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write the static report: index.html (scoreboard), index.md, a page, PNG and JSON per study, geometry.html.

    Example: bitterlab report --out bitterlab-report
    """
    _, index = _write_report(store, studies, budget, out, geometry, jobs)
    print(f"report written to {index.resolve()}")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file (.parquet or .csv).")],
    format_: Annotated[str | None, typer.Option("--format", help="parquet or csv (default: from the suffix).")] = None,
    study: Annotated[list[str] | None, typer.Option("--study", help="Only these studies (repeatable; a name or "
                                                    "my_study.py:STUDY).")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Export the result rows (every study's, or those of --study) to Parquet or CSV.

    Example: bitterlab export results.parquet --format parquet
    """
    from bitterlab.engine.store import export as export_frame

    fmt = format_ or out.suffix.lstrip(".")
    if fmt not in ("parquet", "csv"):
        raise fail(f"--format must be parquet or csv, got {fmt!r}")
    names = [s.name for s in _studies(study, False)] if study else None
    if out.is_dir():
        raise fail(f"{out} is a folder: name the file to write, e.g. {out / ('results.' + fmt)}")
    try:
        with Store(store, read_only=True) as st:
            df = st.frame(names)
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        path = export_frame(df, out, fmt)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{len(df)} rows written to {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("bitterlab-report"),
    jobs: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Run every built-in study at the quick budget, print the verdicts, write the report.

    Example: bitterlab demo
    """
    from bitterlab.studies import STUDIES

    studies = list(STUDIES.values())
    run_studies(studies, budget="quick", executor="process", jobs=jobs, device="cpu", store=store, seeds=None,
                retry_failed=False)
    entries, index = _write_report(store, [s.name for s in studies], "quick", out, geometry=True, jobs=jobs)
    for e in entries:
        _print_verdicts(e.verdicts, e.rows)
    print(f"report written to {index.resolve()}")


def _read_csv(path: Path):
    """Read a bring-your-own results CSV; raise fail() naming the culprit."""
    import pandas as pd

    if path.is_dir():
        raise fail(f"{path}: is a directory, not a CSV file")
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise fail(f"{path}: the file is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None


PLOT_FORMATS = (".png", ".svg", ".pdf")


@app.command()
def fit(
    file: Annotated[Path, typer.Argument(help="CSV of results, one row per (group, scale[, seed]) or a raw log.")],
    x: Annotated[list[str], typer.Option("--x", help="Scale column; give two for L(N, D) = E + A/N^a + B/D^b.")],
    y: Annotated[str, typer.Option("--y", help="Loss column (lower is better, positive).")],
    group: Annotated[str, typer.Option("--group", help="Column naming the method/contender.")],
    seed: Annotated[str | None, typer.Option("--seed", help="Seed column: rows are averaged per (group, x, seed) "
                                             "and the bootstrap resamples seeds.")] = None,
    reference: Annotated[str | None, typer.Option(help="Group the others are compared with (default: first).")] = None,
    censored: Annotated[str | None, typer.Option("--censored", help="Column of true/false: the row is a failed or "
                                                 "capped trial whose loss is a lower bound ('at least this "
                                                 "loss'), fitted as censored.")] = None,
    family: Annotated[str, typer.Option(help="Curve family: auto (chosen by held-out scales), pow3, pow4, mmf4, "
                                        "wbl4, bnsl or last_value.")] = "auto",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a log-log figure (PNG, SVG or PDF) of points, fits and "
                                              "bands.")] = None,
    predict: Annotated[list[float] | None, typer.Option("--predict", help="A scale X to predict each group's loss at "
                                                        "(90% interval, extrapolation calibrated on LCDB) and "
                                                        "P(order of two groups at X differs from the measured "
                                                        "order); repeatable.")] = None,
) -> None:
    """Fit scaling curves to your own results: fits with 90% intervals, exchange rates, crossovers.

    One --x fits a curve per group (family chosen by held-out scales) with a bootstrap over seeds
    (or rows) and compares each group with the reference: the exchange rate is the factor of extra
    data the group needs to match the reference's loss at their largest common scale.

    Example: bitterlab fit results.csv --x n_train --y test_loss --group model --seed seed --plot fits.png
    """
    import warnings

    import numpy as np

    from bitterlab.analysis.families import FAMILIES
    from bitterlab.analysis.grouped import fit_table, table
    from bitterlab.report.fit_words import fit_lines

    if len(x) not in (1, 2):
        raise fail("--x takes one column (one-axis fit) or two (two-axis fit)")
    if family not in ("auto", "last_value", *FAMILIES):
        raise fail(f"--family must be auto, last_value or one of {', '.join(FAMILIES)}, got {family!r}")
    if predict and not all(v > 0 and v != float("inf") for v in predict):
        raise fail(f"--predict takes positive, finite scales, got {', '.join(f'{v:g}' for v in predict)}")
    if plot is not None and plot.suffix.lower() not in PLOT_FORMATS:
        raise fail(f"--plot {plot}: the figure must be {', '.join(PLOT_FORMATS)}, got {plot.suffix or 'no suffix'!r}")
    df = _read_csv(file)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numerical noise of the fits; the output says what matters
        try:
            tab = table(df, xs=x, y=y, group=group, seed=seed, censored=censored)
            out = fit_table(tab, reference=reference, family=family, predict_at=tuple(predict or ()))
        except ValueError as exc:
            raise fail(f"{file}: {exc}") from None
        if plot is not None:
            _fit_plot(plot, tab, out)
    if json_:
        print(json.dumps(out.to_json(), indent=2))
        return
    for line in fit_lines(out, x=x[0], y=y):
        print(line)
    if plot is not None:
        print(f"figure written to {plot}")


def _fit_plot(path: Path, tab, out) -> None:
    from bitterlab.report.fit_figures import fit_figure, surface_figure

    if len(tab.xs) == 2:
        figure = surface_figure(tab.frame, n=tab.xs[0], d=tab.xs[1], y=tab.y, group=tab.group, fits=out.fits)
    else:
        figure = fit_figure(tab.frame, x=tab.xs[0], y=tab.y, group=tab.group, bands=out.bands,
                            comparisons=out.comparisons)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")


def _parse(spec: str):
    from bitterlab.geometry import parse_distribution

    try:
        return parse_distribution(spec)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _measure(fn) -> float | str:
    """One distance, or why it is missing: "not defined" (no method for the pair) or "not computable in
    double precision" (an overflow, or a nan); numerical warnings are captured, never printed."""
    import warnings

    import numpy as np

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        try:
            value = fn()
        except ValueError as exc:
            return f"not defined: {exc}"
        except ArithmeticError as exc:
            return f"not computable in double precision ({type(exc).__name__}: {exc})"
    if value != value:
        why = str(caught[0].message) if caught else "the result is nan"
        return f"not computable in double precision ({why})"
    return value


@app.command()
def distance(
    p: Annotated[str, typer.Argument(help="First distribution, e.g. normal:0,1 or points:0,1,2@0.2,0.3,0.5.")],
    q: Annotated[str, typer.Argument(help="Second distribution (kinds: normal, mvn, points, categorical, samples).")],
    reg: Annotated[float, typer.Option(help="Entropic regularisation for Sinkhorn (discrete pairs).")] = 0.05,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print every distance defined for two distributions ("not defined" and why, otherwise).

    Example: bitterlab distance normal:0,1 normal:3,2
    """
    from bitterlab import geometry as g

    a, b = _parse(p), _parse(q)
    measures = {"KL(p||q)": lambda: g.kl(a, b), "KL(q||p)": lambda: g.kl(b, a), "JS": lambda: g.js(a, b),
                "TV": lambda: g.tv(a, b), "Hellinger": lambda: g.hellinger(a, b),
                "Fisher-Rao": lambda: g.fisher_rao(a, b), "W1": lambda: g.wasserstein(a, b, 1),
                "W2": lambda: g.wasserstein(a, b, 2), f"Sinkhorn(reg={reg:g})": lambda: g.sinkhorn(a, b, reg)}
    values = {name: _measure(fn) for name, fn in measures.items()}
    if json_:
        print(json.dumps({k: (v if isinstance(v, str) else (None if v == float("inf") else v))
                          for k, v in values.items()}, indent=2))
        return
    for name, v in values.items():
        print(f"{name:<20} {v if isinstance(v, str) else f'{v:.6g}'}")


@app.command()
def regimes(
    eps: Annotated[float, typer.Option(help="Offset of the second point mass in the disjoint regime.")] = 0.1,
) -> None:
    """The discrete / shared-support / disjoint-support table, and W's continuity as eps -> 0.

    Example: bitterlab regimes --eps 0.01
    """
    from bitterlab.geometry import continuity_table, regimes_table

    if not math.isfinite(eps):
        raise fail(f"--eps must be a finite number, got {eps}")
    rows = regimes_table(eps)
    names = [k for k in rows[0] if k not in ("regime", "pair")]
    print(f"{'regime':<18}" + "".join(f"{n:>12}" for n in names) + "   pair")
    for r in rows:
        cells = "".join(f"{('n/a' if r[n] is None else f'{r[n]:.4g}'):>12}" for n in names)
        print(f"{r['regime']:<18}{cells}   {r['pair']}")
    print("\npoint masses at 0 and eps: W is continuous in eps, KL / TV / JS jump")
    cont = continuity_table()
    print("".join(f"{k:>10}" for k in cont[0]))
    for r in cont:
        print("".join(f"{v:>10.4g}" for v in r.values()))


@app.command()
def geodesic(
    p: Annotated[str, typer.Argument(help="Start distribution (1-D), e.g. normal:-3,1.")],
    q: Annotated[str, typer.Argument(help="End distribution (1-D), e.g. normal:3,1.")],
    out: Annotated[Path, typer.Option(help="Output .gif or .mp4.")] = Path("geodesic.gif"),
    frames: Annotated[int, typer.Option(help="Number of frames.")] = 30,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 10,
) -> None:
    """Animate the Fisher-Rao, Wasserstein and mixture paths from P to Q side by side.

    Example: bitterlab geodesic normal:-3,1 normal:3,1 --out geodesic.gif
    """
    from bitterlab.geometry import geodesic_animation

    a, b = _parse(p), _parse(q)
    with Progress(TextColumn("frames"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:  # transient: an error stays one line
        bar = progress.add_task("frames", total=frames)
        try:
            path = geodesic_animation(a, b, out, frames=frames, fps=fps,
                                      progress=lambda i, n: progress.update(bar, completed=i))
        except ValueError as exc:
            path, error = None, str(exc)
    if path is None:
        raise fail(error)  # once the bar is gone, so the error is the only line
    print(f"animation written to {path}")


if __name__ == "__main__":
    app()
