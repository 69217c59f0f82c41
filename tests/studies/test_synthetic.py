import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bitterlab.analysis.results import Interval
from bitterlab.engine import run_trial
from bitterlab.geometry import Mixture, Normal, kl, wasserstein
from bitterlab.studies.synthetic import (DUELS, GMM_TRUTH, LINREG_DIM, STUDY, GaussianModel, LinearModel,
                                         TableGenerator, chain, diamonds, diamonds_split, duel, error, exchange_rate,
                                         expected_error, mixture_kl, mixture_w2, plateau, plateau_check, run,
                                         tail_mass_lost, true_weights)
from bitterlab.study import expand


def test_gaussian_mle_chain_matches_shumailov_closed_form():
    # E[σ²ₙ] = ((M−1)/M)ⁿ for a chain refitted by maximum likelihood on M samples per generation
    m, n, chains = 10, 6, 3000
    var = np.array([chain("gaussian", "replace", n, m, seed).std ** 2 for seed in range(chains)])
    se = var.std(ddof=1) / np.sqrt(chains)
    expected = ((m - 1) / m) ** n
    assert abs(var.mean() - expected) < 4 * se
    assert abs(var.mean() - 1.0) > 10 * se  # and the collapse is visible: it is not the truth's 1


def test_fresh_chain_is_the_mle_on_all_real_samples_and_modes_share_the_first_generation():
    a, b, c = (chain("gaussian", mode, 1, 50, 3) for mode in ("replace", "accumulate", "fresh"))
    assert a == b == c
    fresh = chain("gaussian", "fresh", 4, 50, 3)
    assert isinstance(fresh, GaussianModel)
    with pytest.raises(ValueError, match="unknown mode"):
        chain("gaussian", "mix", 2, 50, 3)


def test_scores_are_zero_at_the_truth():
    s = GaussianModel(0.0, 1.0).scores()
    assert s["w2"] == 0.0 and s["kl"] == pytest.approx(0.0, abs=1e-12) and s["tail_mass_lost"] == pytest.approx(0.0)
    s = LinearModel(true_weights(), 1.0).scores()
    assert s["w2"] == pytest.approx(0.0, abs=1e-6) and s["kl"] == pytest.approx(0.0, abs=1e-10)
    # a narrower model lost tail mass; 1 − P_N(0,0.5)(|x| > z₀.₉₉)/0.02
    z = Normal(0, 1).ppf(0.99)
    lost = GaussianModel(0.0, 0.5).scores()["tail_mass_lost"]
    assert lost == pytest.approx(1 - 2 * (1 - Normal(0, 0.5).cdf(z)) / 0.02)
    assert tail_mass_lost(Normal(0, 1).cdf, Normal(0, 2).cdf, -z, z) < 0  # fatter tails: negative


def test_linear_model_joint_w2_and_kl_match_pot_and_closed_forms():
    import ot

    w = true_weights()
    model = LinearModel(w, 4.0)  # same coefficients, σ² = 4: only Var(y|x) differs
    truth_cov = LinearModel(w, 1.0).joint().cov
    assert model.scores()["w2"] == pytest.approx(
        ot.gaussian.bures_wasserstein_distance(np.zeros(9), np.zeros(9), truth_cov, model.joint().cov), rel=1e-9)
    # keeping x and moving y = xw + ε to xw + 2ε is a coupling of cost 1: the optimum is at most that
    assert model.scores()["w2"] <= 1.0
    # KL of joints with the same x-marginal and regression = KL of the conditionals N(xw, 1) ‖ N(xw, 4)
    assert model.scores()["kl"] == pytest.approx(kl(Normal(0, 1), Normal(0, 2)), rel=1e-9)
    other = LinearModel(w + 0.3, 1.0).joint()
    assert LinearModel(w + 0.3, 1.0).scores()["w2"] == pytest.approx(
        ot.gaussian.bures_wasserstein_distance(np.zeros(9), np.zeros(9), truth_cov, other.cov), rel=1e-9)


