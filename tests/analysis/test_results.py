"""The result types (issue 19 item 7): frozen, read by attribute, and JSON only by ``to_json()``, with
the keys docs/verdict.md documents (no more, no fewer) and plain JSON values."""

import dataclasses
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bitterlab.analysis import verdict  # noqa: E402
from bitterlab.analysis.grouped import fit_table, table  # noqa: E402
from bitterlab.analysis.results import FitReport, FitSummary, Interval, Verdict  # noqa: E402
from bitterlab.engine import InlineExecutor, Store, run_study, run_trial  # noqa: E402
from bitterlab.study import expand  # noqa: E402
from protocol_toy import GRID  # noqa: E402
from protocol_toy import study as protocol_study  # noqa: E402
from toy import study_2axis  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "verdict.md"
# the nested shapes docs/verdict.md spells out in its table and in the fits section
PER_SCALE = {"x", "winner", "difference", "low", "high", "decisive", "n_seeds", "generic_mean", "structured_mean"}
EXCHANGE = {"value", "x", "low", "high", "p_unreachable", "at_search_floor", "extrapolated", "extrapolation_supported",
            "bootstrap", "measured", "widened", "claim"}
MEASURED = {"x", "value", "low", "high", "widened"}
CROSSOVER = {"p_within", "p_beyond_10x", "point", "low", "high", "extrapolation_supported", "widened",
             "measured_sign_change"}
FIT = {"family", "formula", "params", "loss_at_10x", "trend", "selection", "widened", "at_bound"}
SELECTED = {"x", "values", "at_edge", "edge_options", "validation", "grid_points"}
BAND = {"x", "value", "low", "high", "extrapolated"}


def documented_keys() -> set[str]:
    """The verdict's top-level keys: the first column of docs/verdict.md's table."""
    keys = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            keys |= set(re.findall(r"`(\w+)`", line.split("|")[1]))
    return keys


@pytest.fixture(scope="module")
def toy2():
    """Verdicts of the two-axis toy: fits, an exchange rate, a crossover and a secondary sweep."""
    study = study_2axis()
    rows = []
    for t in expand(study, "quick"):
        r = run_trial(t)
        rows.append({**{k: getattr(r, k) for k in ("study", "task", "contender", "role", "x", "x2", "seed",
                                                     "budget", "status", "reason")}, **r.metrics})
    return verdict(study, pd.DataFrame(rows))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """The tuned protocol toy with a further verdict on MAE: tuned grid points and ``also``."""
    study = protocol_study(tuned=True, verdicts=("mae",))
    with Store(tmp_path_factory.mktemp("results") / "r.duckdb") as store:
        run_study(expand(study, "quick"), store, InlineExecutor())
        (v,) = verdict(study, store.frame())
    return v


def test_the_types_are_frozen(toy2):
    v = toy2[0]
    assert isinstance(v, Verdict) and isinstance(v.fits["g"], FitSummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.words = "something else"
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.per_scale[-1].winner = "g"
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.crossover.p_within = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.fits["g"].params["E"].low = 0.0
    assert isinstance(v.per_scale, tuple) and isinstance(v.warnings, tuple)


def test_a_verdicts_json_has_the_documented_keys(toy2, tuned):
    doc = documented_keys()
    assert {"study", "per_scale", "fits", "secondary", "also", "selected_by", "evidence"} <= doc  # the parse works
    main = toy2[0].to_json()
    assert set(main) == doc
    side = main["secondary"]
    assert set(side) == doc - {"also"} | {"at"} and side["at"] == {"axis": "n", "x": 1000.0}
    assert toy2[1].to_json()["secondary"] is None
    for v in (main, side):
        assert all(set(s) == PER_SCALE for s in v["per_scale"])
        assert set(v["exchange_rate"] or EXCHANGE) == EXCHANGE and set(v["crossover"]) == CROSSOVER
        assert v["exchange_rate"] is None or v["exchange_rate"]["measured"] is None or \
            set(v["exchange_rate"]["measured"]) == MEASURED
        for name, f in v["fits"].items():
            assert set(f) == FIT and set(f["params"]["E"]) == {"value", "low", "high"}
            assert set(f["loss_at_10x"]) == {"x", "value", "low", "high"} and set(f["trend"]) == {"slope", "direction"}
            assert all(set(b) == BAND for b in v["bands"][name])
        assert set(v["outcome"]) == {"name", "probability"} and set(v["evidence"]) == {"grade", "reasons"}
        assert v["contenders"][0] == {"name": "g", "role": "generic"}
    j = tuned.to_json()
    (also,) = j["also"]
    assert set(j) == doc and set(also) == doc - {"also"}
    assert all(set(p) == SELECTED for pts in j["selected"].values() for p in pts)
    assert j["selected"]["plain"][0]["grid_points"] == tuned.selected["plain"][0].n_points == len(GRID)


def test_the_json_is_plain_and_round_trips(toy2, tuned):
    for v in [*toy2, tuned]:
        j = v.to_json()
        text = json.dumps(j)  # no custom encoder: only dicts, lists, str, float, int, bool and None
        assert json.loads(text) == j
        assert list(j) == [f.name for f in dataclasses.fields(Verdict) if f.name in j]  # the fields' order
    j = toy2[0].to_json()
    assert isinstance(j["per_scale"], list) and isinstance(j["seeds"], list) and isinstance(j["level"], float)
    assert j["per_scale"][-1]["winner"] == toy2[0].per_scale[-1].winner == j["winner_at_largest"]
    assert j["words"] == toy2[0].words and j["words"].startswith("On a, at the largest measured examples")


def _csv_table(predict: bool):
    rng = np.random.default_rng(0)
    rows = [(m, x, s, (0.2 + a * x**-0.5) * np.exp(rng.normal(0, 0.02)))
            for m, a in [("mlp", 20.0), ("cnn", 5.0)] for x in np.geomspace(100, 1e4, 6) for s in range(4)]
    tab = table(pd.DataFrame(rows, columns=["model", "n", "seed", "loss"]), xs=["n"], y="loss", group="model",
                seed="seed")
    return fit_table(tab, reference="cnn", predict_at=(1e5,) if predict else ())


def test_the_fit_report_writes_the_json_of_bitterlab_fit():
    plain = _csv_table(predict=False)
    assert isinstance(plain, FitReport) and set(plain.bands) == {"mlp", "cnn"}
    j = plain.to_json()
    assert list(j) == ["fits", "comparisons", "warnings", "notes"]  # the bands are for --plot only
    assert all(set(f) == FIT for f in j["fits"].values())  # no "predict" key without --predict
    (c,) = j["comparisons"]
    assert set(c) == {"group", "reference", "x", "exchange_rate", "crossover"} and set(c["exchange_rate"]) == EXCHANGE
    assert set(c["crossover"]) == CROSSOVER - {"measured_sign_change"}  # a verdict's key only
    assert json.loads(json.dumps(j)) == j
    j = _csv_table(predict=True).to_json()
    assert set(j["fits"]["mlp"]["predict"][0]) == {"x", "value", "low", "high", "extrapolated"}
    assert set(j["comparisons"][0]["predict"][0]) == {"x", "p_reversed"}


def test_an_interval_keeps_none_as_null():
    assert Interval(value=1.0, low=None, high=2.0).to_json() == {"value": 1.0, "low": None, "high": 2.0}
