import dataclasses

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from bitterlab.engine import run_trial
from bitterlab.studies.metric_loss import (STUDY, insteval, load, movies, smooth, synthetic, true_conditional,
                                           w1_bins)
from bitterlab.study import expand
from bitterlab.train import FitConfig
from bitterlab.train.distributional import fit_distribution, predict_distribution


def test_w1_bins_matches_scipy():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(7), 5), rng.dirichlet(np.ones(7), 5)
    k = np.arange(7)
    expected = [wasserstein_distance(k, k, a, b) for a, b in zip(p, q, strict=True)]
    np.testing.assert_allclose(w1_bins(p, q), expected, rtol=1e-10)


def test_smoothing_keeps_the_mode_and_mean_of_an_interior_label_and_spreads_it():
    t = np.eye(11)[[5]]
    s = smooth(t, 1.0)
    assert s.sum() == pytest.approx(1.0) and s.argmax() == 5
    assert (s * np.arange(11)).sum() == pytest.approx(5.0)  # symmetric kernel, far from the edges
    assert s[0, 4] == pytest.approx(s[0, 5] * np.exp(-0.5))


def test_synthetic_labels_follow_the_true_conditional():
    split = synthetic(10, 20000, seed=0)
    p = true_conditional(split.x_train, 10)
    np.testing.assert_allclose(p.sum(1), 1.0)
    # the label frequencies match the average conditional within Monte-Carlo error
    freq, mean = split.t_train.mean(0), p.mean(0)
    assert np.all(np.abs(freq - mean) < 4 * np.sqrt(mean * (1 - mean) / 20000) + 1e-9)
    # the truth is the best possible prediction in expected absolute error: it beats the marginal
    assert w1_bins(split.truth_test, split.t_test).mean() < w1_bins(np.tile(mean, (3000, 1)), split.t_test).mean()


def test_real_targets():
    x, t = movies()
    assert len(x) == 15713 and t.shape == (15713, 10)
    np.testing.assert_allclose(t.sum(1), 1.0)
    x, t = insteval()
    assert len(x) == 73421 and t.shape == (73421, 5) and set(t.sum(1)) == {1.0}
    a, b = load("movies", 100, 1), load("movies", 100, 1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    with pytest.raises(ValueError, match="pool has"):
        load("movies", 10**6, 0)


@pytest.mark.parametrize("loss", ["ce", "emd2"])
def test_the_distribution_model_learns_the_synthetic_conditional(loss):
    split = synthetic(10, 1000, seed=2)
    fitted = fit_distribution(split.x_train, split.t_train, loss, FitConfig(width=32, depth=2, steps=200, lr=1e-2))
    p = predict_distribution(fitted, split.x_test)
    marginal = np.tile(split.t_train.mean(0), (len(p), 1))
    assert w1_bins(p, split.truth_test).mean() < 0.6 * w1_bins(marginal, split.truth_test).mean()


def test_each_contender_trains_on_a_tiny_size_and_beats_a_uniform_guess():
    tiny = dataclasses.replace(STUDY, budgets={"quick": dataclasses.replace(
        STUDY.budgets["quick"], options={"width": 16, "depth": 1, "steps": 80, "lr": 1e-2})})
    for task in ("synthetic", "movies", "insteval"):
        trials = [t for t in expand(tiny, "quick", seeds=1) if t.task == task and t.x == 338]
        assert len(trials) == 3
        bins = load(task, 10, 0).t_test.shape[1]
        uniform = np.full((1, bins), 1 / bins)
        test = load(task, 10, 0).t_test
        chance = w1_bins(np.repeat(uniform, len(test), 0), test).mean()
        for t in trials:
            r = run_trial(t)
            assert r.status == "ok", r.reason
            assert r.metrics["expected_abs_error"] < chance
            assert r.metrics == run_trial(t).metrics
