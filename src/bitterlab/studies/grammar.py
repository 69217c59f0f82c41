"""grammar — "encode the programming language itself into the training".

Task: translate a program of the expression language (:mod:`bitterlab.studies.grammar_lang`, a lark
grammar) from postfix to a program that computes the same function — semantic accuracy is checked by
evaluating both at three points. One small decoder-only transformer (:mod:`bitterlab.train.transformer`,
same size and training for all) reads ``postfix | output`` and is trained on the output tokens only:

tokens (generic)
    writes infix character by character; greedy decoding, nothing constrained.
ast-actions (structured, in training)
    writes the AST's actions in prefix order (``+x*2y``); decoding only checks arity so that the
    actions form one tree (unless cut off at 40 actions: counted invalid); the tree is printed as
    infix to be evaluated.
constrained (reference: structured at inference only)
    the *tokens* model (same weights: the two trials of one seed train it once, as one group of the
    batched executor), decoded with lark's interactive LALR parser masking every character that cannot
    continue a valid program (and the end until the program is complete).

Masking renormalises the model's distribution over the allowed characters step by step, which is
not the model's distribution conditioned on validity (Park et al. 2024, grammar-aligned decoding:
for a uniform model over 5-bit strings restricted to {00000} ∪ {1····}, masking gives 00000
probability 1/2 where conditioning gives 1/17 — reproduced exactly in the tests by
:func:`masked_probability`). Per trial the study records ``masked_mass``: the mean probability the
model put on characters the grammar forbids along its decoded path (for the free tokens model, on
the first 30 test programs) — the mass masking throws away.

Axes: training examples (main; programs of up to 2 nested operators at the quick budget, 3 at the
full; the 100 test programs are disjoint from the training ones) and model width (secondary: d_model,
swept at the largest training set).
Metrics: ``semantic_error`` (main; (wrong + ½)/(n + 1)), ``invalid`` (share that does not parse or
is not one tree), ``masked_mass``, ``decode_ms_per_token`` (wall time of batched greedy decoding),
and ``semantic_error_stdlib``: the same on *real* programs — every arithmetic expression of the
Python standard library's own source that the language can say, at the same nesting bound, mined
with ``ast`` (:mod:`bitterlab.studies.grammar_stdlib`; ~90 at depth 2), less any the trial trained on.
Random programs are uniform over the grammar; the library's are not (``i+1``, ``n-1``, ``2*x+1``):
a shift of distribution with the same grammar.

Anchors: Park et al. 2024, "Grammar-aligned decoding" (NeurIPS); Yin & Neubig 2017, "A syntactic
neural model for general-purpose code generation" (ACL; AST actions).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from lark.exceptions import LarkError

from bitterlab.studies.grammar_lang import (allowed_next, is_valid, prefix_allowed, prefix_to_infix, random_program,
                                            same_function, to_prefix)
from bitterlab.studies.grammar_stdlib import stdlib_programs
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.mlp import n_params, training_flops
from bitterlab.train.transformer import Transformer

SEP, END, PAD = "|", "$", "_"
VOCAB = tuple("0123456789xy+-*()sn") + (SEP, END, PAD)
INDEX = {c: i for i, c in enumerate(VOCAB)}
MAX_OUT, N_TEST, MAX_LEN, N_MASS = 40, 100, 96, 30


def to_postfix(program: str) -> str:
    """Postfix (reverse Polish) of an infix program: the reversed prefix of its mirrored AST."""
    prefix = to_prefix(program)
    out: list[str] = []

    def walk(pos: int) -> int:
        a = prefix[pos]
        if a in "+-*":
            end = walk(walk(pos + 1))
        elif a in "sn":
            end = walk(pos + 1)
        else:
            end = pos + 1
        out.append(a)
        return end

    walk(0)
    return "".join(out)


def programs(n: int, seed: int, exclude: set[str] = frozenset(), depth: int = 3) -> list[str]:
    rng = np.random.default_rng([seed, 2024, n])
    out = []
    while len(out) < n:
        p = random_program(rng, depth)
        if p not in exclude and len(p) < MAX_OUT - 1:
            out.append(p)
    return out


def encode(rows: list[str]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([[INDEX[c] for c in r] + [INDEX[PAD]] * (width - len(r)) for r in rows])


def train(model: Transformer, sources: list[str], targets: list[str], cfg: dict, seed: int) -> int:
    """Minibatch AdamW on next-character cross-entropy over the output part (after the separator)."""
    rows = [f"{s}{SEP}{t}{END}" for s, t in zip(sources, targets, strict=True)]
    x = encode(rows)
    labels = x.clone()
    for i, s in enumerate(sources):  # loss only on the output and the end marker
        labels[i, : len(s) + 1] = -100
    labels[x == INDEX[PAD]] = -100
    steps, batch = int(cfg["steps"]), min(int(cfg["batch"]), len(rows))
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]), weight_decay=0.01, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(rows), (batch,), generator=gen)
        logits = model(x[idx, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(VOCAB)), labels[idx, 1:].reshape(-1),
                                                 ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return steps


def decode(model: Transformer, sources: list[str], allowed) -> tuple[list[str], float, float]:
    """Batched greedy decoding; ``allowed(output_so_far)`` → set of characters (``"$"`` = end) or None
    for no constraint. Returns outputs, the mean forbidden mass along the path, seconds taken."""
    start = time.perf_counter()
    outs, done = [""] * len(sources), [False] * len(sources)
    masses: list[float] = []
    for _ in range(MAX_OUT):
        rows = [f"{s}{SEP}{o}" for s, o in zip(sources, outs, strict=True)]
        lengths = [len(r) for r in rows]
        with torch.no_grad():
            logits = model(encode(rows))
        last = logits[torch.arange(len(rows)), torch.tensor(lengths) - 1]
        probs = torch.softmax(last, dim=-1)
        probs[:, INDEX[PAD]] = 0.0
        probs[:, INDEX[SEP]] = 0.0
        for i in range(len(rows)):
            if done[i]:
                continue
            p = probs[i].clone()
            ok = allowed(outs[i]) if allowed else None
            if ok is not None:
                mask = torch.zeros_like(p)
                mask[[INDEX[END if c == "$" else c] for c in ok]] = 1.0
                masses.append(float((p * (1 - mask)).sum()))
                p = p * mask
            c = VOCAB[int(p.argmax())]
            if c == END:
                done[i] = True
            else:
                outs[i] += c
        if all(done):
            break
    return outs, float(np.mean(masses)) if masses else 0.0, time.perf_counter() - start


def masked_probability(next_probs, valid: set[str], target: str) -> tuple[float, float]:
    """(probability of ``target`` under token masking, under conditioning on validity) for a model
    given by ``next_probs(prefix) -> {char: p}`` over strings of one length, by exact enumeration.

    Masking keeps, at each step, the characters that some valid string continues with, renormalised;
    conditioning is P(target)/P(valid) (Park et al. 2024, eq. 1 vs 3)."""
    def p_string(s: str, masked: bool) -> float:
        prob = 1.0
        for i, c in enumerate(s):
            dist = next_probs(s[:i])
            if masked:
                ok = {v[i] for v in valid if v.startswith(s[:i])}
                z = sum(p for k, p in dist.items() if k in ok)
                prob *= dist[c] / z
            else:
                prob *= dist[c]
        return prob

    return p_string(target, True), p_string(target, False) / sum(p_string(v, False) for v in valid)


def trained(c: dict, n: int, seed: int) -> tuple[Transformer, list[str], int]:
    """The trial's model trained on ``n`` programs (its output form from ``c``), the training
    programs and the steps taken: everything a trial does before decoding."""
    depth = int(c["depth_programs"])
    train_programs = programs(n, seed, depth=depth)
    targets = [to_prefix(p) for p in train_programs] if c["output"] == "actions" else train_programs
    torch.manual_seed(seed)
    model = Transformer(len(VOCAB), len(VOCAB), int(c["width"]), int(c["depth"]), int(c["heads"]), "learned",
                        MAX_LEN)
    steps = train(model, [to_postfix(p) for p in train_programs], targets, c, seed)
    model.eval()
    return model, train_programs, steps


def evaluate(trial: Trial, model: Transformer, train_programs: list[str], steps: int) -> TrialOutput:
    """Decode the seed's test programs and the stdlib's programs as the trial's contender does; score."""
    c = trial.config
    depth = int(c["depth_programs"])
    test_programs = programs(N_TEST, trial.seed + 10_000, exclude=set(train_programs), depth=depth)
    actions = c["output"] == "actions"
    constraint = prefix_allowed if actions else (allowed_next if c["constrained"] else None)
    outs, masked, seconds = decode(model, [to_postfix(p) for p in test_programs], constraint)
    if not c["constrained"] and not actions:  # what masking would have removed along the free path
        masked = _forbidden_mass(model, test_programs[:N_MASS], outs[:N_MASS])
    wrong, invalid = score(outs, test_programs, actions)
    seen = set(train_programs)
    real = [p for p in stdlib_programs(depth) if p not in seen]  # real programs, none trained on
    real_outs, _, _ = decode(model, [to_postfix(p) for p in real], constraint)
    real_wrong, _ = score(real_outs, real, actions)
    tokens = sum(len(o) + 1 for o in outs)
    params = n_params(model)
    return TrialOutput(metrics={"semantic_error": (wrong + 0.5) / (N_TEST + 1), "invalid": invalid / N_TEST,
                                "masked_mass": masked, "decode_ms_per_token": 1000 * seconds / tokens,
                                "semantic_error_stdlib": (real_wrong + 0.5) / (len(real) + 1)},
                       params=params, flops=training_flops(params, int(c["batch"]) * 40, steps), steps=steps)


