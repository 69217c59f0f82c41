import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitterlab.engine import run_trial
from bitterlab.studies.grammar import STUDY, Split, masked_probability, programs, to_postfix
from bitterlab.studies.grammar_lang import (INFIX_TOKENS, allowed_next, evaluate, is_valid, prefix_allowed,
                                            prefix_to_infix, random_program, same_function, to_prefix)
from bitterlab.study import expand


def test_the_grammar_parses_every_generated_program_and_its_round_trips():
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = random_program(rng)
        assert is_valid(p), p
        assert same_function(prefix_to_infix(to_prefix(p)), p)
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


def test_prefix_actions_constraint_ends_exactly_at_one_tree():
    assert prefix_allowed("+x") != {"$"} and prefix_allowed("+x2") == {"$"} and prefix_allowed("s") != {"$"}
    assert prefix_to_infix("+x*2y") == "(x+(2*y))"
    with pytest.raises(ValueError):
        prefix_to_infix("+x")
    with pytest.raises(ValueError):
        prefix_to_infix("xy")


def test_masking_distorts_the_distribution_as_park_et_al_compute():
    # uniform model over 5-bit strings, valid = {00000} ∪ {1····}: masking 1/2, conditioning 1/17
    valid = {"00000"} | {"1" + format(i, "04b") for i in range(16)}
    masked, conditioned = masked_probability(lambda prefix: {"0": 0.5, "1": 0.5}, valid, "00000")
    assert masked == pytest.approx(1 / 2) and conditioned == pytest.approx(1 / 17)


def test_programs_are_seeded_and_the_test_set_is_disjoint():
    a = programs(50, 1)
    assert a == programs(50, 1) and a != programs(50, 2)
    test = programs(40, 10_001, exclude=set(a))
    assert not set(test) & set(a)


def test_validation_is_carved_from_the_training_programs_and_never_trained_on():
    split = Split.draw(200, seed=1, depth=2)
    drawn = programs(200, 1, depth=2)
    assert split.train == drawn[40:] and set(split.val) <= set(drawn[:40])  # a fifth of the training draw
    assert split.val and not set(split.val) & set(split.train)
    assert not set(split.test) & set(drawn) and len(split.test) == 100


def _tiny(options, **budget):
    quick = STUDY.budgets["quick"]
    return dataclasses.replace(STUDY, budgets={"quick": dataclasses.replace(quick, options={
        **quick.options, **options}, **budget)})


def test_each_contender_trains_on_a_tiny_size_and_emits_mostly_valid_programs():
    tiny = _tiny({"max_steps": 300, "patience": 3})
    results = {}
    trials = [t for t in expand(tiny, "quick", seeds=1) if t.x == 512 and t.x2 == 16 and t.tuned["lr"] == 1e-2]
    for t in trials:
        r = run_trial(t)
        assert r.status == "ok", r.reason
        assert set(r.validation) == set(STUDY.metrics) - {"semantic_error_stdlib"}
        assert all(np.isfinite(v) for v in r.validation.values())
        results[t.contender] = r.metrics
    # arity-checked actions form one tree unless the 40-action limit cuts them off
    assert results["ast-actions"]["invalid"] <= 0.05
    assert results["constrained"]["invalid"] <= results["tokens"]["invalid"]
    assert all(m["semantic_error"] < 0.9 for m in results.values())  # chance: ~1


def test_free_and_constrained_decoding_share_one_trained_model():
    """The tokens and constrained trials of every seed and learning rate form one group (one model
    per seed and learning rate); run together (float64) they give the numbers each gives alone
    (decoding time aside)."""
    from bitterlab.engine import group_trials, run_group

    tiny = _tiny({"width": 16, "depth": 1, "max_steps": 30, "eval_every": 10, "patience": 2, "dtype": "float64"},
                 tune={c: {"lr": (3e-3, 1e-2)} for c in ("tokens", "ast-actions", "constrained")})
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
