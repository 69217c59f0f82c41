"""positions — "no one tries to learn shift covariance anymore".

A small decoder-only transformer (:mod:`bitterlab.train.transformer`) in three variants that differ
only in how they see positions: learned absolute embeddings (generic: position is a lookup table to
be learned from data), RoPE (structured: attention depends on relative offsets by construction) and
no positional encoding (reference, NoPE).

Training gives the learned table the chance to learn shift covariance: each training sequence of
length L is placed at a random start s ~ U{0..L} of the 2L positions (randomized positional
encodings, Ruoss et al. 2023, in its contiguous form), so every one of the 2L embeddings is trained
(on main before this, positions L..2L−1 were never trained, and "fails at 2L" held by construction).
The same placement is given to all three (RoPE's scores do not change under a common offset; NoPE
ignores positions). Two separate questions, each with its verdict:

- in distribution (``error_l``): the error at the trained length L, at starts drawn as in
  training — how fast each learns the rule from examples (sample efficiency);
- out of distribution (``error_2l``, the main metric): the error on sequences of length 2L at
  positions 0..2L−1 — every position was trained, but never a context longer than L.

Tasks, shift-covariant by construction (shifting the input shifts the target; tested):

copy-back
    y_i = x_{i−3}: repeat the token three positions back (i ≥ 3; earlier positions are not scored).
local-rule
    y_i = (x_{i−1} + x_i) mod V: a local rule applied along the sequence (i ≥ 1).

Tokens are uniform over V = 10 symbols; a seed draws the training and test sequences, their starts
and the initial weights. A fifth of the training sequences (at least 4) is held out as the
validation split that stops training early and selects each contender's learning rate; its 2L
sequences, for the validation value of ``error_2l``, join pairs of validation sequences (still
training data, never the test set). Training: the shared trainer (:func:`bitterlab.train.trainer.fit`;
AdamW, minibatches, early stopping with patience, best weights restored), every size, learning rate
and seed of one contender at one width trained as one batched model. Axes: training sequences (main)
and model width (secondary: d_model, swept at the largest training set, on copy-back at the quick
budget and on both tasks at the full one).
Metrics: token error rate at 2L and at L, each as (errors + ½)/(scored tokens + 1) so that a
perfect score stays positive for the log–log fit (the truth is known: a distance to it).

Anchors: Kazemnejad et al. 2023, "The impact of positional encoding on length generalization in
transformers" (NeurIPS) — beyond the trained length, absolute positions and RoPE both failed and NoPE
did best on their tasks; Press et al. 2022 (ALiBi, ICLR) — sinusoidal/learned positions do not
extrapolate; Ruoss et al. 2023 (ACL) — randomized positions let learned and relative encodings
generalise to longer sequences.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Member, Trained, TrainConfig, fit
from bitterlab.train.transformer import IGNORE, Transformer, forward_flops, token_loss

VOCAB, N_TEST = 10, 256
OFFSET = {"copy-back": 3, "local-rule": 1}


def targets(task: str, x: np.ndarray) -> np.ndarray:
    """Targets for token sequences x (batch, length); ``IGNORE`` where the rule has no input yet."""
    k = OFFSET[task]
    y = np.full_like(x, IGNORE)
    if task == "copy-back":
        y[:, k:] = x[:, :-k]
    elif task == "local-rule":
        y[:, k:] = (x[:, :-k] + x[:, k:]) % VOCAB
    else:
        raise ValueError(f"positions: unknown task {task!r}")
    return y


def sequences(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, VOCAB, size=(n, length))


def split(n: int, length: int, seed: int) -> dict[str, np.ndarray]:
    """A seed's sequences: ``n`` for training, of which the first fifth (at least 4) is the validation
    split, and the test sets at L and 2L (drawn first, so they do not depend on ``n``).

    Each sequence of length L gets a start s uniform in 0..L (randomized positions, Ruoss et al. 2023):
    it occupies the absolute positions s..s+L−1, so that training at L visits all 2L positions of the
    table and a learned embedding is *able* to learn shift covariance. The 2L sequences start at 0."""
    rng = np.random.default_rng([seed, 606])
    test_l, test_2l = sequences(N_TEST, length, rng), sequences(N_TEST, 2 * length, rng)
    x = sequences(n, length, rng)
    start_test, start = rng.integers(0, length + 1, size=N_TEST), rng.integers(0, length + 1, size=n)
    n_val = max(4, n // 5)
    if n - n_val < 1:
        raise ValueError(f"positions: {n} training sequences leave none after the {n_val} of validation")
    return {"train": x[n_val:], "val": x[:n_val], "test_l": test_l, "test_2l": test_2l,
            "start_train": start[n_val:], "start_val": start[:n_val], "start_test": start_test}


def placed(start: np.ndarray, length: int) -> np.ndarray:
    """Absolute positions (batch, length) of sequences starting at ``start`` (batch,)."""
    return np.asarray(start)[:, None] + np.arange(length)[None, :]


def doubled(x: np.ndarray) -> np.ndarray:
    """2L sequences made of pairs of L sequences (each with the next, cyclically)."""
    return np.concatenate([x, np.roll(x, -1, axis=0)], axis=1)


def error_rate(model: Transformer, task: str, x: np.ndarray, start: np.ndarray | None = None) -> float:
    """(errors + ½)/(scored tokens + 1) of the greedy prediction (sequences at ``start``, default 0)."""
    y = targets(task, x)
    device = next(model.parameters()).device
    pos = None if start is None else torch.as_tensor(placed(start, x.shape[1]), device=device)
    with torch.no_grad():
        pred = model(torch.as_tensor(x, device=device), pos).argmax(-1).cpu().numpy()
    scored = y != IGNORE
    return float((np.sum(pred[scored] != y[scored]) + 0.5) / (scored.sum() + 1))


def errors(model: Transformer, task: str, x_l: np.ndarray, start_l: np.ndarray, x_2l: np.ndarray) -> dict[str, float]:
    """error_l: at the trained length, at starts drawn as in training (in distribution); error_2l: at
    twice the trained length, positions 0..2L−1 (a length never seen)."""
    return {"error_2l": error_rate(model, task, x_2l), "error_l": error_rate(model, task, x_l, start_l)}


def member(task: str, seed: int, data: dict[str, np.ndarray], cfg: TrainConfig) -> Member:
    """The trainer's member of one seed's data: (tokens, targets, positions) of its training and
    validation splits."""
    def tensors(x: np.ndarray, start: np.ndarray) -> tuple[torch.Tensor, ...]:
        return (torch.as_tensor(x), torch.as_tensor(targets(task, x)),
                torch.as_tensor(placed(start, x.shape[1])))

    return Member(seed=seed, train=tensors(data["train"], data["start_train"]),
                  val=tensors(data["val"], data["start_val"]), cfg=cfg)


def output(trial: Trial, data: dict[str, np.ndarray], r: Trained) -> TrialOutput:
    model = r.model.eval()
    length = data["train"].shape[1]
    return trial_output(r, errors(model, trial.task, data["test_l"], data["start_test"], data["test_2l"]),
                        errors(model, trial.task, data["val"], data["start_val"], doubled(data["val"])),
                        forward_flops=forward_flops(model, length))


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one contender, task and width (any sizes, seeds and learning rates): one batched model
    (the trainer pads the smaller training sets; each member keeps its own minibatch stream)."""
    c = trials[0].config
    length = int(c["length"])
    data = [split(int(t.x), length, t.seed) for t in trials]
    build = partial(Transformer, VOCAB, VOCAB, int(c["width"]), int(c["depth"]), int(c["heads"]), c["positions"],
                    2 * length)
    members = [member(t.task, t.seed, d, TrainConfig.from_options(t.config)) for t, d in zip(trials, data)]
    fitted = fit(build, token_loss, members, device=trials[0].device)
    return [output(t, d, r) if isinstance(r, Trained) else failure(r)
            for t, d, r in zip(trials, data, fitted, strict=True)]


