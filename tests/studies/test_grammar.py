import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark.exceptions import LarkError

from bitterlab.engine import run_trial
from bitterlab.studies.grammar import (STUDY, Split, held_out, masked_probability, programs, targets, held_out_programs,
                                       to_postfix, training_excluded)
from bitterlab.studies.grammar_lang import (INFIX_TOKENS, TERMINAL_CHARS, action_tokens, actions_allowed, allowed_next,
                                            evaluate, is_valid, linearise, parser, productions, random_program,
                                            same_function, to_actions, to_prefix)
from bitterlab.studies.grammar_stdlib import stdlib_programs
from bitterlab.study import expand


def test_the_grammar_parses_every_generated_program_and_its_round_trips():
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = random_program(rng)
        assert is_valid(p), p
        assert linearise(to_actions(p)) == p
        assert len(to_postfix(p)) == len(to_prefix(p))


def test_evaluator_closed_forms():
    assert evaluate("x+2*y", 1.0, 3.0) == 7.0
    assert evaluate("(x+2)*y", 1.0, 3.0) == 9.0
    assert evaluate("s(x-1)*n(y)", 3.0, 2.0) == -8.0
    assert evaluate("9-x-y", 1.0, 2.0) == 6.0  # left-associative
    assert to_postfix("(x+2)*y") == "x2+y*" and to_prefix("x+2*y") == "+x*2y"
    assert not is_valid("x+") and not is_valid("(x") and not is_valid("xy") and not is_valid("s x")
    assert same_function("x*(y+1)", "x*y+x") and not same_function("x-y", "y-x")


@settings(max_examples=60)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=30))
def test_constrained_decoding_only_ever_emits_valid_prefixes(choices):
    """Walk the grammar by picking any allowed character: every prefix stays extendable and ending is
    offered exactly when the prefix is a complete program."""
    text = ""
    for k in choices:
        ok = allowed_next(text)
        assert ("$" in ok) == is_valid(text)
        chars = sorted(ok - {"$"})
        if not chars:
            break
        text += chars[k % len(chars)]
        assert set(text) <= set(INFIX_TOKENS)
    # finish greedily with the first closing option: the walk can always be completed
    for _ in range(200):
        if "$" in allowed_next(text):
            break
        ok = allowed_next(text)
        text += ")" if ")" in ok else ("x" if "x" in ok else sorted(ok)[0])
    assert is_valid(text)


def _accepts_of_whole_prefix(prefix: str) -> frozenset[str] | str:
    """The oracle the incremental one replaces: lark lexes and parses the whole prefix, then accepts()."""
    try:
        ip = parser().parse_interactive(prefix)
        ip.exhaust_lexer()
    except LarkError:
        return "error"
    return frozenset(c for name in ip.accepts() for c in (("$",) if name == "$END" else TERMINAL_CHARS[name]))


@settings(max_examples=300)
@given(st.integers(0, 10**6), st.floats(0.0, 1.0), st.text(alphabet="".join(INFIX_TOKENS) + "A#", max_size=6))
def test_the_incremental_allowed_next_equals_parsing_the_whole_prefix(seed, cut, tail):
    """allowed_next feeds one token per character to the cached parser of the shorter prefix and
    caches accepts() per LALR stack: on any string (a prefix of a random depth-3 program, deep in its
    nesting, then any characters: valid continuations, dead ends, foreign characters) it says what
    lark says after lexing and parsing the whole prefix."""
    program = random_program(np.random.default_rng(seed), 3)
    prefix = program[: round(cut * len(program))] + tail
    try:
        got = allowed_next(prefix)
    except LarkError:
        got = "error"
    assert got == _accepts_of_whole_prefix(prefix)


def test_the_actions_are_the_grammars_productions():
    # lark's rules of the grammar without inlining: start, 3 of sum, 2 of product, 4 of atom
    assert [(p.origin, len(p.expansion)) for p in productions()] == [
        ("start", 1), ("sum", 1), ("sum", 3), ("sum", 3), ("product", 1), ("product", 3),
        ("atom", 1), ("atom", 1), ("atom", 3), ("atom", 4)]
    # x+1: start→sum, sum→sum+product, sum→product, product→atom, atom→VAR, x, product→atom, atom→DIGIT, 1
    assert to_actions("x+1") == "ACBEHxEG1" and linearise("ACBEHxEG1") == "x+1"
    assert actions_allowed("") == {"A"} and actions_allowed("ACBEH") == {"x", "y"}
    assert actions_allowed("ACBEHxEG1") == {"$"} and actions_allowed("A") == {"B", "C", "D"}
    for bad in ("ACBEHx", "AE", "ABEH1", "ABEGx", "ABEG11"):  # incomplete, wrong rule, wrong value, trailing
        with pytest.raises(ValueError):
            linearise(bad)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3))
def test_actions_linearise_to_exactly_the_generic_models_output_and_parse_back(seed, depth):
    """The structured model's target spells, character for character, the generic model's target."""
    program = random_program(np.random.default_rng(seed), depth)
    actions = to_actions(program)
    assert set(actions) <= set(action_tokens())
    assert linearise(actions) == program and is_valid(linearise(actions))
    assert targets({"output": "infix"}, [program]) == [linearise(a) for a in targets({"output": "actions"}, [program])]
    for i, a in enumerate(actions):  # every prefix stays a derivation prefix, and the next action is allowed
        assert a in actions_allowed(actions[:i])
    assert actions_allowed(actions) == {"$"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=60))
