import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import approx_fprime, rosen

pytest.importorskip("deap")

from bitterlab.analysis.grouped import fit_grouped
from bitterlab.analysis.verdict import fit_task, task_verdict
from bitterlab.engine import Store, run_trial
from bitterlab.engine.run import to_result
from bitterlab.studies.search import (GRADIENT_COST, STUDY, diabetes, eval_flops, hidden_units, network_loss,
                                      objective, rosenbrock, run, run_adam, run_cma, run_ga)
from bitterlab.study import TrialOutput, expand


def test_rosenbrock_matches_scipy():
    x = np.random.default_rng(0).normal(size=7)
    assert float(rosenbrock(torch.as_tensor(x))) == pytest.approx(rosen(x), rel=1e-12)


@pytest.mark.parametrize("task,d", [("rosenbrock", 12), ("diabetes", 25)])
def test_gradients_match_finite_differences(task, d):
    obj = objective(task, d, seed=3)
    x = obj.x0 + np.random.default_rng(1).normal(scale=0.3, size=d)
    xt = torch.as_tensor(x).requires_grad_(True)
    obj.f(xt).backward()
    fd = approx_fprime(x, lambda v: float(obj.f(torch.as_tensor(v))), 1e-7)
    np.testing.assert_allclose(xt.grad.numpy(), fd, rtol=1e-4, atol=1e-4)


def test_the_network_is_the_stated_model_on_the_real_data_batched():
    from sklearn.linear_model import LinearRegression

    x, y, f_lin = diabetes()
    assert x.shape == (442, 10) and abs(y.mean()) < 1e-12 and y.std() == pytest.approx(1.0)
    assert f_lin == pytest.approx(np.mean((LinearRegression().fit(x, y).predict(x) - y) ** 2), rel=1e-10)
    h = hidden_units(37)
    assert h == 3 and STUDY.budgets["quick"].grid["diabetes"][0] == 13.0
    with pytest.raises(ValueError, match="12h"):
        hidden_units(36)
    theta = np.random.default_rng(0).normal(size=(4, 37))
    f = network_loss(torch.as_tensor(x), torch.as_tensor(y), h)
    w, b, v, c = theta[0, :30].reshape(10, 3), theta[0, 30:33], theta[0, 33:36], theta[0, 36]
    by_hand = np.mean((np.tanh(x @ w + b) @ v + c - y) ** 2)
    batched = f(torch.as_tensor(theta)).numpy()
    assert batched[0] == pytest.approx(by_hand, rel=1e-12)
    np.testing.assert_allclose(batched, [float(f(torch.as_tensor(t))) for t in theta], rtol=1e-12)
    obj = objective("diabetes", 37, seed=0)
    assert f_lin < obj.target < 1.0 < obj.f0  # the start is worse than the mean, the target near least squares
    assert eval_flops("diabetes", 37) == 442 * (2 * 10 * 3 + 4 * 3 + 4)


def test_validation_is_another_start_of_the_same_objective():
    test, val = objective("diabetes", 25, 0), objective("diabetes", 25, 0, validation=True)
    assert not np.allclose(test.x0, val.x0) and test.target == val.target
    r = objective("rosenbrock", 12, 0, validation=True)
    assert np.abs(r.x0).max() > 0 and r.target == pytest.approx(0.5 * r.f0)
    np.testing.assert_array_equal(objective("rosenbrock", 12, 0).x0, np.zeros(12))


@pytest.mark.parametrize("method", ["ga", "cma", "adam"])
def test_each_method_reaches_the_target_at_a_small_d_and_is_censored_at_a_small_cap(method):
    obj = objective("rosenbrock", 3, seed=0)
    go = {"ga": lambda cap: run_ga(obj, 0, cap, 60, sigma=0.1), "cma": lambda cap: run_cma(obj, 0, cap, 60, 0.3),
          "adam": lambda cap: run_adam(obj, 0.1, cap, 60)}[method]
    done = go(20000)
    assert done.reached and done.cost < 20000 and 0 < done.gap_at_budget <= 1.5
    assert go(20000) == done  # seeded
    capped = go(12)
    assert not capped.reached and capped.cost < done.cost
    if method == "adam":  # value and gradient per step, the value at the last check; never past the cap
        assert done.cost == GRADIENT_COST * done.evals + 1 and capped.cost <= 12
    else:  # evaluations counted to the one that met the target; a capped run spent at least the cap
        assert done.cost == done.evals and capped.cost == capped.evals >= 12


def _trial(task, contender, d, **options):
    t = next(t for t in expand(STUDY, "quick", seeds=1) if t.task == task and t.contender == contender and t.x == d)
    if options:
        from dataclasses import replace

        t = replace(t, config={**t.config, **options})
    return t


