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
    assert c["exchange_rate"]["low"] < 16 < c["exchange_rate"]["high"]
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
