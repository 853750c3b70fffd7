"""Values both databases store alike. Text: no NUL (PostgreSQL refuses it,
SQLite keeps it), no lone surrogate (not UTF-8, so neither can store it),
and no more characters than the column holds (PostgreSQL's ``varchar(n)``
refuses more, SQLite keeps any length). Integers: within the column's range
(PostgreSQL's ``integer`` is 32 bits, SQLite's 64). Every free-text value an
operator or a license set hands in passes :func:`storable`, and a license
set's fields :func:`storable_fields`, before they are written, so both
databases answer a bad one with the same clear error instead of one storing
it and the other failing (docs/limits.md)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, inspect

from licensing_core.errors import LicensingError

# NUL and the UTF-16 surrogate code points.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# Bits of each integer column type on PostgreSQL (signed).
_BITS = {SmallInteger: 16, Integer: 32, BigInteger: 64}


class InvalidText(LicensingError, ValueError):
    """A value no database column can store as given."""


def storable(what: str, text: str, limit: int | None = 255) -> str:
    """``text`` unchanged when a column of ``limit`` characters (None: any
    length) stores it on both databases.

    :raises InvalidText: naming ``what``: it holds NUL or a lone surrogate, or
        is longer than ``limit``.
    """
    if UNSTORABLE.search(text):
        raise InvalidText(f"{what} holds a NUL character or a lone surrogate")
    if limit is not None and len(text) > limit:
        raise InvalidText(f"{what} is longer than {limit} characters ({len(text)})")
    return text


def storable_fields(what: str, values: Any, table: type) -> None:
    """Every text or integer field of the dataclass ``values`` that is also a
    mapped attribute of ``table`` fits its column (named by the column's
    name, as license set files name it): text passes
    :func:`storable` with the column's length, an integer is within the
    column type's range.

    :raises InvalidText: naming ``what`` and the field.
    """
    mapper = inspect(table)
    for field in dataclasses.fields(values):
        value = getattr(values, field.name)
        if field.name not in mapper.attrs or isinstance(value, bool):
            continue
        column = mapper.attrs[field.name].columns[0]
        if isinstance(value, str):
            storable(f"{what} {column.name}", value, getattr(column.type, "length", None))
        elif isinstance(value, int) and type(column.type) in _BITS:
            bound = 2 ** (_BITS[type(column.type)] - 1)
            if not -bound <= value < bound:
                raise InvalidText(f"{what} {column.name} is out of range (at most {bound - 1})")
