from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bitterlab.analysis.fit import PowerLaw, fit_power_law, fit_two_axis
from bitterlab.analysis.scaling import compare, exchange_rate, first_crossing, fit_with_bootstrap

CHINCHILLA = Path(__file__).resolve().parents[3] / "shared" / "data" / "chinchilla_epoch_replication.csv"


@pytest.mark.skipif(not CHINCHILLA.exists(), reason=f"reference data not found at {CHINCHILLA}")
def test_chinchilla_refit_reproduces_besiroglu_et_al_2024():
    df = pd.read_csv(CHINCHILLA).sort_values("loss").iloc[:-5]  # drop the 5 highest-loss rows
    n = df["Model Size"].to_numpy()
    d = df["Training FLOP"].to_numpy() / (6 * n)
    f = fit_two_axis(n, d, df["loss"].to_numpy())
    assert f.E == pytest.approx(1.8172, rel=0.01)
    assert f.A == pytest.approx(482.01, rel=0.05)
    assert f.B == pytest.approx(2085.43, rel=0.05)
    assert abs(f.alpha - 0.3478) <= 0.003 and abs(f.beta - 0.3658) <= 0.003


@pytest.mark.parametrize("E, A, alpha", [(0.5, 3.0, 0.4), (0.0, 10.0, 0.25), (1.2, 50.0, 1.1)])
def test_exact_power_laws_are_recovered(E, A, alpha):
    x = np.geomspace(10, 1e5, 9)
    f = fit_power_law(x, E + A * x**-alpha)
    assert f.alpha == pytest.approx(alpha, rel=1e-3)
    assert f.A == pytest.approx(A, rel=1e-2)
    assert f.E == pytest.approx(E, abs=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 3 distinct"):
        fit_power_law([1, 2, 2], [1, 1, 1])
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2, 3], [1, -1, 1])


def test_exchange_rate_closed_form():
    g, s = PowerLaw(E=0.0, A=1.0, alpha=0.5), PowerLaw(E=0.0, A=0.5, alpha=0.5)
    # L_g(kx) = L_s(x)  ⇔  (kx)^-½ = ½ x^-½  ⇔  k = 4, at every x
    assert exchange_rate(g, s, 100.0) == pytest.approx(4.0)
    # a generic floor above the structured loss: unreachable
    assert exchange_rate(PowerLaw(E=1.0, A=1.0, alpha=0.5), PowerLaw(E=0.1, A=1.0, alpha=0.5), 1e4) is None


def test_crossings_closed_form():
    # L_g = x^-0.5 (steeper) and L_s = 0.1 x^-0.25 cross where x^-0.25 = 0.1, x = 10^4
    g, s = PowerLaw(E=0.0, A=1.0, alpha=0.5), PowerLaw(E=0.0, A=0.1, alpha=0.25)
    assert first_crossing(g, s, 10, 1e6) == pytest.approx(1e4, rel=0.01)
    assert first_crossing(g, s, 10, 1e3) is None  # never inside this range
    parallel = PowerLaw(E=0.0, A=2.0, alpha=0.5)
    assert first_crossing(parallel, g, 1, 1e9) is None  # a constant ratio never crosses


def _curves(rows_g, rows_s):
    frame = lambda rows: pd.DataFrame(rows, columns=["x", "seed", "loss"])  # noqa: E731
    return (fit_with_bootstrap(frame(rows_g), "loss", n_boot=60), fit_with_bootstrap(frame(rows_s), "loss", n_boot=60))


def _simulate(law, xs, seeds, sigma, rng):
    return [(x, s, law(x) * np.exp(rng.normal(0, sigma))) for x in xs for s in range(seeds)]


def test_three_outcomes_are_distinguished():
    rng = np.random.default_rng(1)
    xs = np.geomspace(100, 1e4, 6)
    steep = PowerLaw(E=0.0, A=10.0, alpha=0.5)
    # crosses inside: steep generic meets a flatter structured curve at x = 10^3
    flat_mid = PowerLaw(E=0.0, A=10.0 * 1e3**-0.25, alpha=0.25)
    # crosses beyond: they meet at 5·10^4 (5x past the last point)
    flat_far = PowerLaw(E=0.0, A=10.0 * 5e4**-0.25, alpha=0.25)
    # gap persists: the structured curve is lower by a constant factor
    lower = PowerLaw(E=0.0, A=5.0, alpha=0.5)
    out = {}
    for name, s_law in [("inside", flat_mid), ("beyond", flat_far), ("never", lower)]:
        g, s = _curves(_simulate(steep, xs, 5, 0.01, rng), _simulate(s_law, xs, 5, 0.01, rng))
        out[name] = compare(g, s, 0.9)["crossover"]
    assert out["inside"]["p_within"] > 0.9 and out["inside"]["low"] < 1e3 < out["inside"]["high"]
    assert out["beyond"]["p_within"] < 0.1 and out["beyond"]["p_beyond_10x"] > 0.9
    assert out["never"]["p_within"] < 0.1 and out["never"]["p_beyond_10x"] < 0.1


def test_shape_warnings_fire_on_ill_behaved_curves_only():
    from bitterlab.analysis.scaling import shape_warnings

    rng = np.random.default_rng(0)
    xs = np.geomspace(100, 1e4, 6)
    good = pd.DataFrame([(x, s, (0.2 + 5 * x**-0.5) * np.exp(rng.normal(0, 0.01))) for x in xs for s in range(3)],
                        columns=["x", "seed", "loss"])
    assert shape_warnings(good, "loss", "g") == []
    bumpy = good.copy()
    bumpy.loc[bumpy["x"] == xs[3], "loss"] *= 3  # a rise far beyond seed noise, and an influential point
    found = shape_warnings(bumpy, "loss", "g")
    assert any("non-monotone" in w and f"{xs[3]:g}" in w for w in found)
    # the curve turns up at its last point: the robust fit ignores it, and then hangs on the first scale
    lever = good.copy()
    lever.loc[lever["x"] == xs[-1], "loss"] = 1.2 * (0.2 + 5 * xs[-2] ** -0.5)
    assert any("driven by few points" in w for w in shape_warnings(lever, "loss", "g"))


def test_held_out_check_prefers_the_law_on_a_power_law_and_the_baseline_on_a_plateau():
    from bitterlab.analysis.scaling import held_out_check

    xs = np.geomspace(100, 1e4, 6)
    law = pd.DataFrame([(x, 0.0, 5 * x**-0.5) for x in xs], columns=["x", "seed", "loss"])
    check = held_out_check(law, "loss")
    assert check["x"] == pytest.approx(1e4)
    assert check["power_law_error"] < 1e-3 < check["last_value_error"]
    # falls like a power law, then stops at the largest scale: the law over-predicts the gain
    plateau = law.copy()
    plateau.loc[plateau["x"] == xs[-1], "loss"] = float(law.loc[law["x"] == xs[-2], "loss"].iloc[0])
    check = held_out_check(plateau, "loss")
    assert check["last_value_error"] == pytest.approx(0.0) and check["power_law_error"] > 0.1
    assert held_out_check(law[law["x"] < 1000], "loss") is None
