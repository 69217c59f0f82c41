import numpy as np
import pytest

from bitterlab.engine import run_trial
from bitterlab.geometry import Mixture, Normal, kl, wasserstein
from bitterlab.studies.synthetic import (GMM_TRUTH, STUDY, GaussianModel, LinearModel, chain, chain_data, mixture_kl,
                                         mixture_w2, tail_mass_lost, true_weights, validation_scores)
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


@pytest.mark.parametrize("task", ["gaussian", "gmm", "linreg"])
def test_each_contender_runs_a_short_chain_deterministically(task):
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.x == 200]
    assert {t.contender for t in trials} == {"replace", "accumulate", "fresh"}
    for t in trials:
        r = run_trial(t)
        assert r.status == "ok", r.reason
        assert r.metrics == run_trial(t).metrics
        assert r.metrics["w2"] > 0 and np.isfinite(r.metrics["kl"])


@pytest.mark.parametrize("task", ["gaussian", "gmm", "linreg"])
def test_a_tiny_trial_reports_finite_validation_metrics_from_its_own_training_data(task):
    for t in (t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.x == 200):
        r = run_trial(t)
        assert set(r.validation) == set(STUDY.metrics)
        assert all(np.isfinite(v) for v in r.validation.values())
        model, data = chain_data(task, t.config["mode"], 2, 100, 0)
        assert r.metrics == pytest.approx(model.scores())  # the test metrics: the whole chain, against the truth
        assert r.validation == validation_scores(task, data, 0, 2)


def test_validation_scores_against_a_fit_to_held_out_samples():
    data = np.random.default_rng(5).normal(0.0, 1.0, 400)
    order = np.random.default_rng([0, 3, 23]).permutation(400)
    held, kept = GaussianModel.fit(data[order[:100]]), GaussianModel.fit(data[order[100:]])
    assert validation_scores("gaussian", data, 0, 3) == kept.scores(held)
    assert GaussianModel(0.3, 2.0).scores(GaussianModel(0.3, 2.0))["w2"] == 0.0