@pytest.mark.parametrize("contender", ["adam", "ga", "cma-es"])
def test_cost_is_the_analytic_count_not_a_timing(contender):
    t = _trial("diabetes", contender, 13.0, cap_per_dim=100)  # censored or not, the count is the same
    first, second = run(t), run(t)
    assert first.metrics == second.metrics and first.validation == second.validation  # no clock inside
    assert first.flops == first.metrics["cost"] * eval_flops("diabetes", 13)
    assert set(STUDY.metrics) == {"cost", "evals", "gap_at_budget"}  # no wall-clock-derived metric


def test_a_capped_trial_is_stored_as_censored_at_its_cap(tmp_path):
    t = _trial("rosenbrock", "ga", 8.0, cap_per_dim=20)  # 160 evaluations: far too few for the GA
    out = run(t)
    assert out.censored == ("cost", "evals") and out.metrics["cost"] >= 160
    result = run_trial(t)
    assert result.status == "ok" and result.censored == ("cost", "evals")
    with Store(tmp_path / "r.duckdb") as store:
        store.write(result)
        store.write(run_trial(_trial("rosenbrock", "adam", 8.0)))
        df = store.frame()
    assert sorted(map(tuple, df["censored"])) == [(), ("cost", "evals")]
    undeclared = TrialOutput(metrics=out.metrics, validation=out.validation, params=8, flops=0.0, steps=1,
                             censored=("gap_at_budget",))
    bad = to_result(t, undeclared, 0.0)
    assert bad.status == "failed" and "censored" in bad.reason


def _rows(censor_at: float | None, drop: bool = False) -> pd.DataFrame:
    """A search-shaped table: at each d, five seeds' costs spread around c·d^k (adam k = 1, ga k = 2).
    With ``censor_at``, the ga seeds at the two largest d whose cost exceeds censor_at·d² were stopped
    there: they report censor_at·d², flagged (or are dropped, with ``drop``)."""
    spread = np.array([0.5, 0.75, 1.0, 1.5, 2.0])
    rows = []
    for name, k in (("ga", 2.0), ("adam", 1.0), ("cma-es", 1.5)):
        for d in (2.0, 4.0, 8.0, 16.0, 32.0):
            for seed, m in enumerate(spread):
                cost, flag = 10 * m * d**k, []
                if name == "ga" and censor_at is not None and d >= 16 and m > censor_at:
                    if drop:
                        continue
                    cost, flag = 10 * censor_at * d**k, ["cost", "evals"]
                rows.append(dict(study="search", task="rosenbrock", contender=name,
                                 role=STUDY.contender(name).role, x=d, seed=seed, budget="quick", status="ok",
                                 reason="", tuned={}, validation={"cost": cost}, converged=None, censored=flag,
                                 cost=cost, evals=cost, gap_at_budget=0.5))
    return pd.DataFrame(rows)


def test_censored_points_enter_the_fit_as_at_least_the_cap():
    censored, dropped = _rows(1.2), _rows(1.2, drop=True)
    censored, dropped = censored[censored["contender"] == "ga"], dropped[dropped["contender"] == "ga"]
    fit_c, fit_d = fit_task(STUDY, censored)["ga"], fit_task(STUDY, dropped)["ga"]
    assert fit_c.points.censored.sum() == 4
    at = np.array([16.0, 32.0])
    assert np.all(fit_c.best(at)[0] > fit_d.best(at)[0])  # the survivors alone are the lucky seeds: too low
    # a known answer: the robust (L1-like) fit goes through the median seed, 10·d²; two of five seeds are
    # "at least 1.2 × 10·d²", above it, so the median is unchanged — dropping them moves it to 0.75 × 10·d²
    np.testing.assert_allclose(fit_c.best(np.array([2.0, 8.0, 32.0]))[0], 10 * np.array([2.0, 8.0, 32.0]) ** 2,
                               rtol=1e-3)


@pytest.mark.slow
def test_the_verdict_counts_censored_trials_and_says_so():
    rows = _rows(1.2)
    v = task_verdict(STUDY, "rosenbrock", rows[rows["contender"] != "cma-es"], "quick")
    assert v.censored == {"ga": 4, "adam": 0, "cma-es": 0}
    assert any("lower bound" in w and "ga 4 of 25" in w for w in v.warnings)
    assert "at least the cap" in v.words


