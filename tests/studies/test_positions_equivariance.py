import dataclasses

import numpy as np
import pytest
import torch

from bitterlab.engine import run_trial
from bitterlab.studies import equivariance, positions
from bitterlab.studies.equivariance import CANVAS, digits, render, split
from bitterlab.studies.positions import IGNORE, OFFSET, VOCAB, targets
from bitterlab.study import expand
from bitterlab.train.transformer import Transformer, apply_rope, rope_angles, rope_angles_at


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


def test_training_starts_cover_every_position_and_the_tasks_stay_shift_covariant_there():
    data = positions.split(400, 16, seed=2)
    pos = positions.placed(data["start_train"], 16)
    assert pos.min() == 0 and pos.max() == 31 and set(pos.ravel()) == set(range(32))  # all 2L embeddings seen
    assert set(data["start_val"]) <= set(range(17)) and set(data["start_test"]) <= set(range(17))
    # a sequence's targets do not depend on where it is placed: the labels are a function of tokens only
    x = data["train"]
    for task in ("copy-back", "local-rule"):
        long = np.concatenate([np.zeros((len(x), 9), dtype=x.dtype), x], axis=1)  # x placed at start 9
        np.testing.assert_array_equal(targets(task, long)[:, 9 + OFFSET[task]:], targets(task, x)[:, OFFSET[task]:])


def test_rope_ignores_a_common_offset_nope_ignores_positions_learned_uses_them():
    torch.manual_seed(2)
    tokens = torch.randint(0, VOCAB, (3, 12))
    base = torch.arange(12).expand(3, 12)
    offset = base + torch.tensor([[0], [5], [20]])
    rope = Transformer(VOCAB, VOCAB, 16, 2, 2, "rope", 32).double()
    nope = Transformer(VOCAB, VOCAB, 16, 2, 2, "none", 32).double()
    learned = Transformer(VOCAB, VOCAB, 16, 2, 2, "learned", 32).double()
    with torch.no_grad():
        torch.testing.assert_close(rope(tokens, offset), rope(tokens), rtol=0, atol=1e-9)
        torch.testing.assert_close(rope(tokens, base), rope(tokens), rtol=0, atol=1e-12)
        torch.testing.assert_close(nope(tokens, offset), nope(tokens), rtol=0, atol=0)
        assert (learned(tokens, offset)[1:] - learned(tokens)[1:]).abs().max() > 1e-3
        torch.testing.assert_close(learned(tokens, base), learned(tokens), rtol=0, atol=0)
    cos, sin = rope_angles(12, 8)
    cos_at, sin_at = rope_angles_at(torch.arange(12), 8)
    torch.testing.assert_close(cos_at, cos, rtol=0, atol=0)
    torch.testing.assert_close(sin_at, sin, rtol=0, atol=0)


def test_render_without_distortion_places_the_digit_unchanged():
    images, labels = digits()
    assert images.shape == (1797, 8, 8) and images.max() == 1.0 and set(labels) == set(range(10))
    centre = np.array([[3.5, 11.5], [8.5, 6.5]])  # top-left corners (0, 8) and (5, 3)
    canvas = render(images[:2], centre, np.zeros(2), np.ones(2), np.zeros(2), np.zeros((2, 2, CANVAS, CANVAS)))
    assert canvas.shape == (2, CANVAS, CANVAS)
    np.testing.assert_allclose(canvas[0, 0:8, 8:16], images[0], atol=1e-12)
    np.testing.assert_allclose(canvas[1, 5:13, 3:11], images[1], atol=1e-12)
    assert canvas[0].sum() == pytest.approx(images[0].sum()) and canvas[1].sum() == pytest.approx(images[1].sum())
    # a rotation by 90° about the centre turns the digit's pixels (rows ↔ columns, one side reversed)
    turned = render(images[:1], np.array([[7.5, 7.5]]), np.array([np.pi / 2]), np.ones(1), np.zeros(1),
                    np.zeros((1, 2, CANVAS, CANVAS)))
    np.testing.assert_allclose(turned[0, 4:12, 4:12], np.rot90(images[0], k=1), atol=1e-9)