def shared_training(trial: Trial) -> tuple:
    """Batch key: the free and the constrained tokens model of one seed are the same trained weights
    (they differ only at decoding), so they form one group and train once; every other trial is alone."""
    c = dict(trial.config)
    if c["output"] != "infix":
        return ("alone", trial.key)
    c.pop("constrained")
    return ("infix", trial.task, trial.x, trial.seed, json.dumps(c, sort_keys=True, default=str))


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials that share one trained model (:func:`shared_training`): train it once, decode per trial."""
    model, train_programs, steps = trained(trials[0].config, int(trials[0].x), trials[0].seed)
    outs: list[TrialOutput | Exception] = []
    for t in trials:
        try:
            outs.append(evaluate(t, model, train_programs, steps))
        except (ValueError, LarkError) as exc:
            outs.append(exc)
    return outs


def run(trial: Trial) -> TrialOutput:
    """One trial: train, then decode and score."""
    return evaluate(trial, *trained(trial.config, int(trial.x), trial.seed))


def score(outs: list[str], truths: list[str], actions: bool) -> tuple[int, int]:
    """(wrong, invalid) of decoded outputs against the programs they should compute; an invalid
    output (not a program, or actions that are not one tree) counts as wrong."""
    wrong, invalid = 0, 0
    for out, truth in zip(outs, truths, strict=True):
        program = out
        if actions:
            try:
                program = prefix_to_infix(out)
            except ValueError:
                program = ""
        if not program or not is_valid(program):
            invalid += 1
            wrong += 1
        elif not same_function(program, truth):
            wrong += 1
    return wrong, invalid


def _forbidden_mass(model: Transformer, programs_: list[str], outs: list[str]) -> float:
    """Mean probability the model gave to grammar-forbidden characters along its own greedy path."""
    masses = []
    for p, out in zip(programs_, outs, strict=True):
        src = to_postfix(p)
        rows = [f"{src}{SEP}{out[:i]}" for i in range(len(out) + 1)]
        with torch.no_grad():
            logits = model(encode(rows))
        for i, r in enumerate(rows):
            try:
                ok = allowed_next(out[:i])
            except LarkError:  # the free path already left the language: stop measuring it
                break
            probs = torch.softmax(logits[i, len(r) - 1], dim=-1)
            keep = sum(float(probs[INDEX[END if ch == "$" else ch]]) for ch in ok)
            masses.append(1.0 - keep)
    return float(np.mean(masses)) if masses else 0.0


STUDY = Study(
    name="grammar",
    claim="Encode the programming language itself into the training.",
    question="Translating programs from postfix, does a model that writes grammar actions (AST) or decodes under "
             "the grammar beat a plain character-level model in semantic accuracy, and how much more data does "
             "the plain model need?",
    version="2",
    run=run,
    run_batch=run_batch,
    batch_key=shared_training,
    tasks=(Task(name="postfix-to-infix", description="random programs of a lark expression grammar (digits, x, y, "
                "+ − *, parentheses, s() square, n() negation; ≤ 2 (quick) or 3 (full) nested operators), given in "
                "postfix; 100 disjoint test programs (generated)"),),
    contenders=(
        Contender(name="tokens", role="generic", description="character-level transformer, free greedy decoding",
                  options={"output": "infix", "constrained": False}),
        Contender(name="ast-actions", role="structured", description="the same transformer writing AST actions in "
                  "prefix order, arity-checked", options={"output": "actions", "constrained": False}),
        Contender(name="constrained", role="reference", description="the tokens model decoded under lark's "
                  "interactive parser (grammar masking)", options={"output": "infix", "constrained": True}),
    ),
    axis=Axis(name="n_train", label="training programs", unit="programs"),
    secondary=Axis(name="width", label="model width (d_model)", unit="units", kind="width"),
    metric="semantic_error",
    metrics=("semantic_error", "invalid", "masked_mass", "decode_ms_per_token", "semantic_error_stdlib"),
    budgets={
        "quick": Budget(grid={"postfix-to-infix": log_grid(64, 4096, 5)}, seeds=3,
                        options={"width": 32, "depth": 2, "heads": 2, "steps": 200, "batch": 32, "lr": 5e-3,
                                 "depth_programs": 2},
                        secondary={"postfix-to-infix": (8, 16, 32, 64)}),
        "full": Budget(grid={"postfix-to-infix": log_grid(64, 65536, 8)}, seeds=10,
                       options={"width": 128, "depth": 4, "heads": 4, "steps": 5000, "batch": 128, "lr": 1e-3,
                                "depth_programs": 3},
                       secondary={"postfix-to-infix": (32, 64, 128, 256, 512)}),
    },
    references=("Park et al. 2024, NeurIPS (grammar-aligned decoding)", "Yin & Neubig 2017, ACL (AST actions)",
                "lark (LALR interactive parser)"),
)
