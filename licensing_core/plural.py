"""Counted nouns in messages: ``1 user``, ``2 users``; the one helper every
message uses, so none reads "1 users"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun`` in the number it takes; ``nouns`` is the plural
    when adding "s" is wrong (``plural(2, "inconsistency", "inconsistencies")``)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
