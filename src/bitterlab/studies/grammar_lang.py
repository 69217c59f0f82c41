"""The grammar study's expression language, defined once as a lark grammar, with its generator,
evaluator, prefix (AST-action) form and the allowed-next-token oracle for constrained decoding.

Language (one character per token): digits 0–9, variables x and y, + − *, parentheses, and two
functions written ``s(e)`` (square) and ``n(e)`` (negation)::

    sum     : product | sum "+" product | sum "-" product
    product : atom | product "*" atom
    atom    : DIGIT | VAR | "(" sum ")" | FUNC "(" sum ")"

Programs are written in infix; their AST in prefix (Polish) order is the action sequence of the
AST model: each action is a node (``+ - *`` binary, ``s n`` unary, digits and variables leaves).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from lark import Lark, Token, Transformer, Tree
from lark.exceptions import LarkError

GRAMMAR = r"""
?start: sum
?sum: product
    | sum "+" product -> add
    | sum "-" product -> sub
?product: atom
    | product "*" atom -> mul
?atom: DIGIT -> num
    | VAR -> var
    | "(" sum ")"
    | FUNC "(" sum ")" -> call
DIGIT: /[0-9]/
VAR: "x" | "y"
FUNC: "s" | "n"
"""

INFIX_TOKENS = tuple("0123456789xy+-*()sn")
PREFIX_TOKENS = tuple("0123456789xy+-*sn")
ARITY = {**{t: 0 for t in "0123456789xy"}, "+": 2, "-": 2, "*": 2, "s": 1, "n": 1}
# lark terminal names → the characters they stand for (anonymous terminals get lark's names)
TERMINAL_CHARS = {"DIGIT": tuple("0123456789"), "VAR": ("x", "y"), "FUNC": ("s", "n"), "PLUS": ("+",),
                  "MINUS": ("-",), "STAR": ("*",), "LPAR": ("(",), "RPAR": (")",)}


@cache
def parser() -> Lark:
    """LALR(1) parser of the language (lark), used for validity and, interactively, for decoding."""
    return Lark(GRAMMAR, parser="lalr")


class _Prefix(Transformer):
    def num(self, c):
        return [str(c[0])]

    def var(self, c):
        return [str(c[0])]

    def add(self, c):
        return ["+", *c[0], *c[1]]

    def sub(self, c):
        return ["-", *c[0], *c[1]]

    def mul(self, c):
        return ["*", *c[0], *c[1]]

    def call(self, c):
        return [str(c[0]), *c[1]]


def parse(text: str) -> Tree | Token:
    """The AST; raises ``lark.exceptions.LarkError`` on an invalid program."""
    return parser().parse(text)


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except LarkError:
        return False
    return True


def to_prefix(text: str) -> str:
    """The AST of an infix program in prefix order, e.g. ``x+2*y`` → ``+x*2y``."""
    tree = parse(text)
    return "".join(_Prefix().transform(tree)) if isinstance(tree, Tree) else str(tree)


def prefix_to_infix(actions: str) -> str:
    """Inverse of :func:`to_prefix`, fully parenthesised; ``ValueError`` if the actions are not one tree."""
    pos = 0

    def node() -> str:
        nonlocal pos
        if pos >= len(actions):
            raise ValueError("incomplete action sequence")
        a = actions[pos]
        pos += 1
        if a not in ARITY:
            raise ValueError(f"unknown action {a!r}")
        if ARITY[a] == 0:
            return a
        if ARITY[a] == 1:
            return f"{a}({node()})"
        left, right = node(), node()
        return f"({left}{a}{right})"

    out = node()
    if pos != len(actions):
        raise ValueError("trailing actions after a complete tree")
    return out


def evaluate(text: str, x: float, y: float) -> float:
    """The program's value at (x, y)."""
    def ev(t: Tree) -> float:
        kind, c = t.data, t.children
        if kind == "num":
            return float(str(c[0]))
        if kind == "var":
            return x if str(c[0]) == "x" else y
        if kind == "call":
            v = ev(c[1])
            return v * v if str(c[0]) == "s" else -v
        a, b = ev(c[0]), ev(c[1])
        return a + b if kind == "add" else a - b if kind == "sub" else a * b

    return float(ev(parse(text)))


POINTS = ((0.5, -1.0), (2.0, 3.0), (-1.5, 0.25))  # where two programs must agree to count as equal


def same_function(a: str, b: str) -> bool:
    """Semantic equality, checked at three points (relative tolerance 1e-9)."""
    return all(np.isclose(evaluate(a, x, y), evaluate(b, x, y), rtol=1e-9, atol=1e-9) for x, y in POINTS)


def random_program(rng: np.random.Generator, depth: int = 3) -> str:
    """A random infix program with at most ``depth`` nested operators, minimally parenthesised."""
    def gen(d: int, prec: int) -> str:  # prec: 0 sum context, 1 product context, 2 atom context
        r = rng.random()
        if d == 0 or r < 0.25:
            return str(rng.integers(0, 10)) if rng.random() < 0.5 else ("x" if rng.random() < 0.5 else "y")
        if r < 0.4:
            return f"{'s' if rng.random() < 0.5 else 'n'}({gen(d - 1, 0)})"
        op = "+-*"[rng.integers(0, 3)]
        if op == "*":
            text, mine = f"{gen(d - 1, 1)}*{gen(d - 1, 2)}", 1
        else:
            text, mine = f"{gen(d - 1, 0)}{op}{gen(d - 1, 1)}", 0
        return f"({text})" if mine < prec else text

    return gen(depth, 0)


def allowed_next(prefix: str) -> set[str]:
    """The characters that can follow ``prefix`` in some valid program, plus ``"$"`` when ``prefix``
    is itself complete (lark's interactive LALR parser: ``accepts()`` after feeding the prefix)."""
    ip = parser().parse_interactive(prefix)
    ip.exhaust_lexer()
    out = set()
    for name in ip.accepts():
        if name == "$END":
            out.add("$")
        else:
            out.update(TERMINAL_CHARS[name])
    return out


def prefix_allowed(actions: str) -> set[str]:
    """Actions that keep a prefix-order sequence extendable to one tree (``"$"`` once it is one)."""
    need = 1
    for a in actions:
        need += ARITY[a] - 1
    return {"$"} if need == 0 else set(PREFIX_TOKENS)
