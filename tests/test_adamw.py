"""The stacked AdamW against PyTorch's own: each member of a stack, with its own learning rate, weight
decay and betas, follows ``torch.optim.AdamW`` on that member alone (float64, to rounding); a member
that is not live is left exactly as it was."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bitterlab.train.adamw import StackedAdamW

HYPER = st.tuples(st.floats(1e-4, 1e-1), st.floats(0.0, 0.5), st.floats(0.5, 0.99), st.floats(0.9, 0.9999))


def _grad(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor, k: int | None = None):
    """Gradient of a least-squares loss at (w, b): a different problem per member."""
    pred = x @ w.unsqueeze(-1) + b.unsqueeze(-1) if k is None else x[k] @ w + b
    return ((pred.squeeze(-1) - (y if k is None else y[k])) ** 2).sum()


def _problem(k: int, seed: int):
    """K least-squares problems (x, y) and starting points (w0, b0), float64."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(k, 16, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(k, 16, generator=gen, dtype=torch.float64)
    return x, y, torch.randn(k, 3, generator=gen, dtype=torch.float64), torch.randn(k, 1, generator=gen, dtype=torch.float64)


@settings(max_examples=20, deadline=None)
@given(st.lists(HYPER, min_size=1, max_size=4), st.integers(0, 2**16))
def test_each_member_follows_torch_adamw(hyper, seed):
    k = len(hyper)
    x, y, w0, b0 = _problem(k, seed)
    params = {"w": w0.clone().requires_grad_(True), "b": b0.clone().requires_grad_(True)}
    opt = StackedAdamW(params, lr=[h[0] for h in hyper], weight_decay=[h[1] for h in hyper],
                       betas=[(h[2], h[3]) for h in hyper])
    alone = []
    for i, (lr, wd, b1, b2) in enumerate(hyper):
        w, b = w0[i].clone().requires_grad_(True), b0[i].clone().requires_grad_(True)
        alone.append((w, b, torch.optim.AdamW([w, b], lr=lr, weight_decay=wd, betas=(b1, b2), foreach=False)))
    live = torch.ones(k, dtype=torch.bool)
    for _ in range(25):
        opt.zero_grad()
        _grad(params["w"], params["b"], x, y).backward()
        opt.step(live)
        for i, (w, b, o) in enumerate(alone):
            o.zero_grad()
            _grad(w, b, x, y, i).backward()
            o.step()
    for i, (w, b, _) in enumerate(alone):
        torch.testing.assert_close(params["w"][i].detach(), w.detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(params["b"][i].detach(), b.detach(), rtol=1e-10, atol=1e-12)


def test_a_member_that_is_not_live_is_untouched_and_compaction_keeps_the_others():
    params = {"w": torch.randn(3, 4, dtype=torch.float64, requires_grad=True)}
    opt = StackedAdamW(params, lr=[0.1, 0.01, 0.001], weight_decay=[0.1] * 3, betas=[(0.9, 0.999)] * 3)
    for _ in range(3):
        opt.zero_grad()
        (params["w"] ** 2).sum().backward()
        opt.step(torch.tensor([True, True, True]))
    frozen = params["w"][1].detach().clone()
    opt.zero_grad()
    (params["w"] ** 2).sum().backward()
    opt.step(torch.tensor([True, False, True]))
    assert torch.equal(params["w"][1].detach(), frozen)
    assert opt.steps == [4, 3, 4]
    kept = {"w": params["w"].detach()[[0, 2]].clone().requires_grad_(True)}
    opt.keep(torch.tensor([0, 2]), kept)
    assert [h[0] for h in opt.hyper] == [0.1, 0.001] and opt.m["w"].shape == (2, 4)


POOL = [(1e-2, 0.0, 0.9, 0.999), (3e-2, 0.1, 0.8, 0.99), (1e-3, 0.0, 0.9, 0.999)]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(POOL), st.integers(0, 12)), min_size=2, max_size=7), st.booleans(),
       st.integers(0, 2**16))
def test_runs_of_shared_settings_and_members_that_stop(spec, grouped, seed):
    """Members share settings (one fused call per run of neighbours), in the trainer's grouped order or
    not, and stop at their own steps: each follows ``torch.optim.AdamW`` for as many steps as it was live,
    and then stays exactly where it stopped."""
    from bitterlab.train.adamw import order

    if grouped:
        spec = [spec[i] for i in order([h for h, _ in spec])]
    k = len(spec)
    x, y, w0, b0 = _problem(k, seed)
    params = {"w": w0.clone().requires_grad_(True), "b": b0.clone().requires_grad_(True)}
    opt = StackedAdamW(params, lr=[h[0] for h, _ in spec], weight_decay=[h[1] for h, _ in spec],
                       betas=[(h[2], h[3]) for h, _ in spec])
    for step in range(12):
        opt.zero_grad()
        _grad(params["w"], params["b"], x, y).backward()
        opt.step([step < stop for _, stop in spec])
    assert opt.steps == [min(stop, 12) for _, stop in spec]
    for i, ((lr, wd, b1, b2), stop) in enumerate(spec):
        w, b = w0[i].clone().requires_grad_(True), b0[i].clone().requires_grad_(True)
        alone = torch.optim.AdamW([w, b], lr=lr, weight_decay=wd, betas=(b1, b2), foreach=False)
        for _ in range(min(stop, 12)):
            alone.zero_grad()
            _grad(w, b, x, y, i).backward()
            alone.step()
        torch.testing.assert_close(params["w"][i].detach(), w.detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(params["b"][i].detach(), b.detach(), rtol=1e-10, atol=1e-12)


@given(st.lists(st.sampled_from(POOL), max_size=12))
def test_order_makes_each_setting_one_run_and_keeps_first_appearance(hypers):
    from bitterlab.train.adamw import order

    idx = order(hypers)
    assert sorted(idx) == list(range(len(hypers)))
    seq = [hypers[i] for i in idx]
    runs = [h for j, h in enumerate(seq) if j == 0 or seq[j - 1] != h]
    assert len(runs) == len(set(hypers))  # each setting is one contiguous run
    assert runs == list(dict.fromkeys(hypers))  # in order of first appearance
    for h in set(hypers):  # stable within a setting
        mine = [i for i in idx if hypers[i] == h]
        assert mine == sorted(mine)