def batch_key(trial: Trial) -> tuple:
    """Trials that share a model shape train together: one task, contender and width, every size."""
    fixed = {k: v for k, v in trial.config.items() if k not in trial.tuned and k != "n_train"}
    return trial.task, trial.contender, json.dumps(fixed, sort_keys=True)


def run(trial: Trial) -> TrialOutput:
    return run_alone(run_batch, trial)


LR_QUICK, LR_FULL = (3e-3, 1e-2, 3e-2), (3e-4, 1e-3, 3e-3)  # learned-abs chose the top of (1e-3, 3e-3, 1e-2)

STUDY = Study(
    name="positions",
    claim="No one tries to learn shift covariance anymore.",
    question="On shift-covariant sequence tasks, trained at random offsets so that every position embedding is "
             "trained, does a transformer with learned absolute positions learn the task as fast as one with RoPE "
             "at the trained length (in distribution), and does it generalise to twice the trained length as well "
             "(out of distribution), as training examples grow?",
    version="3",  # randomized positions in training (every embedding trained); error_l at random starts
    run=run,
    run_batch=run_batch,
    batch_key=batch_key,
    tasks=(
        Task(name="copy-back", description="y_i = x_{i−3} over 10 symbols; train length L (16; 8 at quick) at random "
             "starts 0..L of 2L positions; test L (random starts) and 2L (generated)"),
        Task(name="local-rule", description="y_i = (x_{i−1} + x_i) mod 10; train length L (16; 8 at quick) at random "
             "starts 0..L of 2L positions; test L (random starts) and 2L (generated)"),
    ),
    contenders=(
        Contender(name="learned-abs", role="generic", description="learned absolute position embeddings, trained "
                  "at random offsets (Ruoss et al. 2023)", options={"positions": "learned"}, tune={"lr": LR_FULL}),
        Contender(name="rope", role="structured", description="rotary position embedding (relative by construction)",
                  options={"positions": "rope"}, tune={"lr": LR_FULL}),
        Contender(name="nope", role="reference", description="no positional encoding (causal mask only)",
                  options={"positions": "none"}, tune={"lr": LR_FULL}),
    ),
    axis=Axis(name="n_train", label="training sequences", unit="sequences", kind="data"),
    secondary=Axis(name="width", label="model width (d_model)", unit="units", kind="width"),
    metric="error_2l",  # out of distribution: twice the trained length
    metrics=("error_2l", "error_l"),
    verdicts=("error_l",),  # in distribution: the trained length at training-distributed starts
    budgets={
        # quick: local-rule (a 100-entry table to learn) is a two-point check at the large sizes; the full
        # budget sweeps it as copy-back
        # quick: trained at length 8 (tested at 8 and 16) to fit its CPU budget; the full budget trains at 16
        "quick": Budget(grid={t: log_grid(16, 1024, 5) for t in ("copy-back", "local-rule")}, seeds=8,
                        options={"length": 8, "width": 8, "depth": 2, "heads": 2, "batch_size": 16, "max_steps": 200,
                                 "eval_every": 20, "patience": 5, "weight_decay": 0.01},
                        secondary={"copy-back": (4, 8, 16, 32)},
                        tune={"learned-abs": {"lr": LR_QUICK}, "rope": {"lr": LR_QUICK},
                              "nope": {"lr": (1e-2,)}}),  # the reference untuned at quick
        "full": Budget(grid={t: log_grid(16, 16384, 8) for t in ("copy-back", "local-rule")}, seeds=10,
                       options={"length": 16, "width": 128, "depth": 4, "heads": 4, "batch_size": 64, "max_steps": 20000,
                                "eval_every": 100, "patience": 10, "weight_decay": 0.01},
                       secondary={t: (32, 64, 128, 256, 512) for t in ("copy-back", "local-rule")}),
    },
    references=("Kazemnejad et al. 2023, NeurIPS (NoPE; length generalisation)", "Press, Smith & Lewis 2022, ICLR "
                "(ALiBi)", "Ruoss et al. 2023, ACL (randomized positional encodings)",
                "Su et al. 2021, RoFormer (RoPE, eq. 34)"),
)
