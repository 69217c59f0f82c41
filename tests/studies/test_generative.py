import dataclasses

import numpy as np
import ot
import pytest
import torch

from bitterlab.geometry import sliced_wasserstein_batched
from bitterlab.studies.generative import (STUDY, load, mixture_modes, mode_scores, run, run_batch, support_scores,
                                          train_generators, w2_exact)
from bitterlab.study import expand


def test_batched_sliced_wasserstein_matches_pot_with_the_same_projections():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 40, 2)), rng.normal(1.0, 2.0, size=(3, 40, 2))
    theta = rng.normal(size=(3, 16, 2))
    theta /= np.linalg.norm(theta, axis=-1, keepdims=True)
    got = sliced_wasserstein_batched(*(torch.as_tensor(a) for a in (x, y, theta))).numpy()
    for s in range(3):
        assert got[s] == pytest.approx(ot.sliced_wasserstein_distance(x[s], y[s], projections=theta[s].T), rel=1e-10)
    with pytest.raises(ValueError):
        sliced_wasserstein_batched(torch.zeros(2, 5, 2), torch.zeros(2, 6, 2), torch.zeros(2, 3, 2))


def test_batched_sliced_wasserstein_gradient_matches_pot():
    """The CPU path sorts by NumPy's permutation and gathers: its gradient must be POT's (torch backend)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 30, 2)), rng.normal(0.5, 1.5, size=(2, 30, 2))
    theta = rng.normal(size=(2, 8, 2))
    theta /= np.linalg.norm(theta, axis=-1, keepdims=True)
    xt = torch.tensor(x, requires_grad=True)
    sliced_wasserstein_batched(xt, torch.as_tensor(y), torch.as_tensor(theta)).sum().backward()
    for s in range(2):
        xs = torch.tensor(x[s], requires_grad=True)
        ot.sliced_wasserstein_distance(xs, torch.as_tensor(y[s]), projections=torch.as_tensor(theta[s].T)).backward()
        np.testing.assert_allclose(xt.grad[s].numpy(), xs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_exact_w2_on_a_line_is_the_sorted_matching():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(2, 1, size=50)
    line = lambda v: np.column_stack([v, np.zeros_like(v)])  # noqa: E731
    assert w2_exact(line(a), line(b)) == pytest.approx(np.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2)), rel=1e-9)


def test_mode_metrics_on_known_samples():
    modes, sigma = mixture_modes("ring8")
    rng = np.random.default_rng(2)
    everywhere = modes[np.arange(2500) % 8] + sigma * rng.normal(size=(2500, 2))
    low, missed = mode_scores(everywhere, modes, sigma)
    # a 2-D Gaussian holds 1 − exp(−9/2) = 98.89 % within 3σ; Monte-Carlo sd of the share ≈ 0.0021
    assert abs(low - np.exp(-4.5)) < 0.0065 and missed == 0.0
    one = modes[[0]] + sigma * rng.normal(size=(2500, 2))
    assert mode_scores(one, modes, sigma)[1] == pytest.approx(7 / 8)
    assert mode_scores(np.zeros((2500, 2)), modes, sigma) == (1.0, 1.0)  # the centre of the ring: no mode
    # real data: the training data itself is precise and covers the held-out points
    d = load("quakes", 0)
    low, missed = support_scores(d.train, d.train, d.test)
    assert low == 0.0 and missed < 0.1
    assert support_scores(d.train + 50.0, d.train, d.test) == (1.0, 1.0)


def test_real_data_is_standardised_on_training_rows_and_held_out():
    d = load("faithful", 3)
    assert len(d.train) + len(d.val) + len(d.test) == 272 and len(d.test) == 82 and len(d.val) == 190 // 5
    rows = np.concatenate([d.train, d.val])  # standardised on all training rows, validation split included
    np.testing.assert_allclose(rows.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(rows.std(0), 1, atol=1e-12)


@pytest.mark.parametrize("task", ["ring8", "quakes"])
def test_a_tiny_trial_reports_finite_test_and_validation_metrics_and_a_curve(task):
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.x == 16.0 and t.x2 in (None, 2000)]
    assert {t.contender for t in trials} == {"gan", "sliced-ot"} and STUDY.axis.kind == "compute"
    for t in trials:
        out = run(dataclasses.replace(t, config={**t.config, "width": 8}))
        assert set(out.metrics) == set(out.validation) == set(STUDY.metrics)
        assert all(np.isfinite(v) for v in (*out.metrics.values(), *out.validation.values()))
        assert out.converged is None and out.curve.steps[-1] == 16 and out.steps == 16
        assert all(np.isfinite(out.curve.validation)) and out.metrics != out.validation



@pytest.mark.parametrize("contender", ["gan", "sliced-ot"])
def test_batched_equals_one_by_one(contender):
    assert min(STUDY.budgets["quick"].grid["ring8"]) <= 32  # a short run: float32 rounding has little time to grow
    trials = [t for t in expand(STUDY, "quick", seeds=3) if t.task == "ring8" and t.contender == contender
              and t.x == min(STUDY.budgets["quick"].grid["ring8"])]
    middle = STUDY.tune_grid(contender, "quick")["lr"][1]
    trials = [t for t in trials if t.seed < 2 or t.tuned["lr"] == middle]  # seeds and learning rates in one batch
    assert len({t.tuned["lr"] for t in trials}) == len(STUDY.tune_grid(contender, "quick")["lr"]) == 3
    together, _ = train_generators(trials[::-1])  # any order: members are regrouped by learning rate
    for t, gen in zip(trials[::-1], together, strict=True):
        alone = train_generators([t])[0][0]
        np.testing.assert_allclose(gen.test, alone.test, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gen.val, alone.val, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gen.curve.validation, alone.curve.validation, rtol=1e-4, atol=1e-5)
    assert not np.allclose(together[0].test, together[1].test)  # seeds and rates differ


@pytest.mark.parametrize("contender", ["gan", "sliced-ot"])
def test_each_contender_improves_on_its_initial_w2(contender):
    base = next(t for t in expand(STUDY, "quick", seeds=1) if t.task == "grid25" and t.contender == contender
                and t.tuned["lr"] == STUDY.tune_grid(contender, "quick")["lr"][1])  # the middle rate
    short, long = dataclasses.replace(base, x=1.0), dataclasses.replace(base, x=300.0)
    assert run(long).metrics["w2"] < 0.8 * run(short).metrics["w2"]
    assert len(run_batch([long])) == 1


def test_training_set_size_changes_only_the_training_samples():
    small, large = load("ring8", 4, n_samples=125), load("ring8", 4, n_samples=2000)
    assert (len(small.train), len(small.val)) == (100, 25) and (len(large.train), len(large.val)) == (1600, 400)
    np.testing.assert_array_equal(small.test, large.test)  # one held-out set per seed, whatever the size
    sweep = [t for t in expand(STUDY, "quick") if t.x2 != 2000 and t.x2 is not None]
    assert {t.task for t in sweep} == {"ring8"} and {t.config["n_samples"] for t in sweep} == {125, 250, 500, 1000}
    assert {t.x for t in sweep} == {max(STUDY.budgets["quick"].grid["ring8"])}
