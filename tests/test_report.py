"""The report renders from a small store: structure (every study row, every image and link resolves)
and, where Debian's chromium is installed, a real headless browser renders the scoreboard."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bitterlab.cli import app
from bitterlab.engine import Store
from bitterlab.report import collect
from bitterlab.studies import STUDIES
from made_up import write_made_up

runner = CliRunner()


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.rows, self.title, self._in_title = [], [], "", False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("a", "link") and a.get("href"):
            self.refs.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.refs.append(a["src"])
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def test_analysis_in_worker_processes_equals_one_process(tmp_path):
    """collect(jobs=2) analyses studies in spawned workers: the verdicts are those of one process."""
    studies = [STUDIES["grammar"], STUDIES["search"]]
    write_made_up(tmp_path / "r.duckdb", studies)
    with Store(tmp_path / "r.duckdb", read_only=True) as st:
        df = st.frame()
    one, two = collect(df, studies, jobs=1), collect(df, studies, jobs=2)
    assert [e.study.name for e in two] == ["grammar", "search"]
    assert [[v.to_json() for v in e.verdicts] for e in two] == [[v.to_json() for v in e.verdicts] for e in one]
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        collect(df, studies, jobs=0)
    with pytest.raises(LookupError, match="no results for study 'seasonal'"):  # found before any analysis runs
        collect(df, [*studies, STUDIES["seasonal"]], jobs=2)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """Made-up results for every built-in study (3 seeds; the structured contender 20% better; one
    failed trial per study), rendered by `bitterlab report`."""
    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "r.duckdb"
    write_made_up(path, list(STUDIES.values()))
    out = tmp / "site"
    res = runner.invoke(app, ["report", "--store", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_every_study_and_task_has_a_scoreboard_row_and_a_page(report_dir):
    index = (report_dir / "index.html").read_text()
    for study in STUDIES.values():
        assert (report_dir / f"{study.name}.html").exists()
        for task in study.tasks:
            assert f'<tr class="head"><td><a href="{study.name}.html">{study.name}</a></td><td>{task.name}</td>' in index
        page = (report_dir / f"{study.name}.html").read_text()
        assert f"bitterlab run {study.name} --budget quick" in page
        assert "failed trials: 1 of" in page
        if study.secondary is not None and study.budgets["quick"].secondary:
            assert (report_dir / f"{study.name}-{study.secondary.name}.png").exists()
            for task in study.budgets["quick"].secondary:
                assert f"<h4>Along {study.secondary.label} — {task}," in page
    assert index.count('<tr class="head"><td><a href=') == sum(len(s.tasks) for s in STUDIES.values())
    assert "geometry.html" in index


def test_every_image_and_link_resolves(report_dir):
    pages = sorted(report_dir.glob("*.html"))
    assert len(pages) == len(STUDIES) + 2  # studies, scoreboard, geometry
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        assert parser.title.startswith("bitterlab"), page.name
        for ref in parser.refs:
            assert "://" not in ref, f"{page.name} links outside the report: {ref}"
            target = report_dir / ref.split("#")[0]
            assert target.exists() and target.stat().st_size > 0, f"{page.name}: broken link {ref}"
    with Image.open(report_dir / "geodesics.gif") as gif:
        assert gif.n_frames > 1


def test_geometry_page_shows_the_regimes_table(report_dir):
    page = (report_dir / "geometry.html").read_text()
    for measure in ("KL", "Fisher-Rao", "W2"):
        assert f"<th>{measure}</th>" in page
    assert "<img src=\"geodesics.gif\"" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it with apt "
                    "where it can: apt-get install chromium)")
def test_headless_chromium_renders_the_scoreboard(report_dir, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    url = (report_dir / "index.html").resolve().as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert "<title>bitterlab — scoreboard</title>" in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "scoreboard.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1280,1000", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120)
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.shape == (1000, 1280)
    assert pixels.std() > 10  # not blank: text and table rules on white
    assert (pixels < 100).mean() > 0.005  # some dark (text) pixels


def test_a_short_axis_is_labelled_at_its_measured_values():
    """Two widths, 8 and 16 (less than a decade): the ticks are the measured values, labelled as the
    words print numbers; a four-decade axis keeps matplotlib's powers of ten."""
    import pandas as pd

    from bitterlab.report.figures import study_figure
    from toy import study

    s = study()
    def frame(xs):
        return pd.DataFrame([{"task": s.tasks[0].name, "contender": c.name, "status": "ok", "x": x, "seed": seed,
                              s.metric: 1.0 / x + 0.01 * seed} for c in s.contenders for x in xs for seed in (0, 1)])

    fig = study_figure(s, frame([8, 16]))
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16"]
    assert all(t.get_text() == "" for t in ax.get_xticklabels(minor=True))
    wide = study_figure(s, frame([10, 100, 1000, 10000]))
    wide.canvas.draw()
    assert [x for x in wide.axes[0].get_xticks() if 10 <= x <= 10000] == [10, 100, 1000, 10000]
    assert "8" not in [t.get_text() for t in wide.axes[0].get_xticklabels()]


def test_importing_the_figures_leaves_matplotlibs_backend_alone():
    import os
    import subprocess
    import sys

    code = ("import matplotlib; before = matplotlib.get_backend(); import bitterlab.report.render, "
            "bitterlab.report.fit_figures, bitterlab.geometry.animate; assert matplotlib.get_backend() == before, "
            "(before, matplotlib.get_backend()); print(before)")
    env = {**os.environ, "MPLBACKEND": "svg"}  # HOME kept: matplotlib's font cache is found, not rebuilt
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "svg"