def test_rendered_digits_are_deterministic_per_seed_nested_and_from_disjoint_sources():
    from bitterlab.studies.equivariance import _chunk, rendered, sources

    train_src, test_src = sources(3)
    assert len(train_src) == 1400 and len(test_src) == 397 and not set(train_src) & set(test_src)
    assert set(sources(4)[1]) != set(test_src)  # each seed its own split
    x, y = rendered("shifted", 3, "train", 1500)
    assert x.shape == (1500, CANVAS, CANVAS) and x.dtype == np.float32 and set(y) == set(range(10))
    _chunk.cache_clear()
    again, y_again = rendered("shifted", 3, "train", 1500)
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, y_again)
    np.testing.assert_array_equal(rendered("shifted", 3, "train", 700)[0], x[:700])  # nested in n
    assert not np.array_equal(rendered("shifted", 4, "train", 700)[0], x[:700])
    # every rendering is a distorted copy of one of its part's sources: labels and nearest source agree
    images, labels = digits()
    xt, yt = rendered("centered", 3, "test", 200)
    xs, ys = rendered("centered", 3, "train", 200)
    for canvas, lab, pool in ((xt, yt, test_src), (xs, ys, train_src)):
        assert set(lab) <= set(labels[pool])
    # the centred control keeps its ink near the centre; the shifted task spreads it over the canvas
    rows = np.arange(CANVAS)
    centroid = (xs.sum(2) * rows).sum(1) / xs.sum((1, 2))
    assert np.all(np.abs(centroid - 7.5) < 2.5)  # the source digits themselves sit up to ~2 pixels off centre
    centroid_shifted = (x.sum(2) * rows).sum(1) / x.sum((1, 2))
    assert centroid_shifted.min() < 5 and centroid_shifted.max() > 10
    xtr, _, xte, yte = split("shifted", 100, seed=3)
    assert xtr.shape == (100, CANVAS, CANVAS) and len(yte) == 2000


def test_test_images_are_never_distortions_of_training_sources():
    """A test rendering is closer to its own (held-out) source than any training rendering would be by
    construction: the nearest training source of each undistorted test source is a different digit."""
    from bitterlab.studies.equivariance import sources

    images, _ = digits()
    train_src, test_src = sources(0)
    flat = images.reshape(len(images), -1)
    d = ((flat[test_src, None, :] - flat[None, train_src, :]) ** 2).sum(-1)
    assert d.min() > 0  # no test source is a duplicate of a training source


def test_shifted_copies_are_translations_with_zero_fill():
    from bitterlab.studies.equivariance import AUG_SHIFT, shifted_copies

    images, _ = digits()
    canvas = place_centre(images[:20])
    copies = shifted_copies(canvas, 3, np.random.default_rng(0)).reshape(3, 20, CANVAS, CANVAS)
    for c in range(3):
        for i in range(20):
            found = [(dr, dc) for dr in range(-AUG_SHIFT, AUG_SHIFT + 1) for dc in range(-AUG_SHIFT, AUG_SHIFT + 1)
                     if np.array_equal(copies[c, i], np.roll(canvas[i], (dr, dc), axis=(0, 1)))]
            assert found  # the centred digit has a 4-pixel margin: a shift of ≤ 4 never wraps or clips
    assert len({copies[c, i].tobytes() for c in range(3) for i in range(1)}) > 1


def place_centre(images):
    out = np.zeros((len(images), CANVAS, CANVAS))
    out[:, 4:12, 4:12] = images
    return out


def _tiny(study, options):
    return dataclasses.replace(study, budgets={"quick": dataclasses.replace(study.budgets["quick"], options=options)})


POSITIONS_TINY = {"length": 16, "width": 16, "depth": 2, "heads": 2, "batch_size": 32, "max_steps": 300, "eval_every": 20,
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
    assert len(data["start_val"]) == 8 and len(data["start_train"]) == 32
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

    tiny = _tiny(positions.STUDY, {"length": 16, "width": 8, "depth": 1, "heads": 2, "batch_size": 8, "max_steps": 40,
                                   "eval_every": 10, "patience": 2, "weight_decay": 0.01, "dtype": "float64"})
    trials = [t for t in expand(tiny, "quick", seeds=2) if t.task == "local-rule" and t.contender == "rope"
              and t.x in (16, 45)]
    (group,) = group_trials(trials)
    assert len(group) == 12  # 2 sizes × 2 seeds × 3 learning rates
    together = run_group(group)
    for t, both in zip(group, together, strict=True):
        alone = run_trial(t)
        assert both.status == alone.status == "ok"
        assert both.metrics == alone.metrics and both.validation == alone.validation
        assert both.steps == alone.steps and both.converged == alone.converged
        np.testing.assert_allclose(both.curve.validation, alone.curve.validation, rtol=1e-9)
        np.testing.assert_allclose(both.curve.train, alone.curve.train, rtol=1e-9)

