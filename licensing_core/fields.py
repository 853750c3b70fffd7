"""How a message names the fields of a JSON object that do not fit: unknown
fields, missing fields and a value of the wrong type, one wording each for
license set files and every admin API body alike."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from licensing_core.plural import plural

# Characters of a refused value the message repeats.
SHOWN_VALUE = 60


def unknown_fields(names: Sequence[str], known: Iterable[str]) -> str:
    """``2 unknown fields: 'colour', 'Scope' (known: scope, plans)``; ``known: none``
    for an object that takes no field."""
    listed = ", ".join(known) or "none"
    return f"{plural(len(names), 'unknown field')}: {_names(names)} (known: {listed})"


def missing_fields(names: Sequence[str]) -> str:
    """``1 missing field: 'moduleName'``."""
    return f"{plural(len(names), 'missing field')}: {_names(names)}"


def wrong_type(field: str, expected: str, value: Any) -> str:
    """``licenseNumber must be an integer, got "7"``: the value as JSON writes it,
    cut after :data:`SHOWN_VALUE` characters."""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > SHOWN_VALUE:
        shown = shown[:SHOWN_VALUE] + "…"
    return f"{field} must be {expected}, got {shown}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)