def test_mixture_w2_and_kl_agree_with_the_geometry_module():
    one, other = Mixture((Normal(0.3, 1.2),), (1.0,)), Mixture((Normal(-0.5, 0.7),), (1.0,))
    assert mixture_w2(one, other) == pytest.approx(wasserstein(Normal(0.3, 1.2), Normal(-0.5, 0.7)), abs=2e-4)
    q = Mixture((Normal(-1.8, 0.6), Normal(0.4, 0.9), Normal(2.9, 0.5)), (0.45, 0.35, 0.2))
    assert mixture_kl(GMM_TRUTH, q) == pytest.approx(kl(GMM_TRUTH, q), rel=1e-6)
    assert mixture_w2(GMM_TRUTH, GMM_TRUTH) == 0.0


def _trial(task, contender, x, seed=0, **config):
    t = next(t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.contender == contender)
    return dataclasses.replace(t, x=float(x), seed=seed, config={**t.config, **config})


@pytest.mark.parametrize("task", ["gaussian", "linreg"])
def test_closed_form_errors_match_monte_carlo(task):
    # real: the learner on n truth samples; synthetic: on n samples of a generator fitted to M = 30
    m, n, reps = 30, 20, 1500
    real = np.mean([duel(task, "real", n, m, s)[0] for s in range(reps)])
    synthetic = [duel(task, "synthetic", n, m, s)[0] for s in range(reps)]
    se = np.std(synthetic, ddof=1) / np.sqrt(reps)
    assert abs(np.mean(synthetic) - expected_error(task, n, m)) < 4 * se
    assert real == pytest.approx(expected_error(task, n), rel=0.1)
    assert expected_error(task, n, m) > expected_error(task, n)  # synthetic data is worth less, here at n < M


@pytest.mark.parametrize("task", ["gaussian", "linreg"])
def test_the_studys_plateau_is_the_generators_closed_form_error(task):
    # the study's computed plateau: the generator's error (mean of generator_error over seeds), and the
    # synthetic learner's error at n = 16·M; both against the closed form for M = 100 (20 seeds × 20 repeats)
    m = DUELS[task]
    assert STUDY.task(task).options["generator_samples"] == m
    outs = [run(_trial(task, "synthetic", 16 * m, seed=s)) for s in range(20)]
    gen = np.array([o.metrics["generator_error"] for o in outs])
    at_16m = np.array([o.metrics["error"] for o in outs])
    closed = plateau(task, m)
    assert abs(gen.mean() - closed) < 4 * gen.std(ddof=1) / np.sqrt(len(gen))
    assert abs(at_16m.mean() - expected_error(task, 16 * m, m)) < 4 * at_16m.std(ddof=1) / np.sqrt(len(gen))
    assert expected_error(task, 16 * m, m) < 1.1 * closed  # at 16·M the curve is near its plateau
    # the plateau is the real learner's error at n = M: the generator is the fit to M real samples
    assert closed == pytest.approx(expected_error(task, m))


def test_exchange_rate_closed_form():
    m = 100
    for task in ("gaussian", "linreg"):
        for n in (20, 50, 90):
            rate = exchange_rate(task, n, m)
            assert rate > 1  # one synthetic sample is worth less than one real sample
            assert expected_error(task, rate * n, m) == pytest.approx(expected_error(task, n), rel=1e-6)
        assert exchange_rate(task, 20, m) < exchange_rate(task, 50, m) < exchange_rate(task, 90, m)
        assert math.isinf(exchange_rate(task, m, m)) and math.isinf(exchange_rate(task, 4 * m, m))


def test_accumulate_chain_stays_under_gerstgrasser_bound_and_replace_grows():
    m, d, k = 40, LINREG_DIM, 12
    acc = np.mean([error("linreg", chain("linreg", "accumulate", k, m, s)) for s in range(300)])
    rep = np.mean([error("linreg", chain("linreg", "replace", k, m, s)) for s in range(300)])
    bound = d / (m - d - 1) * math.pi**2 / 6  # Gerstgrasser et al. 2024, Thm. 1 (σ² = 1)
    assert acc < bound < rep
    # replacing: each generation adds the OLS variance of M samples, so E = k·d/(M − d − 1) (σ̂² unbiased)
    assert rep == pytest.approx(k * d / (m - d - 1), rel=0.15)


