"""What the SQL of users and groups shares: records read past the ORM, the
dialect's INSERT (for ``ON CONFLICT``), and chunks under the bound-parameter
limits of SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Keeps each statement well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(session: Session):
    """``insert`` of the session's dialect, which knows ``ON CONFLICT``."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def labelled(table: Any, names: Iterable[str]) -> list:
    """``table``'s mapped attributes ``names``, labelled with those names."""
    return [getattr(table, name).label(name) for name in names]
