import dataclasses

import numpy as np
import pytest
import torch

from bitterlab.engine import run_trial
from bitterlab.studies import equivariance, positions
from bitterlab.studies.equivariance import CANVAS, digits, place, split
from bitterlab.studies.positions import IGNORE, VOCAB, targets
from bitterlab.study import expand
from bitterlab.train.transformer import Transformer, apply_rope, rope_angles


@pytest.mark.parametrize("task", ["copy-back", "local-rule"])
def test_tasks_are_shift_covariant(task):
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(50, 40))
    y = targets(task, x)
    for s in (1, 5, 17):
        shifted = targets(task, x[:, s:])  # the sequence seen from position s on
        scored = shifted != IGNORE
        np.testing.assert_array_equal(shifted[scored], y[:, s:][scored])
    if task == "copy-back":
        np.testing.assert_array_equal(y[:, 3:], x[:, :-3])
    else:
        np.testing.assert_array_equal(y[:, 1:], (x[:, 1:] + x[:, :-1]) % VOCAB)


def test_rope_scores_depend_only_on_the_offset():
    torch.manual_seed(0)
    dim, length = 16, 40
    q, k = torch.randn(dim, dtype=torch.float64), torch.randn(dim, dtype=torch.float64)
    cos, sin = rope_angles(length, dim)
    rq = apply_rope(q.expand(length, dim), cos, sin)
    rk = apply_rope(k.expand(length, dim), cos, sin)
    scores = rq @ rk.T  # scores[m, n] = ⟨R_m q, R_n k⟩
    for offset in (-7, 0, 3, 11):
        diag = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(diag, diag[0].expand_as(diag), rtol=0, atol=1e-12)
    assert torch.diagonal(scores, 0)[0] != torch.diagonal(scores, 5)[0]
    # rotations keep norms
    torch.testing.assert_close(rq.norm(dim=-1), q.norm().expand(length))


def test_learned_positions_see_absolute_position_and_nope_does_not():
    torch.manual_seed(1)
    x = torch.full((1, 12), 4)  # a constant sequence: only position can tell tokens apart
    nope = Transformer(VOCAB, VOCAB, 16, 1, 2, "none", 24)
    learned = Transformer(VOCAB, VOCAB, 16, 1, 2, "learned", 24)
    with torch.no_grad():
        out_nope, out_learned = nope(x)[0], learned(x)[0]
    torch.testing.assert_close(out_nope, out_nope[0].expand_as(out_nope))  # causal mean of equal values
    assert (out_learned - out_learned[0]).abs().max() > 1e-3
    with pytest.raises(ValueError, match="exceeds max_len"):
        learned(torch.zeros((1, 25), dtype=torch.long))


def test_digits_are_placed_on_the_canvas_unchanged():
    images, labels = digits()
    assert images.shape == (1797, 8, 8) and images.max() == 1.0 and set(labels) == set(range(10))
    canvas = place(images[:2], np.array([[0, 8], [5, 3]]))
    assert canvas.shape == (2, CANVAS, CANVAS)
    np.testing.assert_array_equal(canvas[0, 0:8, 8:16], images[0])
    np.testing.assert_array_equal(canvas[1, 5:13, 3:11], images[1])
    assert canvas[0].sum() == pytest.approx(images[0].sum()) and canvas[1].sum() == pytest.approx(images[1].sum())
    xs, ys, xt, yt = split("shifted", 100, seed=4)
    assert xs.shape == (100, CANVAS, CANVAS) and len(yt) == 397
    xc, *_ = split("centered", 100, seed=4)
    assert (xc[:, :4, :].sum() == 0) and (xc[:, :, :4].sum() == 0)  # centred: a 4-pixel margin
    with pytest.raises(ValueError, match="pool has"):
        split("shifted", 2000, seed=0)


def _tiny(study, options):
    return dataclasses.replace(study, budgets={"quick": dataclasses.replace(study.budgets["quick"], options=options)})


POSITIONS_TINY = {"width": 16, "depth": 2, "heads": 2, "batch_size": 32, "max_steps": 300, "eval_every": 20,
                  "patience": 4, "weight_decay": 0.01}


def test_each_position_variant_trains_and_beats_chance_at_the_trained_length():
    tiny = _tiny(positions.STUDY, POSITIONS_TINY)
    trials = [t for t in expand(tiny, "quick", seeds=1) if t.task == "copy-back" and t.x == 1024 and t.x2 == 16
              and t.contender != "nope" and t.tuned["lr"] == 1e-2]
    assert {t.contender for t in trials} == {"learned-abs", "rope"}
    for t in trials:
        r = run_trial(t)
        assert r.status == "ok", r.reason
        assert r.metrics["error_l"] < 0.5 * (1 - 1 / VOCAB)  # chance: 0.9
        assert set(r.validation) == {"error_l", "error_2l"} and all(np.isfinite(v) for v in r.validation.values())
        assert r.validation["error_l"] < 0.5 * (1 - 1 / VOCAB)
        assert r.converged is not None and r.curve is not None and r.steps <= 300


def test_validation_is_carved_from_the_training_sequences():
    data = positions.split(40, 16, seed=3)
    assert len(data["val"]) == 8 and len(data["train"]) == 32  # a fifth, from the 40 training sequences
    rng = np.random.default_rng([3, 606])
    test_l = rng.integers(0, VOCAB, size=(positions.N_TEST, 16))
    np.testing.assert_array_equal(data["test_l"], test_l)  # the test set does not depend on n
    long = positions.doubled(data["val"])
    assert long.shape == (8, 32)
    np.testing.assert_array_equal(long[0], np.concatenate([data["val"][0], data["val"][1]]))


def test_batched_positions_trials_equal_one_by_one_in_float64():
    """Seeds × learning rates of one contender at one scale, trained as one batched model, give the
    numbers each gives alone (float64: up to summation order)."""
    from bitterlab.engine import group_trials, run_group

    tiny = _tiny(positions.STUDY, {"width": 8, "depth": 1, "heads": 2, "batch_size": 8, "max_steps": 40,
                                   "eval_every": 10, "patience": 2, "weight_decay": 0.01, "dtype": "float64"})
    trials = [t for t in expand(tiny, "quick", seeds=2) if t.task == "local-rule" and t.x == 45
              and t.contender == "rope"]
    (group,) = group_trials(trials)
    assert len(group) == 6  # 2 seeds × 3 learning rates
    together = run_group(group)
    for t, both in zip(group, together, strict=True):
        alone = run_trial(t)
        assert both.status == alone.status == "ok"
        assert both.metrics == alone.metrics and both.validation == alone.validation
        assert both.steps == alone.steps and both.converged == alone.converged
        np.testing.assert_allclose(both.curve.validation, alone.curve.validation, rtol=1e-9)
        np.testing.assert_allclose(both.curve.train, alone.curve.train, rtol=1e-9)

