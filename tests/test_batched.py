import dataclasses

import numpy as np
import pytest
import torch

from bitterlab.engine import InlineExecutor, Store, group_trials, run_group, run_study, run_trial
from bitterlab.engine.batch import largest_first
from bitterlab.studies.seasonal import STUDY
from bitterlab.study import expand
from bitterlab.train import Diverged, Member, TrainConfig, fit, fit_one, mlp
from protocol_checks import tiny
from toy import study as toy_study


def _tiny(dtype="float32", seeds=2):
    return tiny(STUDY, {"width": 8, "depth": 1, "batch_size": 256, "max_steps": 40, "eval_every": 10, "patience": 2,
                        "dtype": dtype}, seeds=seeds)


def _members(k, rng, cfg, n=64):
    out = []
    for i in range(k):
        x = torch.as_tensor(rng.normal(size=(n + 5 * i, 3)), dtype=getattr(torch, cfg.dtype))
        y = torch.sin(x[:, 0]) + x[:, 1]
        out.append(Member(seed=i, train=(x[16:], y[16:]), val=(x[:16], y[:16]), cfg=cfg))
    return out


def _mse(forward, batch):
    x, y = batch
    return (forward(x).squeeze(-1) - y) ** 2


def test_float32_batched_weights_agree_to_rounding_after_a_step():
    cfg = TrainConfig(lr=1e-2, max_steps=1, eval_every=1)
    members = _members(3, np.random.default_rng(0), cfg)
    for m, fitted in zip(members, fit(lambda: mlp(3, 32, 2), _mse, members), strict=True):
        alone = fit_one(lambda: mlp(3, 32, 2), _mse, m)
        for p, q in zip(alone.model.parameters(), fitted.model.parameters(), strict=True):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), atol=1e-6)


def test_a_diverging_model_does_not_stop_its_batch_mates():
    cfg = TrainConfig(lr=1e-2, max_steps=30, eval_every=5, dtype="float64")
    members = _members(3, np.random.default_rng(1), cfg)
    members[1].train[0][5, 0] = np.inf  # member 1 sees a non-finite input: its loss is not finite at step 1
    out = fit(lambda: mlp(3, 16, 1), _mse, members)
    assert isinstance(out[1], Diverged) and out[1].step == 1
    for k in (0, 2):
        alone = fit_one(lambda: mlp(3, 16, 1), _mse, members[k])
        assert out[k].best_val == pytest.approx(alone.best_val, rel=1e-10) and out[k].steps == alone.steps


def test_trials_group_by_everything_but_the_seed():
    trials = expand(toy_study(batched=True), "quick")
    groups = group_trials(trials)
    assert len(groups) == 6 and all(len(g) == 2 for g in groups)  # 2 contenders × 3 scales, 2 seeds each
    for g in groups:
        assert len({(t.contender, t.x) for t in g}) == 1 and sorted(t.seed for t in g) == [0, 1]
    assert len(group_trials(trials, max_size=1)) == len(trials)
    assert len(group_trials(trials, batch=False)) == len(trials)
    assert len(group_trials(expand(toy_study(), "quick"))) == len(trials)  # no run_batch: no groups


def test_units_start_largest_first():
    """The pool's order is Graham's LPT rule on the sum of the trials' scales: here 2 seeds at 3 scales,
    one unit cut to a single trial and one holding every scale; equal costs keep their order."""
    trials = expand(toy_study(batched=True), "quick")
    units = group_trials(trials) + [[trials[0]], list(trials)]

    def cost(u):
        return sum(t.x for t in u)

    ordered = largest_first(units)
    assert ordered[0] is units[-1] and sorted(map(id, ordered)) == sorted(map(id, units))
    assert [cost(u) for u in ordered] == sorted(map(cost, units), reverse=True)
    ties = [u for u in units if cost(u) == cost(units[0])]
    assert [u for u in ordered if cost(u) == cost(units[0])] == ties


def test_a_batch_that_raises_falls_back_to_one_by_one():
    trials = [t for t in expand(toy_study(batched=True, batch_raises=True), "quick") if t.x == 10.0]
    results = run_group(trials[:2])
    assert [r.status for r in results] == ["ok", "ok"]
    assert [r.metrics for r in results] == [run_trial(t).metrics for t in trials[:2]]


def test_a_batched_sweep_stores_one_row_per_trial(tmp_path):
    trials = [t for t in expand(_tiny(), "quick") if t.x <= 336]
    with Store(tmp_path / "r.duckdb") as store:
        summary = run_study(trials, store, InlineExecutor(batch=True))
        assert summary.ran == len(trials) and summary.failed == 0
        df = store.frame()
    assert sorted(df["key"]) == sorted(t.key for t in trials)


def test_a_study_batch_key_groups_across_contenders():
    """A study's own batch_key replaces "differ only by seed": here, one group per (x, seed) holding
    both contenders (e.g. two decodings of one trained model)."""
    import dataclasses

    from toy import run_batch as toy_batch

    s = dataclasses.replace(toy_study(), run_batch=toy_batch, batch_key=lambda t: (t.x, t.seed))
    trials = expand(s, "quick")
    groups = group_trials(trials)
    assert len(groups) == 3 * 2  # 3 scales × 2 seeds
    for g in groups:
        assert {t.contender for t in g} == {"g", "s"} and len({(t.x, t.seed) for t in g}) == 1
    results = [r for g in groups for r in run_group(g)]
    assert {r.key: r.metrics for r in results} == {t.key: run_trial(t).metrics for t in trials}