def test_table_generator_regression_is_gaussian_conditioning():
    # one component: E_G[y | x] of the Gaussian MLE is the OLS fit on the same rows (up to reg_covar)
    _, rows, _ = diamonds_split(0, 500)
    g = TableGenerator.fit(rows, 0, components=(1,))
    a = np.column_stack([np.ones(len(rows)), rows[:, :-1]])
    coef, *_ = np.linalg.lstsq(a, rows[:, -1], rcond=None)
    np.testing.assert_allclose(g.regression(rows[:, :-1]), a @ coef, atol=0.02)
    # and samples of the generator have its moments
    z = g.sample(200_000, np.random.default_rng(1))
    np.testing.assert_allclose(z.mean(0), rows.mean(0), atol=0.02 * rows.std(0).max())


def test_diamonds_table_and_split():
    t = diamonds()
    assert t.shape == (53_940, 7) and np.isfinite(t).all()
    test, gen, pool = diamonds_split(3, 1000)
    assert len(test) == 10_000 and len(gen) == 1000 and len(pool) == 53_940 - 11_000
    assert set(map(tuple, gen[:50])).isdisjoint(map(tuple, pool[:2000]))  # (rows are almost surely unique)
    assert float(t[:, 1].min()) == 0 and float(t[:, 1].max()) == 4  # cut: five levels


@pytest.mark.parametrize("task", [t.name for t in STUDY.tasks])
def test_each_contender_runs_the_smallest_size_deterministically(task):
    small = min(STUDY.budgets["quick"].grid[task])
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.x == small]
    assert {t.contender for t in trials} == {"synthetic", "real"}
    for t in trials:
        r = run_trial(t)
        assert r.status == "ok", r.reason
        assert r.metrics == run_trial(t).metrics
        assert r.metrics["error"] > 0 and np.isfinite(r.metrics["generator_error"])
    gens = {run_trial(t).metrics["generator_error"] for t in trials}
    assert len(gens) == 1  # one generator per seed, shared by both contenders


def test_chain_task_contenders_are_replace_and_accumulate():
    rep = run(_trial("gaussian-chain", "synthetic", 300, repeats=1))
    acc = run(_trial("gaussian-chain", "real", 300, repeats=1))
    assert rep.metrics["error"] == error("gaussian", chain("gaussian", "replace", 3, 100, 0))
    assert acc.metrics["error"] == error("gaussian", chain("gaussian", "accumulate", 3, 100, 0))
    assert rep.metrics["generator_error"] == acc.metrics["generator_error"]  # generation 1: the same fit
    with pytest.raises(ValueError, match="whole number"):
        run(_trial("gaussian-chain", "real", 250))


def test_plateau_check_reads_the_fitted_floor_and_the_generator_error():
    floor = Interval(value=0.02, low=0.01, high=0.03)
    fit = SimpleNamespace(family="pow3", params={"E": floor})  # the two attributes of a FitSummary it reads
    verdicts = [SimpleNamespace(task="gaussian", fits={"synthetic": fit}),
                SimpleNamespace(task="gaussian-chain", fits={"synthetic": fit})]
    rows = pd.DataFrame({"task": "gaussian", "contender": "synthetic", "status": "ok", "seed": [0, 0, 1, 1],
                         "generator_error": [0.01, 0.01, 0.03, 0.03]})
    out = plateau_check(verdicts, rows)
    assert set(out) == {"gaussian"}
    assert out["gaussian"]["generator_error"] == pytest.approx(0.02)
    assert out["gaussian"]["fitted_floor"] == floor
    assert out["gaussian"]["closed_form"] == pytest.approx(plateau("gaussian", 100))
