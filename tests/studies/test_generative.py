import dataclasses

import numpy as np
import ot
import pytest
import torch

from bitterlab.geometry import sliced_wasserstein_batched
from bitterlab.studies.generative import (STUDY, _cost, knn_precision_recall, load, mixture_modes, mode_scores, run,
                                          run_batch, sample_mixture, score, support_scores, train_generators,
                                          w2_exact)
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


@pytest.mark.parametrize("k", [1, 3, 5, 8])
def test_a_sample_exactly_on_k_of_8_modes_recovers_k_eighths(k):
    modes, sigma = mixture_modes("ring8")
    on = modes[np.arange(2500) % k]
    got = mode_scores(on, modes, sigma)
    assert got["unrecovered"] == pytest.approx(1 - k / 8) and got["missed"] == pytest.approx(1 - k / 8)
    assert got["low_quality"] == 0.0


def test_mode_metrics_on_the_truth_and_the_quality_bar():
    modes, sigma = mixture_modes("ring8")
    rng = np.random.default_rng(2)
    everywhere = modes[np.arange(2500) % 8] + sigma * rng.normal(size=(2500, 2))
    got = mode_scores(everywhere, modes, sigma)
    # a 2-D Gaussian holds 1 − exp(−9/2) = 98.89 % within 3σ; Monte-Carlo sd of the share ≈ 0.0021
    assert abs(got["low_quality"] - np.exp(-4.5)) < 0.0065 and got["missed"] == got["unrecovered"] == 0.0
    assert mode_scores(np.zeros((2500, 2)), modes, sigma) == {"unrecovered": 1.0, "low_quality": 1.0, "missed": 1.0}
    # every mode covered (≥ 20 high-quality samples each), but 60 % of the samples far from any mode: the
    # VEEGAN/PacGAN count misses nothing, the quality bar (half of a mode's fair share) recovers nothing
    blurred = np.concatenate([everywhere[:1000], np.zeros((1500, 2))])
    got = mode_scores(blurred, modes, sigma)
    assert got["missed"] == 0.0 and got["unrecovered"] == 1.0 and got["low_quality"] > 0.6


def _brute_precision_recall(real, fake, k):
    """Improved precision/recall by full distance matrices and sorting (no neighbour search)."""
    def radii(x):
        return np.sort(np.linalg.norm(x[:, None] - x[None], axis=-1), axis=1)[:, k]
    d = np.linalg.norm(fake[:, None] - real[None], axis=-1)
    return np.mean((d <= radii(real)[None]).any(1)), np.mean((d <= radii(fake)[:, None]).any(0))


def test_knn_precision_recall_matches_brute_force_and_known_answers():
    modes, sigma = mixture_modes("ring8")
    rng = np.random.default_rng(5)
    real, truth = (sample_mixture(modes, sigma, 400, rng) for _ in range(2))
    half = sample_mixture(modes[:4], sigma, 400, rng)  # a generator that drops 4 of the 8 modes
    for fake in (truth, half, rng.normal(size=(400, 2))):
        for k in (1, 3, 5):
            assert knn_precision_recall(real, fake, k) == pytest.approx(_brute_precision_recall(real, fake, k))
    p, r = knn_precision_recall(real, truth)
    assert p > 0.9 and r > 0.9  # the truth against itself
    p, r = knn_precision_recall(real, half)
    assert p > 0.9 and abs(r - 0.5) < 0.1  # precise, but recalls only the modes it keeps
    assert knn_precision_recall(real, real) == (1.0, 1.0)


def test_support_scores_on_real_data():
    d = load("quakes", 0)
    rng = np.random.default_rng(0)
    rows = d.train[rng.integers(0, len(d.train), 2500)] + 0.01 * rng.normal(size=(2500, 2))  # a near-copy
    got = support_scores(rows, d.test)
    assert got["low_quality"] < 0.2 and got["missed"] < 0.2 and got["unrecovered"] < 0.2
    assert support_scores(rows + 50.0, d.test) == {"unrecovered": 1.0, "low_quality": 1.0, "missed": 1.0}
    collapsed = np.repeat(d.train[:1], 2500, axis=0) + 1e-3 * rng.normal(size=(2500, 2))
    assert support_scores(collapsed, d.test)["missed"] > 0.9


def test_w2_of_a_truth_sample_sits_at_its_floor():
    """On a mixture the floor is a fresh truth sample's W2: another such sample scores alike on average
    (one draw swings with the modes' counts); on real data the floor is what the training rows score."""
    modes, sigma = mixture_modes("ring8")
    pairs = []
    for seed in range(24):  # sd of one W2 ≈ 0.11, of the mean difference ≈ 0.03
        d = load("ring8", seed)
        m = score(sample_mixture(modes, sigma, 2500, np.random.default_rng(seed + 9)), d, d.test, test=True)
        assert m["w2_floor"] == pytest.approx(w2_exact(d.floor, d.test))
        pairs.append((m["w2"], m["w2_floor"]))
    w2, floor = np.mean(pairs, axis=0)
    assert floor > 0.2 and abs(w2 - floor) < 0.2 * floor
    d = load("faithful", 1)
    m = score(np.tile(d.floor, (40, 1)), d, d.test, test=True)
    assert m["w2"] == m["w2_floor"] == pytest.approx(w2_exact(d.floor, d.test[: len(d.floor)]))


