import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from PIL import Image

from bitterlab.cli import app

from .test_fit import CHINCHILLA

runner = CliRunner()


@pytest.mark.skipif(not CHINCHILLA.exists(), reason=f"reference data not found at {CHINCHILLA}")
def test_chinchilla_through_the_cli(tmp_path):
    df = pd.read_csv(CHINCHILLA).sort_values("loss").iloc[:-5]
    df["D"] = df["Training FLOP"] / (6 * df["Model Size"])
    df["run"] = "chinchilla"
    df.to_csv(tmp_path / "c.csv", index=False)
    res = runner.invoke(app, ["fit", str(tmp_path / "c.csv"), "--x", "Model Size", "--x", "D", "--y", "loss",
                              "--group", "run", "--json"])
    assert res.exit_code == 0, res.output
    f = json.loads(res.stdout)["fits"]["chinchilla"]["params"]
    assert f["E"]["value"] == pytest.approx(1.8172, rel=0.01)
    assert f["A"]["value"] == pytest.approx(482.01, rel=0.05) and f["B"]["value"] == pytest.approx(2085.43, rel=0.05)
    assert abs(f["alpha"]["value"] - 0.3478) <= 0.003 and abs(f["beta"]["value"] - 0.3658) <= 0.003
    for p in f.values():
        assert p["low"] <= p["value"] <= p["high"]


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(m, x, s, (0.2 + a * x**-0.5) * np.exp(rng.normal(0, 0.02)))
            for m, a in [("mlp", 20.0), ("cnn", 5.0)] for x in np.geomspace(100, 1e4, 6) for s in range(4)]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["model", "n", "seed", "loss"]).to_csv(path, index=False)
    return path


