"""Datetimes into and out of the report queries.

Instants are bound as ``DateTime`` literals so they compare as timestamps on
both databases; values computed by window functions come back as text on
SQLite and are read back as ``datetime``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, literal


def sql_time(value: datetime):
    return literal(value, DateTime)


def read_time(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
