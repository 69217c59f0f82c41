"""The grammar study's expression language, defined once as a lark grammar, with its generator,
evaluator, prefix form, its productions as actions and the allowed-next-token oracles.

Language (one character per token): digits 0–9, variables x and y, + − *, parentheses, and two
functions written ``s(e)`` (square) and ``n(e)`` (negation)::

    sum     : product | sum "+" product | sum "-" product
    product : atom | product "*" atom
    atom    : DIGIT | VAR | "(" sum ")" | FUNC "(" sum ")"

Programs are written in infix (the inputs of the study are their postfix, from the AST in prefix
order). The structured model's actions are the grammar's own productions, as lark compiles them
(:func:`to_actions`, :func:`linearise`, :func:`actions_allowed`; see the section below).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from lark import Lark, Token, Transformer, Tree
from lark.exceptions import LarkError
from lark.parsers.lalr_interactive_parser import InteractiveParser

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


@lru_cache(maxsize=200_000)
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


def evaluate(text: str, x: float, y: float) -> float:
    """The program's value at (x, y)."""
    return _value(parse(text), x, y)


def _value(tree: Tree, x: float, y: float) -> float:
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

    return float(ev(tree))


POINTS = ((0.5, -1.0), (2.0, 3.0), (-1.5, 0.25))  # where two programs must agree to count as equal


@lru_cache(maxsize=200_000)
def values(text: str) -> tuple[float, ...]:
    """The program's values at ``POINTS`` (one parse)."""
    tree = parse(text)
    return tuple(_value(tree, x, y) for x, y in POINTS)


def same_function(a: str, b: str) -> bool:
    """Semantic equality, checked at three points (relative tolerance 1e-9)."""
    return bool(np.allclose(values(a), values(b), rtol=1e-9, atol=1e-9))


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


_TERMINAL_OF = {c: name for name, chars in TERMINAL_CHARS.items() for c in chars}


@lru_cache(maxsize=100_000)
def _parsed(prefix: str) -> InteractiveParser:
    """Lark's interactive LALR parser after reading ``prefix``. Every character of the language is
    one token, so the parser after ``prefix`` is the parser after ``prefix[:-1]`` (cached) fed one
    token: a decoder extending its output one character at a time pays one parser step per
    character, not a parse of the whole prefix. Raises ``LarkError`` where ``prefix`` cannot be
    continued to a program."""
    if not prefix:
        return parser().parse_interactive("")
    terminal = _TERMINAL_OF.get(prefix[-1])
    if terminal is None:  # not a character of the language: lark's lexer says so
        parser().parse_interactive(prefix).exhaust_lexer()
        raise AssertionError(f"lark lexed {prefix!r}")  # pragma: no cover - the lexer has raised
    ip = _parsed(prefix[:-1]).copy(deepcopy_values=False)
    ip.feed_token(Token(terminal, prefix[-1]))
    return ip


_ACCEPTS: dict[tuple, frozenset[str]] = {}


@lru_cache(maxsize=200_000)
def allowed_next(prefix: str) -> frozenset[str]:
    """The characters that can follow ``prefix`` in some valid program, plus ``"$"`` when ``prefix``
    is itself complete (lark's interactive LALR parser: ``accepts()`` after feeding the prefix;
    what it accepts is a function of the parser's state stack, so it is computed once per stack)."""
    ip = _parsed(prefix)
    stack = tuple(ip.parser_state.state_stack)
    if stack not in _ACCEPTS:
        out = set()
        for name in ip.accepts():
            if name == "$END":
                out.add("$")
            else:
                out.update(TERMINAL_CHARS[name])
        _ACCEPTS[stack] = frozenset(out)
    return _ACCEPTS[stack]


# ---- the grammar's productions as actions (the structured model's training target) -------------
#
# The same grammar without inlining (``?``): every node of lark's parse tree is then one application
# of one production, and with ``keep_all_tokens`` every character is a leaf. A program's *derivation*
# is its leftmost derivation written as actions (Yin & Neubig 2017): in pre-order, one ApplyRule
# action per node (the production, one character each: ``A``, ``B``, ... in lark's rule order) and
# one GenToken action per leaf of a terminal with several values (DIGIT, VAR, FUNC: the character
# itself). A fixed terminal (``+``, ``(``...) is implied by its production and takes no action. The
# linearisation of a derivation reads the leaves left to right: the program text exactly as it was
# parsed, so it is the generic model's output string.

