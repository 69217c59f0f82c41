"""equivariance under the protocol (the data checks live in test_positions_equivariance.py)."""

import numpy as np
import pytest

from bitterlab.engine import run_trial
from bitterlab.studies.equivariance import AUG_COPIES, STUDY, conv_macs, prepare, split
from bitterlab.study import expand
from protocol_checks import assert_batched_equals_one_by_one, assert_protocol_result, assert_tuned_verdict, tiny

TINY = {"width": 4, "batch_size": 64, "max_steps": 200, "eval_every": 10, "patience": 5}


@pytest.mark.slow  # minutes on 2 cores: `make test-slow`, run by CI
def test_mlp_and_cnn_train_on_a_tiny_size_and_beat_chance():
    study = tiny(STUDY, TINY, grid={"centered": (40, 80, 160, 320, 640)}, secondary={})
    trials = [t for t in expand(study, "quick", seeds=1)
              if t.x == 320 and t.task == "centered" and t.tuned["lr"] == 3e-3]  # 3e-3: in every grid
    assert {t.contender for t in trials} == {"mlp", "cnn", "mlp-aug"}
    for t in trials:
        r = run_trial(t)
        assert_protocol_result(r, STUDY)
        assert r.metrics["error"] < 0.5 and r.validation["error"] < 0.5  # chance: 0.9
        again = run_trial(t)
        assert (r.metrics, r.validation) == (again.metrics, again.validation)
        if t.contender == "cnn":  # convolutions counted per pixel: 3 × forward FLOPs per image seen
            assert r.flops % (6 * conv_macs(4)) == 0


def test_the_validation_split_is_carved_from_the_training_images():
    study = tiny(STUDY, dict(STUDY.budgets["quick"].options), grid={"shifted": (40, 80, 160, 320, 640)})
    trial = next(t for t in expand(study, "quick") if t.task == "shifted" and t.x == 320 and t.contender == "mlp")
    member, (x_test, _) = prepare(trial)
    x_train, *_ = split("shifted", 320, trial.seed)
    assert len(member.train[0]) + len(member.val[0]) == 320 and len(member.val[0]) == 64
    train_rows = {r.tobytes() for r in x_train.reshape(320, -1)}
    val_rows = {r.tobytes() for r in member.val[0].numpy().reshape(64, -1)}
    fit_rows = {r.tobytes() for r in member.train[0].numpy().reshape(256, -1)}
    assert val_rows <= train_rows and not val_rows & fit_rows
    assert tuple(x_test.shape) == (2000, 1, 16, 16)
    # the augmented MLP: the same fit and validation images, plus AUG_COPIES shifted copies of the fit images
    aug = next(t for t in expand(study, "quick") if t.task == "shifted" and t.x == 320 and t.contender == "mlp-aug"
               and t.seed == trial.seed)
    member_aug, _ = prepare(aug)
    assert len(member_aug.train[0]) == (AUG_COPIES + 1) * 256
    assert np.array_equal(member_aug.train[0][:256].numpy(), member.train[0].numpy())
    assert np.array_equal(member_aug.val[0].numpy(), member.val[0].numpy())
    assert np.array_equal(member_aug.train[1].numpy(), np.tile(member.train[1].numpy(), AUG_COPIES + 1))
    ink = member_aug.train[0].numpy().reshape(AUG_COPIES + 1, 256, -1).sum(-1)
    assert np.all(ink <= ink[0] + 1e-4)  # a shift with zero fill never adds ink


@pytest.mark.slow  # minutes on 2 cores: `make test-slow`, run by CI
def test_batched_trials_equal_one_by_one_in_float64():
    study = tiny(STUDY, {**TINY, "max_steps": 30, "dtype": "float64"}, seeds=2, secondary={})
    for contender in ("mlp", "cnn", "mlp-aug"):  # the CNN batched as one grouped convolution (train/stacked.py)
        assert_batched_equals_one_by_one([t for t in expand(study, "quick") if t.task == "centered"
                                          and t.contender == contender and t.x == 100])


@pytest.mark.slow  # minutes on 2 cores: `make test-slow`, run by CI
def test_a_tiny_tuned_run_selects_a_learning_rate_per_size_and_width(tmp_path):
    study = tiny(STUDY, {**TINY, "width": 2, "max_steps": 40}, grid={"shifted": (40, 80, 160, 320, 640)}, seeds=2,
                 secondary={"shifted": (1, 2, 4)})
    (v,) = assert_tuned_verdict(study, tmp_path)
    assert {p.x for p in v.selected["cnn"]} == {40, 80, 160, 320, 640}
    assert v.secondary.tuned is True and {p.x for p in v.secondary.selected["mlp"]} == {1, 2, 4}


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_the_trainer_runs_both_architectures_as_one_stacked_model(arch, monkeypatch):
    """The study's loss broadcasts over a leading member dimension, so the trainer's check passes and it
    trains the stack through :func:`bitterlab.train.stacked.stacked_forward` (one grouped convolution
    for the CNN), not through vmap: the speed the quick budget counts on."""
    import torch

    import bitterlab.train.trainer as trainer
    from bitterlab.studies.equivariance import cross_entropy, model_for
    from bitterlab.train import Member, TrainConfig

    calls, real = [], trainer.stacked_forward

    def counted(model):
        forward = real(model)
        return None if forward is None else lambda p, x: calls.append(x.shape) or forward(p, x)

    monkeypatch.setattr(trainer, "stacked_forward", counted)
    members = []
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        x, y = torch.rand(48, 1, 16, 16, generator=g), torch.randint(0, 10, (48,), generator=g)
        members.append(Member(seed=seed, train=(x[:32], y[:32]), val=(x[32:], y[32:]),
                              cfg=TrainConfig(lr=1e-3, max_steps=4, eval_every=2, batch_size=16)))
    trainer.fit(lambda: model_for(arch, {"width": 2}), cross_entropy, members)
    # the agreement check, 4 steps and the validation checks, each on all 3 members' 16 images
    assert len(calls) >= 1 + 4 and all(tuple(s[:2]) == (3, 16) for s in calls)