def test_every_derivation_spells_a_program_that_parses_back_to_it(choices):
    """Walk the productions at random (closing with the shortest ones): the text parses, and its
    derivation is the walk (the grammar is unambiguous)."""
    actions = ""
    for k in choices:
        ok = sorted(actions_allowed(actions) - {"$"})
        if not ok:
            break
        actions += ok[k % len(ok)]
    for _ in range(400):
        ok = actions_allowed(actions)
        if ok == {"$"}:
            break
        # toward leaves: sum→product, product→atom, atom→DIGIT, and a value
        actions += next(c for c in ("B", "E", "G", "0") if c in ok) if ok & {"B", "E", "G", "0"} else sorted(ok)[0]
    program = linearise(actions)
    assert is_valid(program) and to_actions(program) == actions


def test_masking_distorts_the_distribution_as_park_et_al_compute():
    # uniform model over 5-bit strings, valid = {00000} ∪ {1····}: masking 1/2, conditioning 1/17
    valid = {"00000"} | {"1" + format(i, "04b") for i in range(16)}
    masked, conditioned = masked_probability(lambda prefix: {"0": 0.5, "1": 0.5}, valid, "00000")
    assert masked == pytest.approx(1 / 2) and conditioned == pytest.approx(1 / 17)


def test_programs_are_seeded_and_split_by_the_hash():
    a = programs(50, 1)
    assert a == programs(50, 1) and a != programs(50, 2)
    assert not any(held_out(p) for p in a) and all(held_out(p) for p in programs(50, 1, test=True))
    assert 0.1 < np.mean([held_out(str(i)) for i in range(1000)]) < 0.3  # about a fifth of all texts


@pytest.mark.parametrize("depth, grid", [(2, STUDY.budgets["quick"].grid["postfix-to-infix"]), (3, (64, 1024))])
def test_the_test_set_is_fixed_across_n_and_seeds_and_disjoint_from_every_training_set(depth, grid):
    test = held_out_programs(depth)
    real = set(stdlib_programs(depth))
    assert real == training_excluded(depth) and len(test) == 100 and len(real) >= 50
    for n in grid:
        for seed in (0, 3):
            split = Split.draw(int(n), seed=seed, depth=depth)
            assert tuple(split.test) == test  # identical at every n and seed
            seen = set(split.train) | set(split.val)
            assert not seen & set(test) and not seen & real  # never a test or a library program


def test_validation_is_carved_from_the_training_programs_and_never_trained_on():
    split = Split.draw(200, seed=1, depth=2)
    drawn = programs(200, 1, training_excluded(2), depth=2)
    assert split.train == drawn[40:] and set(split.val) <= set(drawn[:40])  # a fifth of the training draw
    assert split.val and not set(split.val) & set(split.train)


def _tiny(options, **budget):
    quick = STUDY.budgets["quick"]
    return dataclasses.replace(STUDY, budgets={"quick": dataclasses.replace(quick, options={
        **quick.options, **options}, **budget)})


def chance(train: list[str], test: list[str], candidates: int = 20) -> float:
    """The best constant answer's semantic error: one of the most frequent training programs, for all."""
    common = [p for p, _ in __import__("collections").Counter(train).most_common(candidates)]
    return min(np.mean([not same_function(p, t) for t in test]) for p in common)


def test_each_contender_trains_on_a_tiny_size_and_beats_chance():
    tiny = _tiny({"max_steps": 300, "patience": 3, "batch_size": 32})
    results = {}
    trials = [t for t in expand(tiny, "quick", seeds=1) if t.x == 512 and t.x2 == 16 and t.tuned["lr"] == 1e-2]
    for t in trials:
        r = run_trial(t)
        assert r.status == "ok", r.reason
        assert set(r.validation) == set(STUDY.metrics) - {"semantic_error_stdlib"}
        assert all(np.isfinite(v) for v in r.validation.values())
        results[t.contender] = r.metrics
    assert results["constrained"]["invalid"] <= results["tokens"]["invalid"]
    split = Split.draw(512, seed=0, depth=2)
    base = chance(split.train, split.test)
    assert base > 0.8  # no one program is right for many test programs
    assert all(m["semantic_error"] < base - 0.1 for m in results.values()), (results, base)


def test_free_and_constrained_decoding_share_one_trained_model():
    """The tokens and constrained trials of every seed and learning rate form one group (one model
    per seed and learning rate); run together (float64) they give the numbers each gives alone
    (decoding time aside)."""
    from bitterlab.engine import group_trials, run_group

    tiny = _tiny({"width": 16, "depth": 1, "max_steps": 30, "eval_every": 10, "patience": 2, "dtype": "float64"},
                 tune={c: {"lr": (3e-3, 1e-2)} for c in ("tokens", "productions", "constrained")})
    trials = [t for t in expand(tiny, "quick", seeds=2) if t.x == 64 and t.x2 == 16]
    groups = group_trials(trials)
    assert sorted(len(g) for g in groups) == [4, 8]
    pair = next(g for g in groups if len(g) == 8)
    assert {t.contender for t in pair} == {"constrained", "tokens"}
    together = run_group(pair)
    for t, both in zip(pair, together, strict=True):
        alone = run_trial(t)
        assert both.status == alone.status == "ok"
        for a, b in ((alone.metrics, both.metrics), (alone.validation, both.validation)):
            assert dict(b) == pytest.approx(dict(a), rel=1e-9)
        assert both.steps == alone.steps