def test_a_censored_cap_below_the_curve_changes_nothing_a_known_answer():
    """Exact points on 10·d² with caps below the curve (three of five seeds at the two largest d stopped
    at half of it): read as lower bounds they are all satisfied by the curve, so the fit is the curve."""
    rows = _rows(None)
    ga = rows[rows["contender"] == "ga"].copy()
    ga["cost"] = 10 * ga["x"] ** 2  # every seed exactly on the curve
    low = (ga["x"] >= 16) & (ga["seed"] >= 2)  # three of five seeds: read as values, they are the median
    ga.loc[low, "cost"] = 10 * 0.5 * ga.loc[low, "x"] ** 2  # stopped at half the curve: the truth is above
    ga["flag"] = low.to_numpy()
    frames = {"ga": ga}
    at = np.array([2.0, 8.0, 32.0])
    exact = fit_grouped(frames, "cost", censored="flag")["ga"]
    np.testing.assert_allclose(exact.best(at)[0], 10 * at**2, rtol=1e-3)


def test_each_contender_tunes_its_step_size_and_nothing_else_sets_it():
    assert STUDY.axis.kind == "width" and STUDY.tuned and STUDY.censored == ("cost", "evals")
    roles = {c.name: c.role for c in STUDY.contenders}
    assert roles == {"ga": "generic", "adam": "structured", "cma-es": "reference"}
    trials = [t for t in expand(STUDY, "quick", seeds=1) if t.x == 4.0 and t.task == "rosenbrock"]
    tuned = {c: sorted({tuple(t.tuned.items()) for t in trials if t.contender == c}) for c in roles}
    assert {c: {k for ((k, _),) in pts} for c, pts in tuned.items()} == {"adam": {"lr"}, "ga": {"sigma"},
                                                                         "cma-es": {"sigma0"}}
    assert all("lr" not in t.config for t in trials if t.contender != "adam")
    assert all(t.censorable == ("cost", "evals") for t in trials)


def test_the_ga_mutation_is_deaps_gaussian_mutation_of_every_gene():
    """The NumPy-drawn mutation against DEAP's ``mutGaussian(indpb=1)``: the same individual is changed in
    place, and the increments of both have mean 0 and sd σ (40,000 genes: 4 standard errors)."""
    import array
    import random

    from deap import tools

    from bitterlab.studies.search import _ga_classes, _mutate_every_gene

    individual, sigma, d = _ga_classes(), 0.3, 40_000
    ours, theirs = individual(array.array("d", [1.0] * d)), individual(array.array("d", [1.0] * d))
    (out,) = _mutate_every_gene(ours, sigma=sigma, rng=np.random.default_rng(0))
    random.seed(0)
    tools.mutGaussian(theirs, mu=0.0, sigma=sigma, indpb=1.0)
    assert out is ours and isinstance(out, individual)
    for ind in (ours, theirs):
        step = np.asarray(ind) - 1.0
        assert abs(step.mean()) < 4 * sigma / np.sqrt(d)
        assert abs(step.std() - sigma) < 4 * sigma / np.sqrt(2 * d)
        assert np.all(step != 0)  # every gene mutated


def test_the_ga_crossover_is_deaps_simulated_binary_crossover_on_the_same_draws():
    """The NumPy SBX against DEAP's ``cxSimulatedBinary``, both fed the same uniforms (DEAP's from
    Python's ``random``, replayed to ours): the same children to rounding, in place, as individuals."""
    import array
    import random

    from deap import tools

    from bitterlab.studies.search import SBX_ETA, _crossover_sbx, _ga_classes

    class Replay:  # a generator that hands out the uniforms Python's random drew
        def __init__(self, u):
            self.u = np.asarray(u)

        def random(self, n):
            assert n == len(self.u)
            return self.u

    individual, d = _ga_classes(), 64
    rng = np.random.default_rng(5)
    x1, x2 = rng.normal(size=d), rng.normal(size=d)
    random.seed(3)
    u = [random.random() for _ in range(d)]
    random.seed(3)
    theirs = tools.cxSimulatedBinary(individual(array.array("d", x1)), individual(array.array("d", x2)), SBX_ETA)
    a, b = individual(array.array("d", x1)), individual(array.array("d", x2))
    ours = _crossover_sbx(a, b, eta=SBX_ETA, rng=Replay(u))
    assert ours[0] is a and ours[1] is b and isinstance(a, individual)
    np.testing.assert_allclose(np.asarray(ours[0]), np.asarray(theirs[0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ours[1]), np.asarray(theirs[1]), rtol=1e-12, atol=1e-12)
    assert not np.allclose(np.asarray(a), x1)  # the parents were changed
    np.testing.assert_allclose(np.asarray(a) + np.asarray(b), x1 + x2, rtol=1e-12)  # SBX keeps the mean