def test_one_axis_fit_and_comparison(csv, tmp_path):
    res = runner.invoke(app, ["fit", str(csv), "--x", "n", "--y", "loss", "--group", "model", "--seed", "seed",
                              "--reference", "cnn", "--json", "--plot", str(tmp_path / "fits.png")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["fits"]) == {"mlp", "cnn"}
    for f in out["fits"].values():
        assert f["family"] == "pow3" and set(f["params"]) == {"E", "A", "alpha"}
        assert f["params"]["alpha"]["low"] <= f["params"]["alpha"]["value"] <= f["params"]["alpha"]["high"]
        assert abs(f["params"]["alpha"]["value"] - 0.5) < 0.15
        assert f["trend"]["direction"] == "falls"
    (c,) = out["comparisons"]
    assert c["group"] == "mlp" and c["reference"] == "cnn"
    # truth: 0.2 + 20 (kx)^-½ = 0.2 + 5 x^-½  ⇒  k = 16
    assert c["exchange_rate"]["bootstrap"]["low"] < 16 < c["exchange_rate"]["bootstrap"]["high"]
    assert c["exchange_rate"]["low"] < 16 and c["exchange_rate"]["measured"]["x"] * 16 <= 1e4 * 1.2
    assert c["crossover"]["p_within"] < 0.1
    with Image.open(tmp_path / "fits.png") as im:
        assert im.size[0] > 400 and len(set(im.convert("L").getdata())) > 20  # a real figure, not blank


def test_a_fixed_family_and_words(csv):
    res = runner.invoke(app, ["fit", str(csv), "--x", "n", "--y", "loss", "--group", "model", "--family", "pow4"])
    assert res.exit_code == 0 and "mlp: pow4" in res.stdout and "cnn vs mlp" in res.stdout
    df = pd.read_csv(csv)
    df[df["n"] < 5000].to_csv(csv, index=False)  # 5 scales left
    res = runner.invoke(app, ["fit", str(csv), "--x", "n", "--y", "loss", "--group", "model", "--family", "bnsl"])
    assert res.exit_code == 2 and "need at least 6 distinct x values" in res.stderr


@pytest.mark.parametrize("edit, args, message", [
    (None, ["--x", "size"], "no column 'size'"),
    (lambda df: df.assign(n=df["n"].astype(object).where(df.index != 3, "ten")), [], "column 'n' row 5: 'ten'"),
    (lambda df: df.assign(n=df["n"].where(df.index != 0, -1.0)), [], "column 'n' row 2: -1.0 is not positive"),
    (lambda df: df[df["n"] < 300], [], "at least 3 distinct x values"),
    (lambda df: df.assign(loss=df["loss"].where(df.index != 2, 0.0)), [], "column 'loss' row 4: 0.0 is not positive"),
    (None, ["--family", "cubic"], "--family must be"),
])
def test_bad_csv_is_a_one_line_error_naming_the_culprit(csv, edit, args, message):
    if edit is not None:
        edit(pd.read_csv(csv)).to_csv(csv, index=False)
    base = ["fit", str(csv), "--x", "n", "--y", "loss", "--group", "model"]
    if args and args[0] == "--x":
        base[3] = args[1]
    elif args:
        base += args
    res = runner.invoke(app, base)
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def _fit(path, *extra):
    return runner.invoke(app, ["fit", str(path), "--x", "n", "--y", "loss", "--group", "model", *extra])


def _one_line_error(res, message):
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.parametrize("edit, extra, message", [
    (lambda df: df.iloc[0:0], ["--seed", "seed"], "has a header but no rows"),
    (lambda df: df.assign(seed=df["seed"].astype(object).where(df.index != 4, None)), ["--seed", "seed"],
     "column 'seed' row 6: the cell is empty"),
    (lambda df: df.assign(model=df["model"].where(df.index != 7, None)), [], "column 'model' row 9: the cell is empty"),
    (lambda df: df.assign(n=df["n"].where(df.index != 1, np.nan)), [], "column 'n' row 3: the cell is empty"),
])
def test_empty_cells_and_tables_are_named(csv, edit, extra, message):
    edit(pd.read_csv(csv)).to_csv(csv, index=False)
    _one_line_error(_fit(csv, *extra), message)


def test_a_directory_an_empty_file_and_a_bad_plot_suffix_are_one_line_errors(csv, tmp_path):
    _one_line_error(_fit(tmp_path), "is a directory")
    (tmp_path / "empty.csv").write_text("")
    _one_line_error(_fit(tmp_path / "empty.csv"), "the file is empty")
    # the suffix is checked before the fit runs: the CSV need not even exist
    _one_line_error(_fit(tmp_path / "missing.csv", "--plot", str(tmp_path / "out.jpg2")), "--plot")


def test_duplicate_rows_are_reported_and_averaged_or_kept_as_replicates(csv):
    df = pd.read_csv(csv)
    pd.concat([df, df.assign(loss=df["loss"] * 1.01)]).to_csv(csv, index=False)  # every (model, n, seed) twice
    res = _fit(csv, "--seed", "seed", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert any("96 rows repeat one of 48 (group, x, seed)" in n and "averaged" in n for n in out["notes"])
    res = _fit(csv, "--json")  # no seed column: the rows at one (model, n) are replicates
    assert res.exit_code == 0, res.output
    assert any("no --seed column: treated as replicates" in n for n in json.loads(res.stdout)["notes"])


def test_few_seeds_are_warned_and_every_interval_contains_its_estimate(csv):
    df = pd.read_csv(csv)
    df[(df["seed"] < 2) & (df["n"] < 5000)].to_csv(csv, index=False)  # 5 scales × 2 seeds
    res = _fit(csv, "--seed", "seed", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert any(w.startswith("2 seed(s)") and "under-cover" in w for w in out["warnings"])
    for f in out["fits"].values():
        for p in [*f["params"].values(), f["loss_at_10x"]]:
            assert p["low"] <= p["value"] <= p["high"], p


def test_the_text_says_who_needs_how_much_more_and_what_is_extrapolated(csv):
    res = _fit(csv, "--seed", "seed", "--reference", "cnn")
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("mlp vs cnn"))
    assert "mlp needs" in line and "the n of cnn to match cnn's loss" in line
    assert "extrapolated beyond mlp's largest measured n" in line  # k ≈ 16 at the largest scale
    assert "do not cross" in line or "cross at" in line


@pytest.fixture
def surface(tmp_path):
    """Four D levels × six N values, L = 1.8 + 400/N^0.34 + 2000/D^0.37, two seeds."""
    rng = np.random.default_rng(1)
    rows = [("lm", n, d, s, (1.8 + 400 * n**-0.34 + 2000 * d**-0.37) * np.exp(rng.normal(0, 0.005)))
            for n in np.geomspace(1e6, 1e9, 6) for d in (1e8, 1e9, 1e10, 1e11) for s in range(2)]
    path = tmp_path / "s.csv"
    pd.DataFrame(rows, columns=["model", "N", "D", "seed", "loss"]).to_csv(path, index=False)
    return path


def test_two_axis_plot_draws_one_fitted_line_per_d_level(surface, tmp_path):
    from bitterlab.analysis.grouped import fit_table, table
    from bitterlab.report.fit_figures import surface_figure

    res = runner.invoke(app, ["fit", str(surface), "--x", "N", "--x", "D", "--y", "loss", "--group", "model",
                              "--seed", "seed", "--plot", str(tmp_path / "surface.png")])
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "surface.png") as im:
        assert im.size[0] > 400 and len(set(im.convert("L").getdata())) > 20
    tab = table(pd.read_csv(surface), xs=["N", "D"], y="loss", group="model", seed="seed")
    fig = surface_figure(tab.frame, n="N", d="D", y="loss", group="model", fits=fit_table(tab).fits)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "d-level"]
    assert len(lines) == 4
    # each line is the fitted law at its level, and lies on that level's points (a 0.5% noise)
    pts = tab.frame
    for ln, d in zip(lines, (1e8, 1e9, 1e10, 1e11), strict=True):
        at = pts[pts["D"] == d]
        fitted = np.interp(np.log(at["N"]), np.log(ln.get_xdata()), ln.get_ydata())
        assert np.allclose(fitted, at["loss"], rtol=0.03)
    assert ax.get_legend() is not None and ax.get_legend().get_bbox_to_anchor().x0 > ax.bbox.x1 - 1  # outside


