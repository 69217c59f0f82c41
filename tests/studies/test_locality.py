import dataclasses

import numpy as np
import pandas as pd
import pytest

from bitterlab.engine import run_trial
from bitterlab.studies import locality, locality_rules
from bitterlab.studies.locality import fit_predict, global_features, global_model, partial_pooling, scores, training_sample
from bitterlab.studies.locality_data import ames, carve_validation, radon, split_by_group, split_rows
from bitterlab.studies.locality_rules import rules, target
from bitterlab.study import expand, grid_points


def _hierarchical(groups, per_group, tau, sigma, seed):
    """y = 1 + 0.8·x + b_g + ε with b_g ~ N(0, τ²), ε ~ N(0, σ²): known group effects b."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0, tau, groups)
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=len(g))
    y = 1 + 0.8 * x + b[g] + rng.normal(0, sigma, len(g))
    return pd.DataFrame({"group": [f"g{k}" for k in g], "x": x, "y": y}), b


def test_partial_pooling_recovers_known_group_effects():
    df, b = _hierarchical(30, 25, tau=0.6, sigma=0.5, seed=1)
    x = df[["x"]].to_numpy()
    g = df["group"].str[1:].astype(int).to_numpy()
    at_zero = partial_pooling(x, df["y"].to_numpy(), g, np.zeros((30, 1)), np.arange(30))
    assert np.corrcoef(at_zero - 1, b)[0, 1] > 0.95
    assert np.sqrt(np.mean((at_zero - 1 - b) ** 2)) < 0.15  # ≈ σ/√25 = 0.1 shrunk a little


def test_partial_pooling_beats_both_extremes_with_few_homes_per_group():
    # Gelman & Hill ch. 12: with few observations per group, shrinkage beats no pooling; with group
    # effects as large as the noise, it also beats ignoring the groups. Averaged over 10 data sets.
    errors = {m: [] for m in ("complete", "none", "partial")}
    for seed in range(10):
        df, b = _hierarchical(40, 3, tau=0.5, sigma=0.5, seed=seed)
        test = pd.DataFrame({"group": [f"g{k}" for k in range(40)], "x": 0.0})
        truth = 1 + b
        for m in errors:
            errors[m].append(np.mean((fit_predict(m, df, test, ("x",)) - truth) ** 2))
    mean = {m: np.mean(v) for m, v in errors.items()}
    assert mean["partial"] < mean["none"] and mean["partial"] < mean["complete"]


def test_complete_pooling_is_ols_and_no_pooling_fits_one_home_per_group_exactly():
    df, _ = _hierarchical(8, 1, tau=0.5, sigma=0.5, seed=3)
    pred = fit_predict("none", df, df, ("x",))
    np.testing.assert_allclose(pred, df["y"], atol=1e-9)  # a free intercept per group interpolates
    slope, intercept = np.polyfit(df["x"], df["y"], 1)
    np.testing.assert_allclose(fit_predict("complete", df, df, ("x",)), intercept + slope * df["x"], atol=1e-9)


def test_real_data_and_splits():
    a, r = ames(), radon()
    assert len(a) == 2930 and a["group"].nunique() == 28
    assert len(r) == 919 and r["group"].nunique() == 85
    assert r["first_floor"].sum() == 153  # HLMdiag's `basement` column is the first-floor flag
    # basement measurements read higher radon (Gelman & Hill: floor coefficient ≈ −0.6)
    assert r.loc[r.first_floor == 0, "y"].mean() - r.loc[r.first_floor == 1, "y"].mean() > 0.4
    pool, test = split_by_group(r, seed=0)
    assert len(pool) + len(test) == 919 and not set(pool.index) & set(test.index)
    assert set(test["group"]) <= set(pool["group"])
    assert training_sample(pool, 50).index.equals(pool.index[:50])
    with pytest.raises(ValueError, match="the pool has"):
        training_sample(pool, len(pool) + 1)
    pool2, test2 = split_by_group(r, seed=0)
    assert pool.index.equals(pool2.index) and test.index.equals(test2.index)
    p, t = split_rows(a, seed=1)
    assert len(t) == 879 and len(p) == 2051


def test_rules_are_applied_as_documented():
    base = dict(group="Old_Town", area=1200.0, year=1950.0, garage=1.0, price=100_000.0, y=0.0, log_area=0.0)
    rows = pd.DataFrame([
        base,
        {**base, "group": "Stone_Brook"},                      # 3: upscale neighbourhood
        {**base, "area": 1500.0, "year": 2000.0},              # 2: large enough and new enough
        {**base, "area": 1500.0, "year": 1999.0},              # 2 fails by one year
        {**base, "area": 1499.0, "year": 2005.0},              # 2 fails by one square foot
        {**base, "area": 2000.0},                              # 1: large
        {**base, "garage": 3.0},                               # 4: three-car garage
    ])
    assert rules("ames", rows).tolist() == [0, 1, 1, 0, 0, 1, 1]
    price = [200_000.0, 200_001.0, 0, 0, 0, 0, 0]
    assert target("ames", rows.assign(price=price)).tolist()[:2] == [0, 1]
    # radon: basement and county soil uranium ≥ 1 ppm (log uranium ≥ 0) — a fixed value, not a median
    cases = pd.DataFrame({"first_floor": [0.0, 0.0, 1.0], "log_uranium": [0.0, -0.01, 5.0],
                          "y": [np.log(4.01), np.log(3.99), 0.0]})
    assert rules("radon", cases).tolist() == [1, 0, 0]
    assert target("radon", cases).tolist() == [1, 0, 0]
    for task, df in (("ames", ames()), ("radon", radon())):  # the thresholds are not the data's medians
        assert abs(target(task, df).mean() - 0.5) > 0.05
    median_u = radon().groupby("group")["log_uranium"].first().median()
    assert abs(median_u - np.log(locality_rules.URANIUM_PPM)) > 0.05


def test_the_rules_curve_is_crossed_inside_the_axis():
    # the axis starts at 2 examples: a learner with two examples cannot beat the rules yet
    for task in ("ames", "radon"):
        grid = locality_rules.STUDY.budgets["quick"].grid[task]
        assert min(grid) == 2 and max(grid) <= len(split_rows(locality_rules.load(task), 0)[0])


@pytest.mark.parametrize("study", [locality.STUDY, locality_rules.STUDY])
def test_each_contender_runs_on_the_smallest_size(study):
    for task in ("ames", "radon"):
        small = min(study.budgets["quick"].grid[task])
        trials = [t for t in expand(study, "quick", seeds=1) if t.task == task and t.x == small]
        assert len(trials) == sum(len(grid_points(c.tune)) for c in study.contenders)
        for t in trials:
            r = run_trial(t)
            assert r.status == "ok", r.reason
            assert r.metrics == run_trial(t).metrics
            assert 0 < r.metrics[study.metric] < 2


@pytest.mark.parametrize("study", [locality.STUDY, locality_rules.STUDY])
def test_a_tiny_trial_reports_finite_test_and_validation_metrics(study):
    x = 16
    for t in (t for t in expand(study, "quick", seeds=1) if t.task == "radon"):
        r = run_trial(dataclasses.replace(t, x=float(x)))
        assert r.status == "ok", r.reason
        assert set(r.validation) == set(study.metrics) == set(r.metrics)
        assert all(np.isfinite(v) for v in (*r.metrics.values(), *r.validation.values()))


def test_the_validation_split_is_carved_from_the_training_rows():
    pool, _ = split_by_group(radon(), seed=2)
    train = pool[pool.groupby("group").cumcount() < 4]
    fit, val = carve_validation(train, by_group=True)
    assert len(fit) + len(val) == len(train) and not set(fit.index) & set(val.index)
    assert set(fit["group"]) == set(train["group"])  # every group keeps a home for fitting
    assert (val.groupby("group").size() == 1).all()  # one in four: the second of up to four homes
    assert carve_validation(pool[pool.groupby("group").cumcount() < 1], by_group=True)[1].empty
    fit, val = carve_validation(train.iloc[:8], by_group=False)
    assert list(val.index) == list(train.index[[1, 5]])


def test_logistic_is_tuned_over_c_and_the_test_metrics_come_from_the_refit():
    study = locality_rules.STUDY
    assert study.tuned and study.axis.kind == "data" and locality.STUDY.axis.kind == "data"
    trials = [t for t in expand(study, "quick", seeds=1) if t.task == "ames" and t.x == 256
              and t.contender == "logistic"]
    assert sorted(t.tuned["C"] for t in trials) == [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    strong, weak = (run_trial(next(t for t in trials if t.tuned["C"] == c)) for c in (0.01, 100.0))
    assert strong.metrics != weak.metrics  # C reaches the fit
    df = ames()
    pool, test = split_rows(df, 0)
    pred = locality_rules.logistic("ames", pool.iloc[:256], test, 100.0)
    assert weak.metrics == locality_rules.scores(pred, target("ames", test))


def test_logistic_beats_chance_with_enough_examples():
    trial = next(t for t in expand(locality_rules.STUDY, "quick", seeds=1)
                 if t.task == "ames" and t.contender == "logistic" and t.x == 256 and t.tuned["C"] == 1.0)
    assert run_trial(trial).metrics["balanced_error"] < 0.3  # chance (or one class everywhere) is 0.5


@pytest.mark.parametrize("task", ["ames", "radon"])
def test_the_axis_counts_training_rows_and_they_grow_strictly(task):
    pool, _ = split_by_group(locality.load(task), seed=0)
    for budget in ("quick", "full"):
        grid = sorted(locality.STUDY.budgets[budget].grid[task])
        rows = [len(training_sample(pool, int(x))) for x in grid]
        assert rows == [int(x) for x in grid]  # the axis value is the number of training rows
        assert all(a < b for a, b in zip(rows, rows[1:]))
        assert rows[-1] > 0.9 * len(pool)  # up to (nearly) the whole pool: no cap saturates
    assert locality.STUDY.axis.name == "train_rows"


def test_the_global_model_receives_the_group_as_a_categorical_feature():
    # y depends on the group only: a model blind to the group cannot beat the mean; the global model can
    rng = np.random.default_rng(0)
    effect = {f"g{k}": v for k, v in enumerate(rng.normal(0, 1.0, 12))}
    def frame(n):
        g = rng.choice(sorted(effect), n)
        return pd.DataFrame({"group": g, "x": rng.normal(size=n), "y": [effect[k] for k in g] + rng.normal(0, 0.1, n)})
    train, test = frame(600), frame(300)
    x = global_features(test, ("x",), sorted(set(train["group"])))
    assert x.shape[1] == 2 and set(np.unique(x[:, 1])) <= set(range(12))
    truth_sd = test["y"].std(ddof=0)
    assert scores(global_model(train, test, ("x",), min_samples_leaf=10), test)["rmse"] < 0.3 * truth_sd
    assert scores(fit_predict("complete", train, test, ("x",)), test)["rmse"] > 0.9 * truth_sd
    unseen = test.assign(group="nowhere")  # a group without training homes still gets a prediction
    assert np.isfinite(global_model(train, unseen, ("x",))).all()
    for method in ("none", "partial"):
        assert np.isfinite(fit_predict(method, train, unseen, ("x",))).all()


def test_each_model_beats_the_training_mean_on_a_tiny_sample():
    # ames, 64 training homes, three seeds; the global model at the tuning point its validation picks
    study, n, seeds = locality.STUDY, 64, range(3)
    trials = [t for t in expand(study, "quick", seeds=3) if t.task == "ames" and t.x == 128]
    results = {}
    for t in trials:
        r = run_trial(dataclasses.replace(t, x=float(n)))
        assert r.status == "ok", r.reason
        results.setdefault((t.contender, tuple(sorted(t.tuned.items()))), []).append(r)
    baseline = []
    for seed in seeds:
        pool, test = split_by_group(ames(), seed)
        baseline.append(scores(np.full(len(test), training_sample(pool, n)["y"].mean()), test)["rmse"])
    best = {}
    for (contender, _), rs in results.items():
        val = np.mean([r.validation["rmse"] for r in rs])
        if contender not in best or val < best[contender][0]:
            best[contender] = (val, np.mean([r.metrics["rmse"] for r in rs]))
    assert set(best) == {"global-model", "partial-pooling", "no-pooling"}
    for contender, (_, rmse) in best.items():
        assert rmse < 0.9 * np.mean(baseline), contender
