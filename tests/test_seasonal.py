import dataclasses

import numpy as np
import pandas as pd
import pytest

from bitterlab.engine import run_trial
from bitterlab.studies.seasonal import (ELEC_PERIODS, STUDY, elecdemand, features, load_task, synthetic_series)
from bitterlab.study import expand


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
    f = features(df, **norm)
    assert f.shape == (1000, 3 + 2 * (3 + 2))
    shifted = features(df.assign(t=df["t"] + 336), **norm)  # one week later: every sin/cos is the same
    np.testing.assert_allclose(shifted[:, 3:], f[:, 3:], atol=1e-9)
    assert features(df, **{**norm, "periods": ()}).shape == (1000, 3)


@pytest.mark.parametrize("task", ["synthetic", "elecdemand"])
def test_both_contenders_train_on_a_tiny_size_and_are_deterministic(task):
    tiny = dataclasses.replace(STUDY, budgets={"quick": dataclasses.replace(
        STUDY.budgets["quick"], options={"width": 8, "depth": 1, "steps": 60, "lr": 1e-2})})
    trials = [t for t in expand(tiny, "quick", seeds=1) if t.task == task and t.x == min(
        STUDY.budgets["quick"].grid[task])]
    assert {t.contender for t in trials} == {"relu-mlp", "fourier-mlp"}
    for t in trials:
        r, again = run_trial(t), run_trial(t)
        assert r.status == "ok", r.reason
        assert r.metrics == again.metrics
        assert set(r.metrics) == set(STUDY.metrics)
        assert r.params > 0 and r.flops > 0
        assert r.flops % (6 * r.params * r.steps) == 0  # 6 · params · examples · steps


def test_quick_budget_declares_enough_points_and_seeds():
    quick = STUDY.budgets["quick"]
    assert quick.seeds >= 3
    for grid in quick.grid.values():
        assert len(grid) >= 5 and max(grid) / min(grid) >= 10 ** 1.5
