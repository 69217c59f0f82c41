"""positions — "no one tries to learn shift covariance anymore".

A small decoder-only transformer (:mod:`bitterlab.train.transformer`) in three variants that differ
only in how they see positions: learned absolute embeddings (generic: position is a lookup table to
be learned from data), RoPE (structured: attention depends on relative offsets by construction) and
no positional encoding (reference, NoPE). Trained on sequences of length L, scored at L and at 2L.

Tasks, shift-covariant by construction (shifting the input shifts the target; tested):

copy-back
    y_i = x_{i−3}: repeat the token three positions back (i ≥ 3; earlier positions are not scored).
local-rule
    y_i = (x_{i−1} + x_i) mod V: a local rule applied along the sequence (i ≥ 1).

Tokens are uniform over V = 10 symbols; a seed draws the training and test sequences and the
initial weights. Axes: training sequences (main) and model width (secondary: d_model, swept at the
largest training set, on copy-back at the quick budget and on both tasks at the full one).
Metrics: token error rate at length L and at 2L (main), each as (errors + ½)/(scored tokens + 1)
so that a perfect score stays positive for the log–log fit.

Anchors: Kazemnejad et al. 2023, "The impact of positional encoding on length generalization in
transformers" (NeurIPS) — beyond the trained length, absolute positions and RoPE both failed and NoPE
did best on their tasks; Press et al. 2022 (ALiBi, ICLR) — sinusoidal/learned positions do not
extrapolate.
"""

from __future__ import annotations

import numpy as np
import torch

from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.mlp import n_params, training_flops
from bitterlab.train.transformer import Transformer

VOCAB, IGNORE, N_TEST = 10, -100, 256
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


def error_rate(model: Transformer, task: str, x: np.ndarray) -> float:
    """(errors + ½)/(scored tokens + 1) of the greedy prediction."""
    y = targets(task, x)
    with torch.no_grad():
        pred = model(torch.as_tensor(x)).argmax(-1).numpy()
    scored = y != IGNORE
    return float((np.sum(pred[scored] != y[scored]) + 0.5) / (scored.sum() + 1))


def train(task: str, x: np.ndarray, cfg: dict, positions: str, seed: int) -> tuple[Transformer, int]:
    """Minibatch Adam (cosine-decayed) on token cross-entropy; returns the model and the steps taken."""
    length = x.shape[1]
    model = Transformer(VOCAB, VOCAB, int(cfg["width"]), int(cfg["depth"]), int(cfg["heads"]), positions,
                        max_len=2 * length)
    steps, batch = int(cfg["steps"]), int(cfg["batch"])
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]), weight_decay=0.01, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    xt, yt = torch.as_tensor(x), torch.as_tensor(targets(task, x))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(xt), (min(batch, len(xt)),), generator=gen)
        logits = model(xt[idx])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), yt[idx].reshape(-1), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model, steps


def run(trial: Trial) -> TrialOutput:
    c = trial.config
    length = int(c["length"])
    rng = np.random.default_rng([trial.seed, 606])
    test_l, test_2l = sequences(N_TEST, length, rng), sequences(N_TEST, 2 * length, rng)
    x = sequences(int(trial.x), length, rng)
    model, steps = train(trial.task, x, c, c["positions"], trial.seed)
    model.eval()
    params = n_params(model)
    return TrialOutput(metrics={"error_2l": error_rate(model, trial.task, test_2l),
                                "error_l": error_rate(model, trial.task, test_l)},
                       params=params, flops=training_flops(params, min(int(c["batch"]), int(trial.x)) * length, steps),
                       steps=steps)


STUDY = Study(
    name="positions",
    claim="No one tries to learn shift covariance anymore.",
    question="On shift-covariant sequence tasks, does a transformer with learned absolute positions generalise "
             "to twice the trained length as well as one with RoPE, as training examples grow?",
    version="1",  # the secondary axis adds trials; the main sweep's keys are unchanged
    run=run,
    tasks=(
        Task(name="copy-back", description="y_i = x_{i−3} over 10 symbols; train length 16, test 16 and 32 "
             "(generated)", options={"length": 16}),
        Task(name="local-rule", description="y_i = (x_{i−1} + x_i) mod 10; train length 16, test 16 and 32 "
             "(generated)", options={"length": 16}),
    ),
    contenders=(
        Contender(name="learned-abs", role="generic", description="learned absolute position embeddings",
                  options={"positions": "learned"}),
        Contender(name="rope", role="structured", description="rotary position embedding (relative by construction)",
                  options={"positions": "rope"}),
        Contender(name="nope", role="reference", description="no positional encoding (causal mask only)",
                  options={"positions": "none"}),
    ),
    axis=Axis(name="n_train", label="training sequences", unit="sequences"),
    secondary=Axis(name="width", label="model width (d_model)", unit="units", kind="width"),
    metric="error_2l",
    metrics=("error_2l", "error_l"),
    budgets={
        "quick": Budget(grid={t: log_grid(16, 1024, 5) for t in ("copy-back", "local-rule")}, seeds=3,
                        options={"width": 32, "depth": 2, "heads": 2, "steps": 150, "batch": 32, "lr": 5e-3},
                        secondary={"copy-back": (8, 16, 32, 64)}),
        "full": Budget(grid={t: log_grid(16, 16384, 8) for t in ("copy-back", "local-rule")}, seeds=10,
                       options={"width": 128, "depth": 4, "heads": 4, "steps": 4000, "batch": 64, "lr": 1e-3},
                       secondary={t: (32, 64, 128, 256, 512) for t in ("copy-back", "local-rule")}),
    },
    references=("Kazemnejad et al. 2023, NeurIPS (NoPE; length generalisation)", "Press, Smith & Lewis 2022, ICLR "
                "(ALiBi)", "Su et al. 2021, RoFormer (RoPE, eq. 34)"),
)
