"""Cursors for RFC 9865 pagination: opaque to clients, a keyset position.

A cursor is base64url JSON of the sort attribute and order, the last row's
sort key and id. The next page is a keyset seek ``(key, id) > (last key,
last id)`` with LIMIT, never an OFFSET scan, so it costs the same on page 1
and page 1,000 and never expires.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from scimsrv.scim.errors import ScimError
from scimsrv.scim.values import is_resource_id
from scimsrv.storage.filters import DATETIME, SortKey

INVALID_CURSOR = "invalidCursor"


def encode_cursor(key: SortKey, value: Any, row_id: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    payload = {"s": key.attribute, "o": "d" if key.descending else "a", "k": value, "i": row_id}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(key: SortKey, cursor: str) -> tuple[Any, str]:
    """The (sort key value, id) a cursor continues after.

    :raises ScimError: 400 ``invalidCursor`` (RFC 9865 §2.3) when the cursor
        is not one of ours or was issued for another sortBy/sortOrder.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        attribute, order, value, row_id = payload["s"], payload["o"], payload["k"], payload["i"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ScimError(400, "the cursor is not valid", INVALID_CURSOR) from exc
    if attribute != key.attribute or order != ("d" if key.descending else "a"):
        raise ScimError(
            400, "the cursor was issued for another sortBy or sortOrder", INVALID_CURSOR
        )
    if not is_resource_id(row_id) or not _storable_key(value):
        raise ScimError(400, "the cursor is not valid", INVALID_CURSOR)
    if value is not None and key.kind == DATETIME:
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ScimError(400, "the cursor is not valid", INVALID_CURSOR) from exc
    return value, row_id


def after(key: SortKey, id_column, value: Any, row_id: str) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in the order :func:`run_list` uses."""
    if not key.attribute:
        return id_column > row_id
    expr = key.expr
    if value is None:
        return and_(expr.is_(None), id_column > row_id)
    beyond = expr < value if key.descending else expr > value
    return or_(expr.is_(None), beyond, and_(expr == value, id_column > row_id))


def _storable_key(value: Any) -> bool:
    """A sort key a cursor may carry: what :func:`encode_cursor` writes, nothing
    the database would refuse to compare (huge integers, NUL, nested JSON)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and "\x00" not in value and len(value) <= 65_536
