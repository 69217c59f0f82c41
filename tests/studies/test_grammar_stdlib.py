import ast

import pytest

from bitterlab.studies import grammar_stdlib
from bitterlab.studies.grammar_lang import POINTS, evaluate, is_valid
from bitterlab.studies.grammar_stdlib import stdlib_programs, translate


def _expr(src: str) -> ast.expr:
    return ast.parse(src, mode="eval").body


@pytest.mark.parametrize("src, expect", [
    ("i + 1", "x+1"),
    ("n - 1 - k", "x-1-y"),
    ("n - (1 - k)", "x-(1-y)"),
    ("2 * a + 1", "2*a+1".replace("a", "x")),
    ("(a - b) * (a - b)", "(x-y)*(x-y)"),
    ("a * (b * 2)", "x*(y*2)"),
    ("-(a + b)", "n(x+y)"),
    ("(a + 1) ** 2", "s(x+1)"),
    ("b - a * b", "x-y*x"),
])
def test_translate_keeps_the_meaning(src, expect):
    out = translate(_expr(src), depth=3)
    assert out == expect and is_valid(out)
    names = sorted({n.id for n in ast.walk(_expr(src)) if isinstance(n, ast.Name)},
                   key=lambda name: src.index(name))
    for x, y in POINTS:
        env = dict(zip(names, (x, y), strict=False))
        assert evaluate(out, x, y) == pytest.approx(eval(src, {}, env))


@pytest.mark.parametrize("src", ["a / 2", "a + b + c", "a + 10", "a ** 3", "f(a) + 1", "a + 1.5", "a",
                                 "((a + 1) * 2) - 3 + b"])
def test_translate_rejects_what_the_language_cannot_say(src):
    with pytest.raises(ValueError):
        translate(_expr(src), depth=3)


def test_depth_bound():
    assert translate(_expr("(a + 1) * 2"), depth=2) == "(x+1)*2"
    with pytest.raises(ValueError):
        translate(_expr("(a + 1) * 2"), depth=1)


def test_mined_programs_are_valid_distinct_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stdlib_programs.cache_clear()
    first = stdlib_programs(2)
    assert len(first) >= 50 and len(set(first)) == len(first) and list(first) == sorted(first)
    assert all(is_valid(p) for p in first)
    assert {"x+1", "x-1", "2*x"} <= set(first)  # i + 1, n - 1, 2 * x: the library is full of them
    (cached,) = tmp_path.glob("bitterlab/stdlib-programs-*-d2-*.json")
    cached.write_text('["x+1"]')  # the second call reads the cache, it does not mine again
    stdlib_programs.cache_clear()
    assert stdlib_programs(2) == ("x+1",)
    stdlib_programs.cache_clear()
    assert grammar_stdlib.cache_dir() == tmp_path / "bitterlab"
