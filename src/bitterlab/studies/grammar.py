"""grammar — "encode the programming language itself into the training".

Task: translate a program of the expression language (:mod:`bitterlab.studies.grammar_lang`, a lark
grammar) from postfix to a program that computes the same function — semantic accuracy is checked by
evaluating both at three points. One small decoder-only transformer (:mod:`bitterlab.train.transformer`,
same size and training for all) reads ``postfix | output`` and is trained on the output tokens only:

tokens (generic)
    trained to write the infix text character by character; greedy decoding, nothing constrained.
productions (structured, in training)
    the same transformer trained to write the program's *derivation*: the productions of the lark
    grammar in leftmost order, and the value of each digit, variable and function
    (:func:`bitterlab.studies.grammar_lang.to_actions`, Yin & Neubig 2017's ApplyRule and GenToken).
    Its output is the derivation's linearisation (:func:`~bitterlab.studies.grammar_lang.linearise`):
    the same infix text, parentheses included, as the tokens model writes — only the training target
    differs. Decoding is free greedy, like the tokens model's (a sequence that is not one derivation
    of the grammar, or that the 120-action limit cuts off, is invalid).
constrained (reference: the grammar at inference only)
    the *tokens* model (same weights: the two trials of one seed and learning rate train it once, in
    one group of the batched executor), decoded with lark's interactive LALR parser masking every character that cannot
    continue a valid program (and the end until the program is complete).

Masking renormalises the model's distribution over the allowed characters step by step, which is
not the model's distribution conditioned on validity (Park et al. 2024, grammar-aligned decoding:
for a uniform model over 5-bit strings restricted to {00000} ∪ {1····}, masking gives 00000
probability 1/2 where conditioning gives 1/17 — reproduced exactly in the tests by
:func:`masked_probability`). Per trial the study records
``masked_mass``: the mean probability the model put on symbols the grammar forbids along its decoded
path (for a freely decoded model, on the first 30 test programs; of characters for the tokens model,
of actions for the derivation model) — the mass masking would throw away.

Protocol: a fifth of the training programs (16 to 50) is the validation split (less any that also
occur among the rest, so that no validation program is trained on); it stops training early and
selects each contender's learning rate, decoded exactly as the test set. The shared trainer
(:func:`bitterlab.train.trainer.fit`: AdamW, minibatches, early stopping with patience, best weights
restored) trains every seed and learning rate of one output form at one scale as one batched model,
which the free and the constrained tokens trials share (:func:`shared_training`). Both models are
scored on the text they output, by what it computes: the main metric is the same for both and is
neither model's training loss.

Test sets, fixed: a program is a *test program* when a hash of its text falls in a fixed fifth
(:func:`held_out`); training programs are drawn from the rest, so the 100 test programs
(:func:`held_out_programs`: draws of the same generator conditioned on the test part) are one set,
the same at every n and every seed, and disjoint from every training set. The real-distribution
test is ``semantic_error_stdlib``: every arithmetic expression of the Python standard library's own
source that the language can say, at the same nesting bound, mined with ``ast``
(:mod:`bitterlab.studies.grammar_stdlib`; 94 at depth 2), none of which is ever a training program
(they carry ~3% of the generator's mass at depth 2). Random programs are uniform over the grammar;
the library's are not (``i+1``, ``n-1``, ``2*x+1``): a shift of distribution with the same grammar.
It has no validation value (it is a test of shift only) and a verdict of its own (``verdicts``).

Axes: training examples (main; programs of up to 2 nested operators at the quick budget, 3 at the
full) and model width (secondary: d_model, swept at the largest training set).
Metrics: ``semantic_error`` (main; (wrong + ½)/(n + 1)), ``invalid`` (share that is not a program, or
not one derivation), ``masked_mass``, and ``semantic_error_stdlib``.

Anchors: Park et al. 2024, "Grammar-aligned decoding" (NeurIPS); Yin & Neubig 2017, "A syntactic
neural model for general-purpose code generation" (ACL; AST actions).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache, lru_cache, partial

import numpy as np
import torch
from lark.exceptions import LarkError

from bitterlab.studies.grammar_lang import (INFIX_TOKENS, PRODUCTION_CHARS, action_tokens, actions_allowed, allowed_next,
                                            is_valid, linearise, random_program, same_function, to_actions, to_prefix)
from bitterlab.studies.grammar_stdlib import stdlib_programs
from bitterlab.study import Axis, Budget, Contender, Study, Task, Trial, TrialOutput, log_grid
from bitterlab.train.outputs import failure, run_alone, trial_output
from bitterlab.train.trainer import Diverged, Member, Trained, TrainConfig, fit
from bitterlab.train.transformer import IGNORE, Transformer, forward_flops, token_loss

SEP, END, PAD = "|", "$", "_"
VOCAB = tuple("0123456789xy+-*()sn") + tuple(PRODUCTION_CHARS) + (SEP, END, PAD)
INDEX = {c: i for i, c in enumerate(VOCAB)}
# decoding stops after MAX_OUT characters or MAX_ACTIONS actions (a derivation is ~2.3x its text)
MAX_OUT, MAX_ACTIONS, N_TEST, MAX_LEN, N_MASS = 40, 120, 100, 168, 30
HELD_OUT = 5  # one program in HELD_OUT (by a hash of its text) is a test program, never a training one
N_VAL_MIN, N_VAL_MAX = 16, 50  # validation programs carved from the training ones


@lru_cache(maxsize=200_000)
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


def held_out(program: str) -> bool:
    """Whether a program belongs to the test part of the language: a fixed fifth of all programs,
    chosen by a hash of the text (the same on every machine and at every n)."""
    return int.from_bytes(hashlib.sha256(program.encode()).digest()[:8], "big") % HELD_OUT == 0


def programs(n: int, seed: int, exclude: set[str] = frozenset(), depth: int = 3, *, test: bool = False) -> list[str]:
    """``n`` random programs (with repeats, as the generator draws them) of the training part of the
    language (:func:`held_out` false), or of the test part if ``test``, none in ``exclude``."""
    rng = np.random.default_rng([seed, 2024, n])
    out = []
    while len(out) < n:
        p = random_program(rng, depth)
        if p not in exclude and len(p) < MAX_OUT - 1 and held_out(p) == test:
            out.append(p)
    return out


@cache
def held_out_programs(depth: int) -> tuple[str, ...]:
    """The test set: ``N_TEST`` draws of the generator conditioned on the test part — one fixed set,
    the same for every seed and every n, and disjoint from every training set."""
    return tuple(programs(N_TEST, 10_000, depth=depth, test=True))


@cache
def training_excluded(depth: int) -> frozenset[str]:
    """Programs never trained on besides the test part: the standard library's (the real test)."""
    return frozenset(stdlib_programs(depth))


