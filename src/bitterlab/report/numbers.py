"""How the words and tables print numbers: one place for every format (3 significant figures for a
reported quantity, 4 for a fitted parameter, 2 decimals for a probability, whole percent for a share)."""

from __future__ import annotations


def num(v: float | None, missing: str = "unbounded") -> str:
    """A number as the words print it, 3 significant figures; ``None`` is ``missing`` (an unbounded
    interval end in the words, "—" in a table).

    >>> num(1234.5), num(None), num(None, "—")
    ('1.23e+03', 'unbounded', '—')
    """
    return missing if v is None else f"{v:.3g}"


def precise(v: float) -> str:
    """A fitted parameter's estimate: 4 significant figures."""
    return f"{v:.4g}"


def prob(p: float) -> str:
    """A probability: 2 decimals.

    >>> prob(0.125)
    '0.12'
    """
    return f"{p:.2f}"


def share(s: float) -> str:
    """A share as a whole percentage.

    >>> share(0.25)
    '25%'
    """
    return f"{s:.0%}"


def plain(v: float) -> str:
    """A scale or a factor as written in a sentence or title (``%g``)."""
    return f"{v:g}"


def cell(v: float | None, spec: str = "%.4g") -> str:
    """A table cell of the report's pages (the Jinja filter ``num``): ``spec`` % v, "—" for None or NaN."""
    return "—" if v is None or v != v else spec % v
