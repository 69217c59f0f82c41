import dataclasses

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

import torch

from bitterlab.engine import run_trial
from bitterlab.studies.metric_loss import (STUDY, insteval, load, movies, prepare, smooth, synthetic,
                                           true_conditional, w1_bins)
from bitterlab.study import expand
from bitterlab.train.distributional import distribution_loss, predict_distribution
from bitterlab.train.mlp import mlp
from bitterlab.train.trainer import Member, TrainConfig, fit_one
from protocol_checks import assert_batched_equals_one_by_one, assert_protocol_result, assert_tuned_verdict, tiny


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
    x, t = torch.as_tensor(split.x_train, dtype=torch.float32), torch.as_tensor(split.t_train, dtype=torch.float32)
    member = Member(seed=0, train=(x[200:], t[200:]), val=(x[:200], t[:200]),
                    cfg=TrainConfig(lr=1e-2, batch_size=256, max_steps=1000, eval_every=10, patience=10))
    trained = fit_one(lambda: mlp(4, 32, 2, 10), distribution_loss(loss), member)
    p = predict_distribution(trained.model, split.x_test)
    marginal = np.tile(split.t_train.mean(0), (len(p), 1))
    assert w1_bins(p, split.truth_test).mean() < 0.6 * w1_bins(marginal, split.truth_test).mean()


TINY = {"width": 16, "depth": 1, "batch_size": 256, "max_steps": 300, "eval_every": 10, "patience": 5}


def test_each_contender_trains_on_a_tiny_size_and_beats_a_uniform_guess():
    for task in ("synthetic", "movies", "insteval"):
        trials = [t for t in expand(tiny(STUDY, TINY), "quick", seeds=1) if t.task == task and t.x == 338
                  and t.tuned["lr"] == 1e-2]
        assert len(trials) == 3
        test = load(task, 10, 0).t_test
        uniform = np.full((1, test.shape[1]), 1 / test.shape[1])
        chance = w1_bins(np.repeat(uniform, len(test), 0), test).mean()
        for t in trials:
            r = run_trial(t)
            assert_protocol_result(r, STUDY)
            assert r.metrics["expected_abs_error"] < chance and r.validation["expected_abs_error"] < chance
            again = run_trial(t)
            assert (r.metrics, r.validation) == (again.metrics, again.validation)


def test_the_validation_split_is_carved_from_the_training_examples():
    trial = next(t for t in expand(STUDY, "quick") if t.task == "synthetic" and t.x == 338 and t.x2 == 10
                 and t.contender == "gaussian-smoothing")
    prep = prepare(trial)
    n_fit, n_val = len(prep.member.train[0]), len(prep.member.val[0])
    assert n_fit + n_val == 338 and n_val == round(0.2 * 338)
    rows = {tuple(r) for r in prep.data.x_train.round(9)}
    assert {tuple(r) for r in prep.x_val.round(9)} <= rows  # from the training examples, not the test set
    assert not {tuple(r) for r in prep.x_val.round(9)} & {tuple(r) for r in prep.data.x_test.round(9)}
    assert set(prep.t_val.sum(1).round(9)) == {1.0} and prep.t_val.max() == 1.0  # observed, not smoothed
    np.testing.assert_allclose(prep.truth_val, true_conditional(prep.x_val, 10))


def test_batched_trials_equal_one_by_one_in_float64():
    study = tiny(STUDY, {**TINY, "max_steps": 60, "dtype": "float64"}, seeds=2)
    assert_batched_equals_one_by_one([t for t in expand(study, "quick") if t.task == "movies"
                                      and t.contender == "squared-emd" and t.x == 147])


def test_a_tiny_tuned_run_selects_a_learning_rate_per_size_and_per_number_of_bins(tmp_path):
    study = tiny(STUDY, {**TINY, "max_steps": 40}, grid={"synthetic": (64, 128, 256, 512, 1024)},
                 seeds=2, secondary={"synthetic": (5, 10, 20)})
    (v,) = assert_tuned_verdict(study, tmp_path)
    assert {p["x"] for p in v["selected"]["squared-emd"]} == {64, 128, 256, 512, 1024}
    assert v["secondary"]["tuned"] is True and {p["x"] for p in v["secondary"]["selected"]["squared-emd"]} == {5, 10, 20}