def encode(rows: list[str], width: int | None = None) -> torch.Tensor:
    """Character indices, padded with ``PAD`` to ``width`` (default: the longest row)."""
    width = max(len(r) for r in rows) if width is None else width
    return torch.tensor([[INDEX[c] for c in r] + [INDEX[PAD]] * (width - len(r)) for r in rows])


def rows(sources: list[str], targets: list[str]) -> list[str]:
    return [f"{s}{SEP}{t}{END}" for s, t in zip(sources, targets, strict=True)]


def examples(sources: list[str], targets: list[str], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, next-character labels) of ``source | target $`` rows padded to ``width`` characters;
    only the output and the end marker are scored (labels ``IGNORE`` on the source and the padding)."""
    x = encode(rows(sources, targets), width)
    labels = x.clone()
    for i, s in enumerate(sources):
        labels[i, : len(s) + 1] = IGNORE
    labels[x == INDEX[PAD]] = IGNORE
    return x[:, :-1], labels[:, 1:]


def decode(model: Transformer, sources: list[str], allowed, limit: int = MAX_OUT,
           alphabet: tuple[str, ...] = INFIX_TOKENS) -> tuple[list[str], list[list[float]]]:
    """Batched greedy decoding of at most ``limit`` symbols of ``alphabet`` (or the end);
    ``allowed(output_so_far)`` → set of symbols (``"$"`` = end) or None for no constraint. Returns
    the outputs and, per source, the forbidden mass at each step of its path (empty without a
    constraint). The model runs on its device; each step's next-symbol distributions come back to
    the CPU, where the grammar's masks are applied row by row. Rows are right-padded: the model is
    causal, so a row's next-symbol distribution does not depend on the others in the batch."""
    device = next(model.parameters()).device
    outs = [""] * len(sources)
    masses: list[list[float]] = [[] for _ in sources]
    active = list(range(len(sources)))
    own = torch.zeros(len(VOCAB))
    own[[INDEX[c] for c in (*alphabet, END)]] = 1.0
    for _ in range(limit):
        batch = [f"{sources[i]}{SEP}{outs[i]}" for i in active]
        with torch.no_grad():
            logits = model(encode(batch).to(device))
            last = logits[torch.arange(len(batch), device=device),
                          torch.tensor([len(r) for r in batch], device=device) - 1]
            probs = torch.softmax(last, dim=-1).cpu() * own  # its own output symbols only
        if allowed:
            mask = torch.zeros_like(probs)
            for row, i in enumerate(active):
                mask[row, [INDEX[END if c == "$" else c] for c in allowed(outs[i])]] = 1.0
            for i, m in zip(active, (probs * (1 - mask)).sum(1).tolist(), strict=True):
                masses[i].append(m)
            probs = probs * mask
        still = []
        for i, k in zip(active, probs.argmax(1).tolist(), strict=True):
            if k != INDEX[END]:
                outs[i] += VOCAB[k]
                still.append(i)
        active = still
        if not active:
            break
    return outs, masses


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


