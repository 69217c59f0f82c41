"""The verdict along a secondary axis: swept at the largest main-axis value, its own per-scale table,
fits and exchange rate; the main verdict reads the main sweep only."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bitterlab.analysis import verdict  # noqa: E402
from bitterlab.analysis.results import Evidence  # noqa: E402
from bitterlab.analysis.verdict import split_axes  # noqa: E402
from bitterlab.engine import run_trial  # noqa: E402
from bitterlab.study import expand  # noqa: E402
from toy import study_2axis  # noqa: E402


def _frame(study):
    rows = []
    for t in expand(study, "quick"):
        r = run_trial(t)
        rows.append({**{k: getattr(r, k) for k in ("study", "task", "contender", "role", "x", "x2", "seed",
                                                     "budget", "status", "reason")}, **r.metrics})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results():
    return _frame(study_2axis())


def test_split_axes(results):
    s = study_2axis()
    a = results[results["task"] == "a"]
    main, sweep = split_axes(s, "a", a, "quick")
    assert set(main["x2"]) == {16.0} and sorted(set(main["x"])) == [10.0, 30.0, 100.0, 300.0, 1000.0]
    assert sorted(set(sweep.x)) == [4.0, 16.0, 64.0, 256.0, 1024.0]  # x now holds the width
    assert len(sweep) == 5 * 2 * 3 and set(sweep["role"]) == {"generic", "structured"}
    _, none = split_axes(s, "b", results[results["task"] == "b"], "quick")
    assert none is None
    old = a.assign(x2=np.nan)  # a store before schema 2: every row is in the main sweep
    assert len(split_axes(s, "a", old, "quick")[0]) == len(old)


def test_verdict_along_the_secondary_axis(results):
    a, b = verdict(study_2axis(), results)
    assert a.secondary.axis == "width" and a.secondary.at.to_json() == {"axis": "n", "x": 1000.0}
    assert b.secondary is None
    assert [p.x for p in a.per_scale] == [10.0, 30.0, 100.0, 300.0, 1000.0]
    side = a.secondary
    assert [p.x for p in side.per_scale] == [4.0, 16.0, 64.0, 256.0, 1024.0]
    # the toy: difference (g − s) = 2·1000^-0.3 − 2·1000^-0.5 + (8 − 3)·w^-0.5 + seed noise (shared by seed)
    for p in side.per_scale:
        expect = 2 * 1000**-0.3 - 2 * 1000**-0.5 + 5 * p.x ** -0.5
        assert p.difference == pytest.approx(expect, abs=1e-9)
    # the shared point (1000, width 16) is the same trials in both sweeps
    last = a.per_scale[-1]
    shared = next(p for p in side.per_scale if p.x == 16.0)
    assert shared.difference == pytest.approx(last.difference)
    # fitted along width: the generic's floor is 0.1 + 2·1000^-0.3 = 0.352, above the structured loss at
    # width 1024 (0.1 + 2·1000^-0.5 + 3/32 = 0.257), so no width closes the gap: exchange rate null
    assert side.fits["g"].params["E"].value == pytest.approx(0.1 + 2 * 1000**-0.3, rel=0.02)
    assert side.exchange_rate is None and "exchange rate undefined" in side.words
    assert side.words.startswith("Along width, at examples 1e+03:")


def test_a_condition_axis_is_compared_not_fitted(results):
    s = study_2axis(scale=False)
    a = verdict(s, results)[0].secondary
    assert a.axis_is_scale is False and a.fits is None and a.exchange_rate is None
    assert "is a condition, not a scale" in a.words
    assert len(a.per_scale) == 5


def test_a_fitted_crossing_without_a_measured_sign_change_is_labelled(results):
    """The toy's structured contender wins decisively at every scale: whatever the fitted curves do,
    the data never changes sign, and the crossover says so."""
    a = verdict(study_2axis(), results)[0]
    assert all(p.winner == "s" and p.decisive for p in a.per_scale)
    assert a.crossover.measured_sign_change is False
    flipped = results.assign(loss=np.where((results["x"] == 10.0) & (results["contender"] == "s"), 9.0,
                                           results["loss"]))  # s loses badly at the first scale
    b = verdict(study_2axis(), flipped)[0]
    assert b.per_scale[0].winner == "g" and b.per_scale[0].decisive
    assert b.crossover.measured_sign_change is True


def test_each_verdict_has_one_evidence_grade_and_the_scoreboard_sorts_by_it(results):
    from bitterlab.analysis.evidence import GRADES
    from bitterlab.report.tables import scoreboard

    s = study_2axis()
    a, b = verdict(s, results)
    for v in (a, b, a.secondary):
        assert v.evidence.grade in GRADES and v.evidence.reasons
    # toy: 3 seeds, so never "strong"
    assert a.evidence.grade == "suggestive" and any("3 seeds" in r for r in a.evidence.reasons)
    weak = dataclasses.replace(b, evidence=Evidence(grade="inconclusive", reasons=("x",)))
    board = scoreboard([(s, [weak, a])])
    assert list(board["evidence"]) == ["suggestive", "inconclusive"]  # strongest first
    assert list(board["task"]) == [a.task, b.task]