PRODUCTION_CHARS = "ABCDEFGHIJKLMNOP"


@dataclass(frozen=True)
class Production:
    """One production of the grammar: ``origin → expansion`` (symbol names as lark writes them)."""

    char: str  # its action
    origin: str
    expansion: tuple[str, ...]
    alias: str | None


@cache
def _derivation_parser() -> Lark:
    return Lark(re.sub(r"^\?", "", GRAMMAR, flags=re.MULTILINE), parser="lalr", keep_all_tokens=True)


@cache
def productions() -> tuple[Production, ...]:
    """The grammar's productions, as lark compiles them (one per alternative)."""
    rules = _derivation_parser().rules
    if len(rules) > len(PRODUCTION_CHARS):
        raise ValueError("more productions than action characters")
    return tuple(Production(char=PRODUCTION_CHARS[i], origin=str(r.origin.name),
                            expansion=tuple(str(s.name) for s in r.expansion), alias=r.alias)
                 for i, r in enumerate(rules))


@cache
def _literals() -> dict[str, str]:
    """Fixed terminals → their one string (``PLUS`` → ``+``); terminals with several values are absent."""
    return {t.name: t.pattern.value for t in _derivation_parser().terminals if t.pattern.type == "str"}


@cache
def action_tokens() -> tuple[str, ...]:
    """Every action: one per production, then the values of the terminals that have several."""
    return tuple(p.char for p in productions()) + tuple(c for name, chars in TERMINAL_CHARS.items()
                                                         if name not in _literals() for c in chars)


@lru_cache(maxsize=200_000)
def to_actions(text: str) -> str:
    """The derivation of a program: ApplyRule and GenToken actions in pre-order (see above); cached,
    as a training set repeats programs and every seed's and learning rate's member needs them."""
    by_node = {(p.alias or p.origin, p.expansion): p.char for p in productions()}
    origin_of = {p.alias or p.origin: p.origin for p in productions()}
    out: list[str] = []

    def walk(node: Tree) -> None:
        names = tuple(origin_of[c.data] if isinstance(c, Tree) else c.type for c in node.children)
        out.append(by_node[(node.data, names)])
        for c in node.children:
            if isinstance(c, Tree):
                walk(c)
            elif c.type not in _literals():
                out.append(str(c))

    walk(_derivation_parser().parse(text))
    return "".join(out)


def _expand(actions: str) -> tuple[str, list[str]]:
    """Run ``actions`` as a leftmost derivation: (text so far, symbols still to derive, leftmost
    first). Raises ``ValueError`` at the first action that does not fit the leftmost symbol."""
    by_char = {p.char: p for p in productions()}
    literals = _literals()
    stack, text = ["start"], []

    def emit_literals() -> None:
        while stack and stack[-1] in literals:
            text.append(literals[stack.pop()])

    for a in actions:
        emit_literals()
        if not stack:
            raise ValueError("actions after a complete derivation")
        top = stack.pop()
        if top in TERMINAL_CHARS:
            if a not in TERMINAL_CHARS[top]:
                raise ValueError(f"{a!r} is not a {top}")
            text.append(a)
        else:
            p = by_char.get(a)
            if p is None or p.origin != top:
                raise ValueError(f"{a!r} does not expand {top}")
            stack.extend(reversed(p.expansion))
    emit_literals()
    return "".join(text), stack[::-1]


def linearise(actions: str) -> str:
    """The program a complete derivation spells; ``ValueError`` if ``actions`` is not one."""
    text, rest = _expand(actions)
    if rest:
        raise ValueError("incomplete derivation")
    return text


@lru_cache(maxsize=200_000)
def actions_allowed(actions: str) -> frozenset[str]:
    """The actions that can continue a derivation prefix (``"$"`` once it is complete); ``ValueError``
    if ``actions`` is no derivation prefix."""
    _, rest = _expand(actions)
    if not rest:
        return frozenset("$")
    top = rest[0]
    if top in TERMINAL_CHARS:
        return frozenset(TERMINAL_CHARS[top])
    return frozenset(p.char for p in productions() if p.origin == top)
