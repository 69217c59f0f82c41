"""The stacked forward (MLPs by baddbmm, convolutional nets by one grouped convolution, the transformer's
own; no vmap) against each model run alone, and the trainer's check that falls back to vmap when a loss
does not broadcast over the member dimension."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bitterlab.train import Member, TrainConfig, fit, mlp
from bitterlab.train.stacked import stacked_forward


def _models(k: int, build) -> tuple[list[nn.Module], dict[str, torch.Tensor]]:
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        models.append(build().double())
    names = [n for n, _ in models[0].named_parameters()]
    return models, {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]) for n in names}


@pytest.mark.parametrize("shape", [(5, 3), (5, 4, 3)])
def test_stacked_forward_equals_each_model_alone(shape):
    build = lambda: nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8, bias=False), nn.GELU(),  # noqa: E731
                                  nn.Linear(8, 2))
    models, params = _models(4, build)
    x = torch.randn(4, *shape, dtype=torch.float64)
    out = stacked_forward(models[0])(params, x)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x[k]), rtol=1e-12, atol=1e-12)


def _cnn(head_bias: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, bias=False), nn.Tanh(), nn.AvgPool2d(1)),
                         nn.Flatten(), nn.Sequential(nn.Linear(4 * 1 * 1, 5, bias=head_bias)))


@pytest.mark.parametrize("build", [_cnn, lambda: _cnn(False), lambda: nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 2, 1)),
                                   lambda: nn.Sequential(nn.Flatten(), nn.Linear(2 * 8 * 8, 3))])
def test_stacked_conv_forward_equals_each_model_alone(build):
    """Nested blocks, a convolution with stride and no bias, pools, a model that starts with a pool or
    ends on images, and a flattening MLP: each member's slice is that model's own output."""
    models, params = _models(3, build)
    x = torch.randn(3, 4, 2, 8, 8, dtype=torch.float64)  # (K, N, C, H, W)
    out = stacked_forward(models[0])(params, x)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x[k]), rtol=1e-12, atol=1e-12)


def test_stacked_conv_forward_takes_gradients_of_each_member():
    models, params = _models(2, _cnn)
    params = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    x = torch.randn(2, 4, 2, 8, 8, dtype=torch.float64)
    stacked_forward(models[0])(params, x).square().sum().backward()
    for k, m in enumerate(models):
        m(x[k]).square().sum().backward()
        for n, p in m.named_parameters():
            torch.testing.assert_close(params[n].grad[k], p.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("positions", ["learned", "rope", "none"])
@pytest.mark.parametrize("offsets", [False, True])
def test_stacked_transformer_equals_each_model_alone(positions, offsets):
    """Transformer.stacked: each member's logits and parameter gradients are those of its own model,
    at the default positions and at given ones (sequences placed at random starts)."""
    from bitterlab.train.transformer import Transformer

    models, params = _models(3, lambda: Transformer(11, 7, 8, 2, 2, positions, 24))
    params = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    gen = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 11, (3, 4, 9), generator=gen)
    where = torch.randint(0, 15, (3, 4, 1), generator=gen) + torch.arange(9) if offsets else None
    out = stacked_forward(models[0])(params, tokens, *(() if where is None else (where,)))
    weights = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * weights).sum().backward()
    for k, m in enumerate(models):
        alone = m(tokens[k], None if where is None else where[k])
        torch.testing.assert_close(out[k], alone, rtol=1e-12, atol=1e-12)
        (alone * weights[k]).sum().backward()
        for n, p in m.named_parameters():
            torch.testing.assert_close(params[n].grad[k], p.grad, rtol=1e-10, atol=1e-12)


def test_batched_transformer_training_equals_training_alone():
    """The trainer takes the transformer's stacked forward (it agrees with vmap on the first batch) and
    each member ends where it would alone."""
    from bitterlab.train.transformer import Transformer, token_loss

    def member(seed: int) -> Member:
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 6, (30, 8), generator=g)
        labels = x.flip(1)
        return Member(seed=seed, train=(x[:20], labels[:20]), val=(x[20:], labels[20:]),
                      cfg=TrainConfig(lr=3e-3 * (seed + 1), batch_size=8, max_steps=12, eval_every=4, dtype="float64"))

    build = lambda: Transformer(6, 6, 8, 1, 2, "rope", 8)  # noqa: E731
    members = [member(s) for s in range(3)]
    together = fit(build, token_loss, members)
    for m, t in zip(members, together):
        (alone,) = fit(build, token_loss, [m])
        assert t.steps == alone.steps
        for p, q in zip(t.model.parameters(), alone.model.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-11)


def test_models_it_cannot_stack():
    assert stacked_forward(nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU())) is None
    assert stacked_forward(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))) is None
    assert stacked_forward(nn.Linear(2, 2)) is None
    assert stacked_forward(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))) is None
    assert stacked_forward(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2))) is None
    assert stacked_forward(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"))) is None
    assert stacked_forward(nn.Sequential(nn.Flatten(start_dim=2), nn.Linear(2, 2))) is None
    assert stacked_forward(nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))) is None
    named = nn.Module()
    named.stacked = nn.Linear(2, 2)  # a submodule called "stacked" is not a stacked forward
    assert stacked_forward(named) is None


def _members(k: int) -> list[Member]:
    out = []
    for seed in range(k):
        g = torch.Generator().manual_seed(seed)
        x, xv = torch.randn(40, 3, generator=g, dtype=torch.float64), torch.randn(20, 3, generator=g, dtype=torch.float64)
        out.append(Member(seed=seed, train=(x, x.sum(1)), val=(xv, xv.sum(1)),
                          cfg=TrainConfig(lr=1e-2 * (seed + 1), max_steps=30, eval_every=10, dtype="float64")))
    return out


def _per_example(forward, batch):
    x, y = batch
    return (forward(x).squeeze(-1) - y) ** 2


def _one_number(forward, batch):
    """A loss written for one model that reduces over everything: it does not broadcast over members."""
    x, y = batch
    return ((forward(x)[:, 0] - y) ** 2).mean()


@pytest.mark.parametrize("loss", [_per_example, _one_number])
def test_batched_training_equals_training_alone_either_way(loss):
    members = _members(3)
    together = fit(lambda: mlp(3, 8, 2), loss, members)
    for m, t in zip(members, together):
        (alone,) = fit(lambda: mlp(3, 8, 2), loss, [m])
        assert t.steps == alone.steps
        for p, q in zip(t.model.parameters(), alone.model.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("d_in,d_out", [(3, 1), (9, 4), (4, 9), (5, 5)])
def test_the_stacked_linear_layer_has_autograds_gradients(d_in, d_out, bias, relu):
    """The hand-arranged backward (a regression head's outer products as broadcasts, ∂w in the faster
    orientation) against autograd through baddbmm + relu, and against finite differences
    (``gradcheck``), and its own derivative (``gradgradcheck``)."""
    from bitterlab.train.stacked import _Linear

    gen = torch.Generator().manual_seed(d_in * 10 + d_out)
    x = torch.randn(3, 7, d_in, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, d_out, d_in, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, d_out, generator=gen, dtype=torch.float64, requires_grad=True) if bias else None
    inputs = (x, w) + ((b,) if bias else ())
    g = torch.randn(3, 7, d_out, generator=gen, dtype=torch.float64)

    def ours(*a):
        return _Linear.apply(a[0], a[1], a[2] if bias else None, relu)

    def reference(*a):
        y = torch.bmm(a[0], a[1].transpose(1, 2)) + (a[2].unsqueeze(1) if bias else 0)
        return torch.relu(y) if relu else y

    torch.testing.assert_close(ours(*inputs), reference(*inputs), rtol=1e-12, atol=1e-12)
    got = torch.autograd.grad(ours(*inputs), inputs, g)
    want = torch.autograd.grad(reference(*inputs), inputs, g)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(ours, inputs)
    assert torch.autograd.gradgradcheck(ours, inputs)
