import torch

from bitterlab.geometry import sinkhorn_divergence, sliced_wasserstein, w1_ordinal


def test_w1_ordinal_is_the_bin_distance_for_point_masses():
    eye = torch.eye(5)
    assert w1_ordinal(eye[[0]], eye[[3]]).item() == 3.0
    assert w1_ordinal(eye[[1]], eye[[1]]).item() == 0.0
    assert w1_ordinal(eye[[0]], eye[[3]], squared=True).item() == 3.0


def test_w1_gradient_moves_mass_toward_the_target_while_kl_is_blind():
    target = torch.eye(7)[[5]]
    logits = torch.zeros(1, 7)
    logits[0, 0] = 6.0  # mass at bin 0, far from the target bin 5
    logits.requires_grad_(True)
    loss = w1_ordinal(torch.softmax(logits, -1), target)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    # a small step along −grad lowers the loss, and raises bin 1 (nearer the target) more than bin 6
    with torch.no_grad():
        stepped = logits - 0.5 * logits.grad
    assert w1_ordinal(torch.softmax(stepped, -1), target) < loss
    # cross-entropy treats every wrong bin the same: its gradient on bins 1..4 and 6 is equal
    ce_logits = logits.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(ce_logits, torch.tensor([5])).backward()
    g = ce_logits.grad[0]
    assert torch.allclose(g[[1, 2, 3, 4]], g[6].expand(4))
    assert logits.grad[0, 4] < logits.grad[0, 1]  # W1 pushes up bins near the target hardest


def test_sample_losses_point_the_right_way():
    torch.manual_seed(0)
    target = torch.randn(64, 2) + torch.tensor([3.0, 0.0])
    for loss_fn in (lambda x: sliced_wasserstein(x, target, n_projections=50, seed=0),
                    lambda x: sinkhorn_divergence(x, target, reg=1.0)):
        x = torch.randn(64, 2, requires_grad=True)
        loss = loss_fn(x)
        loss.backward()
        assert torch.isfinite(x.grad).all()
        with torch.no_grad():
            moved = x - 0.5 * x.grad / x.grad.norm() * 8
        assert loss_fn(moved) < loss
        assert x.grad[:, 0].mean() < 0  # the points are pulled toward +x, where the target is
