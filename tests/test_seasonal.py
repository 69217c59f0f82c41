import dataclasses

import numpy as np
import pandas as pd
import pytest

from bitterlab.engine import run_trial
from bitterlab.studies.seasonal import (ELEC_PERIODS, STUDY, SYNTHETIC_PERIODS, VAL_TAIL, elecdemand, features,
                                        load_task, phase, prepare, synthetic_series)
from bitterlab.study import expand
from protocol_checks import assert_batched_equals_one_by_one, assert_protocol_result, assert_tuned_verdict, tiny


def test_elecdemand_is_the_real_table_with_rebuilt_timestamps():
    df = elecdemand()
    assert len(df) == 17520 and "rownames" not in df
    assert df["timestamp"].iloc[0] == pd.Timestamp("2014-01-01 00:00")
    assert df["timestamp"].iloc[-1] == pd.Timestamp("2014-12-31 23:30")
    assert df["demand"].between(2, 10).all()  # GW, Victoria
    assert set(df["workday"].unique()) == {0.0, 1.0}
    # the daily cycle is there: demand at 18:00 exceeds demand at 04:00 on average
    hour = df["timestamp"].dt.hour
    assert df.loc[hour == 18, "demand"].mean() > df.loc[hour == 4, "demand"].mean() + 0.5


def test_synthetic_series_is_seeded_and_noise_has_the_declared_scale():
    a, b = synthetic_series(2000, 1), synthetic_series(2000, 1)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["demand"], synthetic_series(2000, 2)["demand"])
    assert np.std(a["demand"] - a["truth"]) == pytest.approx(0.4, rel=0.1)


def test_window_and_horizon_are_contiguous():
    train, future = load_task("elecdemand", 672, 336, seed=3)
    assert len(train) == 672 and len(future) == 336
    assert future["t"].iloc[0] == train["t"].iloc[-1] + 1
    with pytest.raises(ValueError, match="exceeds"):
        load_task("elecdemand", 17520, 336, seed=0)


def test_fourier_features_repeat_with_their_period():
    df = elecdemand().iloc[:1000]
    norm = dict(t_center=0.0, t_scale=1.0, temp_mean=0.0, temp_std=1.0, periods=ELEC_PERIODS[:2])
    f = features(df, **norm, phases=True, fourier=True)
    assert f.shape == (1000, 3 + 2 + 2 * (3 + 2))
    shifted = features(df.assign(t=df["t"] + 336), **norm, phases=True, fourier=True)  # one week later
    np.testing.assert_allclose(shifted[:, 3:], f[:, 3:], atol=1e-9)  # every phase and sin/cos is the same
    assert features(df, **norm, phases=False, fourier=False).shape == (1000, 3)
    # the generic's and the structured's inputs share their first columns: the sin/cos are added, nothing else
    np.testing.assert_array_equal(features(df, **norm, phases=True, fourier=False), f[:, :5])


def test_elecdemand_phase_features_equal_the_calendar_phases():
    df = elecdemand()
    ts = df["timestamp"]
    norm = dict(t_center=0.0, t_scale=1.0, temp_mean=0.0, temp_std=1.0, periods=ELEC_PERIODS)
    raw = (features(df, **norm, phases=True, fourier=False)[:, 3:6] + 1) / 2  # back from 2φ − 1 to φ ∈ [0, 1)
    hour = ts.dt.hour + ts.dt.minute / 60
    np.testing.assert_allclose(raw[:, 0] * 24, hour, atol=1e-9)  # hour of day
    np.testing.assert_allclose(raw[:, 1] * 7, ts.dt.dayofweek + hour / 24, atol=1e-9)  # day of week, Monday = 0
    np.testing.assert_allclose(raw[:, 2] * 365, ts.dt.dayofyear - 1 + hour / 24, atol=1e-9)  # day of year
    assert raw.min() >= 0 and raw.max() < 1


def test_synthetic_phase_features_equal_the_phases_of_the_true_cycles():
    df = synthetic_series(400, seed=0)
    norm = dict(t_center=0.0, t_scale=1.0, temp_mean=20.0, temp_std=1.0, periods=SYNTHETIC_PERIODS)
    f = features(df, **norm, phases=True, fourier=True)
    np.testing.assert_allclose((f[:, 3] + 1) / 2 * 24, df["t"] % 24, atol=1e-9)  # hour of day
    np.testing.assert_allclose((f[:, 4] + 1) / 2 * 168, df["t"] % 168, atol=1e-9)  # hour of week
    # the truth's cycles are linear in the Fourier features: least squares on them (and temperature, time)
    # recovers the truth exactly, while the raw phases alone (a sawtooth) leave an error
    design = np.column_stack([np.ones(len(df)), f[:, [0, 1]], f[:, 5:]])
    coef, *_ = np.linalg.lstsq(design, df["truth"], rcond=None)
    np.testing.assert_allclose(design @ coef, df["truth"], atol=1e-8)
    linear = np.column_stack([np.ones(len(df)), f[:, :5]])
    coef, *_ = np.linalg.lstsq(linear, df["truth"], rcond=None)
    assert np.std(linear @ coef - df["truth"]) > 0.5


