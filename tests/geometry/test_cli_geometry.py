import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bitterlab.cli import app

runner = CliRunner()


def test_distance_prints_every_defined_distance():
    res = runner.invoke(app, ["distance", "normal:0,1", "normal:3,2"])
    assert res.exit_code == 0
    lines = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert float(lines["W2"]) == pytest.approx(np.sqrt(9 + 1), rel=1e-5)
    assert lines["Sinkhorn(reg=0.05)"].startswith("not defined")


def test_distance_bad_input():
    res = runner.invoke(app, ["distance", "points:0,1@0.5,0.6", "normal:0,1"])
    assert res.exit_code == 2 and "must sum to 1" in res.stderr


def test_regimes_table():
    res = runner.invoke(app, ["regimes", "--eps", "0.01"])
    assert res.exit_code == 0
    disjoint = next(line for line in res.stdout.splitlines() if line.startswith("disjoint support")).split()
    assert disjoint[2:9] == ["inf", "0.6931", "1", "1", "3.142", "0.01", "0.01"]


def test_geodesic_gif_has_the_frames_and_size(tmp_path):
    out = tmp_path / "g.gif"
    res = runner.invoke(app, ["geodesic", "normal:-3,1", "normal:3,1", "--out", str(out), "--frames", "12"])
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.n_frames == 12
        assert im.size == (1008, 272)  # three panels of 4.2 x 3.4 inches at 80 dpi
        im.seek(6)
        assert len(set(im.convert("L").getdata())) > 5  # a drawn frame, not a blank one


def test_geodesic_rejects_unknown_suffix(tmp_path):
    res = runner.invoke(app, ["geodesic", "normal:0,1", "normal:1,1", "--out", str(tmp_path / "g.png")])
    assert res.exit_code == 2 and ".gif or .mp4" in res.stderr
