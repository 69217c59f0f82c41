"""Real programs for the grammar study: arithmetic expressions mined with :mod:`ast` from the Python
standard library's own source (the top-level modules of ``sysconfig.get_paths()["stdlib"]``), on
every machine and with no download.

An expression is kept when it translates into the study's language (:mod:`grammar_lang`): integer
literals 0–9, at most two distinct names (renamed ``x`` and ``y`` in order of appearance), binary
``+ − *``, ``e ** 2`` (written ``s(e)``) and unary minus (``n(e)``), with at least one operator and at
most ``depth`` nested operators (functions count as operators, as in :func:`grammar_lang.random_program`).
Examples from the library: ``i + 1`` → ``x+1``, ``n - 1`` → ``x-1``, ``2 * x + 1`` → ``2*x+1``,
``(a - b) * (a - b)`` → ``(x-y)*(x-y)``. Duplicates are dropped; the list is sorted, so it is the same
on every run of one Python version. Mining takes a few seconds (parsing ~170 modules), so the result
is kept in ``$XDG_CACHE_HOME/bitterlab`` (default ``~/.cache/bitterlab``), keyed by the Python
version and the filters; delete it to mine again.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import sysconfig
import tempfile
from functools import cache
from pathlib import Path

from bitterlab.studies.grammar_lang import is_valid

_BINARY = {ast.Add: ("+", 0), ast.Sub: ("-", 0), ast.Mult: ("*", 1)}  # symbol, precedence (0 sum, 1 product)


class _Reject(Exception):
    """The expression has something the language cannot say."""


def translate(node: ast.expr, depth: int) -> str:
    """The expression in the study's language, minimally parenthesised (left-associative, like the
    grammar); raises ``ValueError`` when it does not translate or nests deeper than ``depth``."""
    names: dict[str, str] = {}

    def go(n: ast.expr, budget: int, prec: int) -> str:  # prec: 0 sum context, 1 product, 2 atom
        if isinstance(n, ast.Constant) and type(n.value) is int and 0 <= n.value <= 9:
            return str(n.value)
        if isinstance(n, ast.Name):
            if n.id not in names:
                if len(names) == 2:
                    raise _Reject("more than two names")
                names[n.id] = "xy"[len(names)]
            return names[n.id]
        if budget == 0:
            raise _Reject("too deep")
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return f"n({go(n.operand, budget - 1, 0)})"
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and isinstance(n.right, ast.Constant) \
                and type(n.right.value) is int and n.right.value == 2:
            return f"s({go(n.left, budget - 1, 0)})"
        if isinstance(n, ast.BinOp) and type(n.op) in _BINARY:
            symbol, mine = _BINARY[type(n.op)]
            text = f"{go(n.left, budget - 1, mine)}{symbol}{go(n.right, budget - 1, mine + 1)}"
            return f"({text})" if mine < prec else text
        raise _Reject(type(n).__name__)

    if not isinstance(node, (ast.BinOp, ast.UnaryOp)):
        raise ValueError("not an operator expression")
    try:
        return go(node, depth, 0)
    except _Reject as exc:
        raise ValueError(f"does not translate: {exc}") from None


def _sources() -> list[Path]:
    return sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bitterlab"


@cache
def stdlib_programs(depth: int = 3, max_len: int = 38) -> tuple[str, ...]:
    """Every distinct expression of the top-level stdlib modules that translates with at most
    ``depth`` nested operators and ``max_len`` characters, sorted (mined once, then read from the
    cache)."""
    path = cache_dir() / f"stdlib-programs-py{platform.python_version()}-d{depth}-l{max_len}.json"
    try:
        return tuple(json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    found = mine(depth, max_len)
    try:  # atomic: concurrent workers may mine at once; each writes a whole file
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(list(found), f)
        os.replace(f.name, path)
    except OSError:
        pass  # a read-only home: mine again next time
    return found


def mine(depth: int, max_len: int) -> tuple[str, ...]:
    """The mining itself (no cache)."""
    found: set[str] = set()
    for path in _sources():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.BinOp, ast.UnaryOp)):
                try:
                    text = translate(node, depth)
                except ValueError:
                    continue
                if len(text) <= max_len and is_valid(text):
                    found.add(text)
    return tuple(sorted(found))