def test_phase_wraps_at_the_period():
    np.testing.assert_allclose(phase(np.array([0.0, 12.0, 23.5, 24.0, 36.0, -1.0]), 24.0),
                               [0, 0.5, 23.5 / 24, 0, 0.5, 23 / 24])
    np.testing.assert_allclose(phase(np.array([0.0, 240.0]), 336.0, origin=96.0), [96 / 336, 0])


TINY = {"width": 8, "depth": 1, "batch_size": 256, "max_steps": 300, "eval_every": 10, "patience": 5}


@pytest.mark.parametrize(("task", "x"), [("synthetic", 768), ("elecdemand", 336)])
def test_every_contender_trains_on_a_tiny_size_beats_the_window_mean_and_is_deterministic(task, x):
    trials = [t for t in expand(tiny(STUDY, TINY), "quick", seeds=1) if t.task == task and t.x == x
              and t.tuned["lr"] == 1e-2]
    assert {t.contender for t in trials} == {"relu-mlp", "fourier-mlp", "time-only-mlp"}
    train, _ = load_task(task, int(x), STUDY.task(task).options["horizon"], seed=0)
    mean_guess = float(train["demand"].std())  # the in-window RMSE of predicting the window's mean
    for t in trials:
        r, again = run_trial(t), run_trial(t)
        assert_protocol_result(r, STUDY)
        assert (r.metrics, r.validation, r.steps) == (again.metrics, again.validation, again.steps)
        assert r.flops % (6 * r.params) == 0  # 3 × (2 · params) per example seen
        assert r.metrics["in_window_rmse"] < mean_guess  # every contender beats the window's mean inside it
        if t.contender == "fourier-mlp":  # the cycles are in its features: it fits them and carries them on
            assert r.metrics["in_window_rmse"] < 0.5 * mean_guess and r.metrics["forecast_rmse"] < 0.7 * mean_guess
        elif t.contender == "relu-mlp":  # the phases carry the cycles: it fits them inside the window
            assert r.metrics["in_window_rmse"] < 0.75 * mean_guess and r.metrics["forecast_rmse"] < mean_guess


def test_validation_is_carved_from_the_window_and_the_tail_validates_the_forecast():
    trial = next(t for t in expand(STUDY, "quick") if t.task == "synthetic" and t.x == 384)
    prep = prepare(trial)
    window, _ = load_task("synthetic", 384, 168, trial.seed)
    tail, inside_val = prep.val_parts["forecast_rmse"], prep.val_parts["in_window_rmse"]
    assert tail["t"].tolist() == window["t"].iloc[-len(tail):].tolist()  # the window's last steps
    assert len(tail) == round(VAL_TAIL * 384)
    fitted_t = set((prep.member.train[0][:, 0].numpy() * prep.norm["t_scale"] + prep.norm["t_center"]).round(6))
    test_t = set(prep.parts["in_window_rmse"]["t"]) | set(prep.parts["forecast_rmse"]["t"])
    val_t = set(tail["t"]) | set(inside_val["t"])
    assert not (fitted_t & val_t) and not (fitted_t & test_t) and not (val_t & test_t)
    assert max(fitted_t) < tail["t"].min() and len(prep.member.val[0]) == len(tail) + len(inside_val)


def test_batched_trials_equal_one_by_one_in_float64():
    study = tiny(STUDY, {**TINY, "dtype": "float64"}, seeds=2)
    for contender in ("relu-mlp", "fourier-mlp"):  # the reference is untuned at quick: one grid point
        assert_batched_equals_one_by_one([t for t in expand(study, "quick") if t.task == "elecdemand"
                                          and t.contender == contender and t.x == 336])


def test_a_tiny_tuned_run_selects_a_learning_rate_per_window(tmp_path):
    study = tiny(STUDY, TINY, grid={"synthetic": (96, 192, 384, 768, 1536)}, seeds=2)
    (v,) = assert_tuned_verdict(study, tmp_path)
    assert {p.x for p in v.selected["relu-mlp"]} == {96, 192, 384, 768, 1536}


def test_quick_budget_declares_enough_points_and_seeds():
    quick = STUDY.budgets["quick"]
    assert quick.seeds >= 5 and STUDY.axis.kind == "data"
    grids = {c.name: c.tune["lr"] for c in STUDY.contenders}
    assert len(set(grids.values())) == 1, grids  # every contender is tuned over the same rates
    for grid in grids.values():
        assert len(grid) >= 3 and "lr" not in quick.options
    full = {STUDY.tune_grid(c.name, "full")["lr"] for c in STUDY.contenders}
    assert len(full) == 1
    assert STUDY.secondary.kind == "width" and all(len(v) >= 3 for v in quick.secondary.values())
    for grid in quick.grid.values():
        assert len(grid) >= 5 and max(grid) / min(grid) >= 10 ** 1.5