@dataclass(frozen=True, kw_only=True)
class Split:
    """A seed's programs: ``n`` drawn for training (never a test or a standard-library program), the
    first fifth (16 to 50) held out as validation (less any that also occur among the rest: like the
    test programs, validation programs are never trained on), and the fixed test set."""

    train: list[str]
    val: list[str]
    test: list[str]

    @classmethod
    def draw(cls, n: int, seed: int, depth: int) -> Split:
        drawn = programs(n, seed, training_excluded(depth), depth=depth)
        n_val = min(N_VAL_MAX, max(N_VAL_MIN, n // 5))
        train = drawn[n_val:]
        seen = set(train)
        val = [p for p in drawn[:n_val] if p not in seen]
        if not train or not val:
            raise ValueError(f"grammar: {n} training programs leave no training or no validation programs")
        return cls(train=train, val=val, test=list(held_out_programs(depth)))


def targets(c: dict, programs_: list[str]) -> list[str]:
    """What the trial's model is trained to write for each program: its derivation (the grammar's
    productions) or its text; both spell the same text."""
    return [to_actions(p) for p in programs_] if c["output"] == "actions" else list(programs_)


def model_key(trial: Trial) -> tuple:
    """Trials with equal model keys use one trained model (free and constrained tokens decoding)."""
    return trial.seed, json.dumps(dict(trial.tuned), sort_keys=True)


def train_models(trials: list[Trial]) -> tuple[dict[tuple, Trained | Diverged], dict[int, Split]]:
    """One model per model key of ``trials`` (one contender's output form, any seeds and tuned options),
    trained as one batched model by the shared trainer; and each seed's programs."""
    c = trials[0].config
    firsts = {model_key(t): t for t in trials}
    splits = {t.seed: Split.draw(int(t.x), t.seed, int(c["depth_programs"])) for t in firsts.values()}
    sources = {seed: ([to_postfix(p) for p in sp.train], [to_postfix(p) for p in sp.val]) for seed, sp in splits.items()}
    width = max(len(r) for seed, sp in splits.items()
                for r in rows(sources[seed][0] + sources[seed][1], targets(c, sp.train + sp.val)))
    members = [Member(seed=t.seed, train=examples(sources[t.seed][0], targets(c, splits[t.seed].train), width),
                      val=examples(sources[t.seed][1], targets(c, splits[t.seed].val), width),
                      cfg=TrainConfig.from_options(t.config)) for t in firsts.values()]
    build = partial(Transformer, len(VOCAB), len(VOCAB), int(c["width"]), int(c["depth"]), int(c["heads"]),
                    "learned", MAX_LEN)
    fitted = fit(build, token_loss, members, device=trials[0].device)
    models = {}
    for key, r in zip(firsts, fitted, strict=True):
        if isinstance(r, Trained):
            r.model.eval()
            models[key] = (r, width - 1)
        else:
            models[key] = r
    return models, splits


def scores(c: dict, programs_: list[str], decoded: dict[str, tuple[str, list[float]]],
           forbidden: dict[str, list[float]] | None = None) -> dict[str, float]:
    """Score one set of programs from their decoded outputs (``decoded``: program → (output, the
    forbidden mass at each step of a constrained decoding)). ``masked_mass``: for a constrained
    contender, the mean over the steps of the set's distinct programs of what the mask removed; for a
    freely decoded one (``forbidden``: program → masses along its free path), what masking by the
    grammar would have removed, on the first ``N_MASS`` programs."""
    outs = [decoded[p][0] for p in programs_]
    if forbidden is not None:
        steps = [m for p in programs_[:N_MASS] for m in forbidden[p]]
    else:
        steps = [m for p in dict.fromkeys(programs_) for m in decoded[p][1]]
    wrong, invalid = score(outs, programs_, c["output"] == "actions")
    n = len(programs_)
    # no wall-clock metric: decoding time varies run to run and is in the result's wall_s
    return {"semantic_error": (wrong + 0.5) / (n + 1), "invalid": invalid / n,
            "masked_mass": float(np.mean(steps)) if steps else 0.0}


def evaluate(trial: Trial, fitted: tuple[Trained, int], split: Split) -> TrialOutput:
    """Decode the seed's test, validation and standard-library programs as the trial's contender
    does (greedy decoding is a function of the source: every distinct program once, in one batch)
    and score each set."""
    c = trial.config
    r, length = fitted
    actions = c["output"] == "actions"
    real = list(training_excluded(int(c["depth_programs"])))  # the real programs: none is ever trained on
    unique = list(dict.fromkeys(split.test + split.val + real))
    outs, masses = decode(r.model, [to_postfix(p) for p in unique], allowed_next if c["constrained"] else None,
                          MAX_ACTIONS if actions else MAX_OUT, action_tokens() if actions else INFIX_TOKENS)
    decoded = dict(zip(unique, zip(outs, masses, strict=True), strict=True))
    forbidden = None
    if not c["constrained"]:
        measured = list(dict.fromkeys(split.test[:N_MASS] + split.val[:N_MASS]))
        forbidden = _forbidden_mass(r.model, measured, [decoded[p][0] for p in measured],
                                    actions_allowed if actions else allowed_next)
    metrics = scores(c, split.test, decoded, forbidden)
    validation = scores(c, split.val, decoded, forbidden)
    metrics["semantic_error_stdlib"] = scores(c, real, decoded)["semantic_error"]
    return trial_output(r, metrics, validation, forward_flops=forward_flops(r.model, length))


def shared_training(trial: Trial) -> tuple:
    """Batch key: every seed and tuned point of one contender at one scale trains as one batched model,
    and the free and the constrained tokens trials (the same trained weights, decoded two ways) join one
    group, so each (seed, learning rate) model is trained once for both."""
    fixed = {k: v for k, v in trial.config.items() if k not in trial.tuned and k != "constrained"}
    return trial.task, trial.x, json.dumps(fixed, sort_keys=True)


def run_batch(trials: list[Trial]) -> list[TrialOutput | Exception]:
    """Trials of one output form at one scale (:func:`shared_training`): train each model once, decode per trial."""
    models, splits = train_models(trials)
    outs: list[TrialOutput | Exception] = []
    for t in trials:
        m = models[model_key(t)]
        if isinstance(m, Diverged):
            outs.append(failure(m))
            continue
        try:
            outs.append(evaluate(t, m, splits[t.seed]))
        except (ValueError, LarkError) as exc:
            outs.append(exc)
    return outs


def run(trial: Trial) -> TrialOutput:
    """One trial: train, then decode and score."""
    return run_alone(run_batch, trial)


def score(outs: list[str], truths: list[str], actions: bool) -> tuple[int, int]:
    """(wrong, invalid) of decoded outputs against the programs they should compute; an invalid
    output (not a program, or actions that are not one derivation) counts as wrong."""
    wrong, invalid = 0, 0
    for out, truth in zip(outs, truths, strict=True):
        program = out
        if actions:
            try:
                program = linearise(out)
            except ValueError:
                program = ""
        if not program or not is_valid(program):
            invalid += 1
            wrong += 1
        elif not same_function(program, truth):
            wrong += 1
    return wrong, invalid


def _forbidden_mass(model: Transformer, programs_: list[str], outs: list[str], allowed) -> dict[str, list[float]]:
    """Per program, the probability the model gave to grammar-forbidden symbols at each step of its
    own greedy path (``allowed``: :func:`allowed_next` for text, :func:`actions_allowed` for
    derivations), up to where the path leaves the language. Every prefix of every path is one row
    of a single forward pass (right-padded; the model is causal)."""
    rows_, where = [], []
    for p, out in zip(programs_, outs, strict=True):
        src = to_postfix(p)
        for i in range(len(out) + 1):
            rows_.append(f"{src}{SEP}{out[:i]}")
            where.append((p, out[:i]))
    with torch.no_grad():
        logits = model(encode(rows_).to(next(model.parameters()).device))
        probs = torch.softmax(logits[torch.arange(len(rows_)), torch.tensor([len(r) for r in rows_]) - 1], dim=-1).cpu()
    masses: dict[str, list[float]] = {p: [] for p in programs_}
    stopped: set[str] = set()
    for row, (p, prefix) in enumerate(where):
        if p in stopped:
            continue
        try:
            ok = allowed(prefix)
        except (LarkError, ValueError):  # the free path already left the language: stop measuring it
            stopped.add(p)
            continue
        masses[p].append(1.0 - float(probs[row, [INDEX[END if ch == "$" else ch] for ch in ok]].sum()))
    return masses


LR_QUICK, LR_FULL = (3e-3, 1e-2, 3e-2), (3e-4, 1e-3, 3e-3)

STUDY = Study(
    name="grammar",
    claim="Encode the programming language itself into the training.",
    question="Translating programs from postfix, does a model trained on the grammar's productions (writing the "
             "same text) or one decoded under the grammar beat a plain character-level model in semantic accuracy, "
             "and how much more data does the plain model need?",
    version="4",  # productions of the lark grammar as the target, same output text; fixed test sets
    run=run,
    run_batch=run_batch,
    batch_key=shared_training,
    tasks=(Task(name="postfix-to-infix", description="random programs of a lark expression grammar (digits, x, y, "
                "+ − *, parentheses, s() square, n() negation; ≤ 2 (quick) or 3 (full) nested operators), given in "
                "postfix; 100 test programs from a fixed held-out fifth of the language (the same at every n), and "
                "the standard library's expressions (real), none ever trained on"),),
    contenders=(
        Contender(name="tokens", role="generic", description="character-level transformer, free greedy decoding",
                  options={"output": "infix", "constrained": False}, tune={"lr": LR_FULL}),
        Contender(name="productions", role="structured", description="the same transformer trained on the "
                  "grammar's productions (leftmost derivation); outputs their linearisation, the same text",
                  options={"output": "actions", "constrained": False},
                  tune={"lr": LR_FULL}),
        Contender(name="constrained", role="reference", description="the tokens model decoded under lark's "
                  "interactive parser (grammar masking)", options={"output": "infix", "constrained": True},
                  tune={"lr": LR_FULL}),  # the tokens grid: each (seed, lr) model is shared with the tokens trials
    ),
    axis=Axis(name="n_train", label="training programs", unit="programs", kind="data"),
    secondary=Axis(name="width", label="model width (d_model)", unit="units", kind="width"),
    metric="semantic_error",
    metrics=("semantic_error", "invalid", "masked_mass", "semantic_error_stdlib"),
    verdicts=("semantic_error_stdlib",),  # the real programs (a shift of distribution): a verdict of their own
    budgets={
        # quick: 5 seeds; n up to 512, where the models still differ (at n = 4,096 both reach ~0 error when
        # trained to convergence: 750-2,350 steps of 128) and early stopping ends training within the maximum
        "quick": Budget(grid={"postfix-to-infix": log_grid(32, 512, 5)}, seeds=5,
                        options={"width": 16, "depth": 2, "heads": 2, "batch_size": 16, "max_steps": 800,
                                 "eval_every": 20, "patience": 3, "weight_decay": 0.01, "depth_programs": 2},
                        secondary={"postfix-to-infix": (8, 16)},
                        tune={c: {"lr": LR_QUICK} for c in ("tokens", "productions", "constrained")}),
        "full": Budget(grid={"postfix-to-infix": log_grid(64, 65536, 8)}, seeds=10,
                       options={"width": 128, "depth": 4, "heads": 4, "batch_size": 128, "max_steps": 30000,
                                "eval_every": 100, "patience": 10, "weight_decay": 0.01, "depth_programs": 3},
                       secondary={"postfix-to-infix": (32, 64, 128, 256, 512)}),
    },
    references=("Park et al. 2024, NeurIPS (grammar-aligned decoding)", "Yin & Neubig 2017, ACL (grammar actions)",
                "lark (LALR interactive parser)"),
)