def test_real_data_is_standardised_on_training_rows_and_held_out():
    d = load("faithful", 3)
    assert len(d.train) + len(d.val) + len(d.test) == 272 and len(d.test) == 82 and len(d.val) == 190 // 5
    rows = np.concatenate([d.train, d.val])  # standardised on all training rows, validation split included
    np.testing.assert_allclose(rows.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(rows.std(0), 1, atol=1e-12)


def _small(t, x, **config):
    return dataclasses.replace(t, x=float(x), config={**t.config, "steps": float(x), "width": 8, **config})


@pytest.mark.parametrize("task", ["ring8", "quakes"])
def test_a_tiny_trial_reports_finite_test_and_validation_metrics_and_a_curve(task):
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.x2 == STUDY.secondary_default(task, "quick")
              and t.x == min(STUDY.budgets["quick"].grid[task]) and t.tuned["lr"] == STUDY.tune_grid(
                  t.contender, "quick")["lr"][0] and t.tuned.get("n_critic", 1) == 1]
    assert {t.contender for t in trials} == {"gan", "sliced-ot"} and STUDY.axis.kind == "compute"
    for t in trials:
        out = run(_small(t, 16))
        assert set(out.metrics) == set(STUDY.metrics) and STUDY.metric in out.validation
        assert all(np.isfinite(v) for v in (*out.metrics.values(), *out.validation.values()))
        assert out.converged is None and out.curve.steps[-1] == 16 and out.steps == 16
        assert all(np.isfinite(out.curve.validation)) and np.isfinite(out.curve.train).all()


@pytest.mark.parametrize("contender", [pytest.param("gan", marks=pytest.mark.slow), "sliced-ot"])  # gan: minutes
def test_batched_equals_one_by_one_across_seeds_rates_and_steps(contender):
    """One run to the largest step count, evaluated at each, gives every trial what it gets alone (steps
    on both sides of a noise chunk's boundary)."""
    lrs = STUDY.tune_grid(contender, "quick")["lr"]
    base = [t for t in expand(STUDY, "quick", seeds=2) if t.task == "ring8" and t.contender == contender
            and t.x2 in (None, 2000) and t.x == min(STUDY.budgets["quick"].grid["ring8"])
            and t.tuned.get("n_critic", 2) == 2]
    trials = [_small(t, x) for t in base for x in (20, 70) if t.seed == 0 or t.tuned["lr"] == lrs[1]]
    assert len({t.tuned["lr"] for t in trials}) == len(lrs) == 3 and len({t.seed for t in trials}) == 2
    together, _ = train_generators(trials[::-1])  # any order: members are regrouped by learning rate
    for t, gen in zip(trials[::-1], together, strict=True):
        alone = train_generators([t])[0][0]
        np.testing.assert_allclose(gen.test, alone.test, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gen.val, alone.val, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gen.curve.validation, alone.curve.validation, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gen.curve.train, alone.curve.train, rtol=1e-4, atol=1e-5)
        assert gen.curve.steps == alone.curve.steps and gen.curve.steps[-1] == t.x
    assert not np.allclose(together[0].test, together[1].test)  # steps differ
    with pytest.raises(ValueError):
        train_generators([trials[0], _small(trials[1], 20, width=16)])  # another model: not one batch


def test_flops_count_both_players_and_grow_with_steps_and_critic_steps():
    t = next(t for t in expand(STUDY, "quick", seeds=1) if t.contender == "gan")
    one, two = (_cost(dataclasses.replace(t, config={**t.config, "n_critic": n})) for n in (1, 2))
    assert one[0] == two[0] and two[1] > one[1]
    longer = _cost(dataclasses.replace(t, x=2 * t.x, config={**t.config, "n_critic": 1}))
    assert longer[1] == pytest.approx(2 * one[1])
    s = next(t for t in expand(STUDY, "quick", seeds=1) if t.contender == "sliced-ot" and t.x == one_x(t))
    assert _cost(s)[0] < one[0] and _cost(s)[1] < one[1]  # no discriminator


def one_x(t):
    return min(STUDY.budgets["quick"].grid[t.task])


@pytest.mark.parametrize("contender", [pytest.param("gan", marks=pytest.mark.slow), "sliced-ot"])  # gan: minutes
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
    np.testing.assert_array_equal(small.floor, large.floor)
    few, all_rows = load("quakes", 4, n_samples=88), load("quakes", 4)
    np.testing.assert_array_equal(few.test, all_rows.test)  # real data: a subset of the training rows
    assert len(few.train) + len(few.val) == 88 and (few.train[:10] == all_rows.train[:10]).all()
    with pytest.raises(ValueError):
        load("quakes", 4, n_samples=5000)
    quick = STUDY.budgets["quick"]
    sweep = [t for t in expand(STUDY, "quick") if t.x2 is not None and t.x2 != STUDY.secondary_default(t.task, "quick")]
    assert {t.task for t in sweep} == set(quick.secondary) and {t.x for t in sweep} == \
        {max(quick.grid[t]) for t in quick.secondary}
    assert {t.config["n_samples"] for t in sweep} == {v for vs in quick.secondary.values() for v in vs} - {700}