def test_two_axis_uses_seeds_notes_the_reference_and_warns_on_collinear_axes(surface, tmp_path):
    df = pd.read_csv(surface)
    pd.concat([df, df.assign(model="lm2")]).to_csv(surface, index=False)
    res = runner.invoke(app, ["fit", str(surface), "--x", "N", "--x", "D", "--y", "loss", "--group", "model",
                              "--seed", "seed", "--reference", "lm2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert any("reference 'lm2' is not used" in n for n in out["notes"])
    assert not any("collinear" in w for w in out["warnings"])
    line = df.assign(D=20 * df["N"])  # tokens = 20 · params
    line.to_csv(surface, index=False)
    res = runner.invoke(app, ["fit", str(surface), "--x", "N", "--x", "D", "--y", "loss", "--group", "model",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert any("collinear" in w for w in json.loads(res.stdout)["warnings"])


def test_predict_adds_intervals_and_reversal_probabilities(csv):
    res = _fit(csv, "--seed", "seed", "--predict", "5000", "--predict", "1e5", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for f in out["fits"].values():
        inside, beyond = f["predict"]
        assert (inside["x"], beyond["x"]) == (5000.0, 1e5) and not inside["extrapolated"] and beyond["extrapolated"]
        for p in (inside, beyond):
            assert 0 < p["low"] <= p["value"] <= p["high"]
    (c,) = out["comparisons"]
    assert [p["x"] for p in c["predict"]] == [5000.0, 1e5]
    inside, beyond = (p["p_reversed"] for p in c["predict"])
    # mlp is 4x cnn's amplitude: inside the range the recalibrated floor (LCDB: even confident pairs reverse
    # a few % of the time); beyond it the discrepancy term grows with the distance, and 1e5 is still likelier unswapped
    assert 0 < inside < 0.05 and inside < beyond < 0.25
    text = _fit(csv, "--seed", "seed", "--predict", "1e5").stdout
    assert "at n=1e+05" in text and "extrapolated" in text and "P(their order differs" in text
    _one_line_error(_fit(csv, "--predict", "-3"), "--predict takes positive")


def test_censored_rows_enter_the_fit_as_lower_bounds(csv):
    df = pd.read_csv(csv).assign(capped="no")
    low = df["model"].eq("cnn") & df["n"].eq(df["n"].max())
    df.loc[low, "loss"] *= 0.5  # far below the cnn curve, but only "at least this loss"
    df.loc[low, "capped"] = "yes"
    df.to_csv(csv, index=False)
    plain = json.loads(_fit(csv, "--seed", "seed", "--json").stdout)
    res = _fit(csv, "--seed", "seed", "--censored", "capped", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert any("4 censored rows" in n for n in out["notes"])
    # observed, the low points drag cnn's floor down; as lower bounds they are consistent with the curve
    assert out["fits"]["cnn"]["params"]["E"]["value"] > plain["fits"]["cnn"]["params"]["E"]["value"]
    assert out["fits"]["cnn"]["params"]["E"]["value"] == pytest.approx(0.2, rel=0.1)
    df.assign(capped="maybe").to_csv(csv, index=False)
    _one_line_error(_fit(csv, "--censored", "capped"), "column 'capped' row 2: 'maybe' is not true/false")


def test_no_runtime_warning_reaches_the_terminal(csv, tmp_path):
    """Run as a user would (a subprocess, no pytest warning filters): a flat group, a rising one and
    a two-axis fit write nothing to stderr."""
    import subprocess
    import sys

    df = pd.read_csv(csv)
    flat = df[df["model"] == "cnn"].assign(model="flat", loss=0.3)
    rising = df[df["model"] == "cnn"].assign(model="rising", loss=lambda d: 0.01 * d["n"] ** 0.3)
    pd.concat([df, flat, rising]).to_csv(csv, index=False)
    code = "from bitterlab.cli import app; app()"
    res = subprocess.run([sys.executable, "-c", code, "fit", str(csv), "--x", "n", "--y", "loss", "--group", "model",
                          "--seed", "seed", "--predict", "1e5", "--plot", str(tmp_path / "f.svg")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "" and "flat vs mlp" in res.stdout


def test_crossover_marks_are_drawn_by_probability_and_only_inside_the_plotted_range():
    from bitterlab.analysis.results import BandPoint, Crossover, GroupComparison
    from bitterlab.report.fit_figures import fit_figure

    frame = pd.DataFrame({"g": ["a", "a", "b", "b"], "n": [10.0, 100.0, 10.0, 100.0], "loss": [1.0, 0.5, 0.9, 0.6]})
    band = [BandPoint(x=x, value=1.0, low=0.9, high=1.1, extrapolated=x > 100) for x in (10.0, 100.0, 1000.0)]
    cross = lambda point, p_in, p_out: GroupComparison(  # noqa: E731
        group="b", reference="a", x=100.0, exchange_rate=None,
        crossover=Crossover(point=point, p_within=p_in, p_beyond_10x=p_out, extrapolation_supported=None, low=None,
                            high=None, widened=False))
    fig = fit_figure(frame, x="n", y="loss", group="g", bands={"a": band, "b": band},
                     comparisons=[cross(50.0, 0.2, 0.1), cross(500.0, 0.0, 0.9), cross(5e4, 0.0, 0.5)])
    ax = fig.axes[0]
    marks = [ln for ln in ax.get_lines() if ln.get_gid() == "crossover"]
    assert [ln.get_xdata()[0] for ln in marks] == [50.0, 500.0]  # 5e4 lies beyond the plotted 1000
    assert [ln.get_alpha() for ln in marks] == pytest.approx([0.3, 0.9])
    assert "P = 0.30" in marks[0].get_label()
    assert ax.get_legend().get_bbox_to_anchor().x0 > ax.bbox.x1 - 1  # the legend sits outside the data
