"""Numbers as a report writes them: percentages, counts with their nouns, dashes where not computed."""

from __future__ import annotations


def pct(value: float | None) -> str:
    """A fraction as a percentage; a dash where not computed."""
    return "—" if value is None else f"{value:.2%}"


def num(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators; a dash where not computed."""
    return "—" if value is None else f"{value:,.{digits}f}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 mismatch``, ``3 mismatches``: a number with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
