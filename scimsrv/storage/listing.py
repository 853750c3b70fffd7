"""Listing resources: filter, sort, and paginate by index (RFC 7644 §3.4.2.4)
or by cursor (RFC 9865), all in the database.

A cursor is opaque to clients: base64url JSON of the sort attribute and
order, the last row's sort key and id. The next page is a keyset seek
``(key, id) > (last key, last id)`` with LIMIT, never an OFFSET scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, inspect, or_, select
from sqlalchemy.orm import Session

from scimsrv.scim.errors import ScimError
from scimsrv.storage.filters import (
    DATETIME,
    ResourceSpec,
    SortKey,
    filter_clause,
    prepare_connection,
    sort_key,
)

Row = TypeVar("Row")

DEFAULT_MAX_COUNT = 1000
INVALID_CURSOR = "invalidCursor"


@dataclass(frozen=True)
class ListRequest:
    """The query parameters of a list or .search request.

    ``cursor`` is None for index pagination; ``""`` asks for the first page
    of cursor pagination (RFC 9865 §2: ``cursor`` without a value), any other
    value continues from a ``next_cursor``. ``count`` None means "as many as
    the server allows" (``max_count``); 0 returns only ``total_results``.
    """

    filter: str | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    start_index: int | None = None
    count: int | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows. ``start_index`` is 1-based (index pagination; 1
    for cursor pages); ``next_cursor`` is None on the last cursor page and
    always None under index pagination."""

    rows: list[Row]
    total_results: int
    start_index: int
    items_per_page: int
    next_cursor: str | None = None


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
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ScimError(400, "the cursor is not valid", INVALID_CURSOR) from exc
    if attribute != key.attribute or order != ("d" if key.descending else "a"):
        raise ScimError(
            400, "the cursor was issued for another sortBy or sortOrder", INVALID_CURSOR
        )
    if not isinstance(row_id, str):
        raise ScimError(400, "the cursor is not valid", INVALID_CURSOR)
    if value is not None and key.kind == DATETIME:
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ScimError(400, "the cursor is not valid", INVALID_CURSOR) from exc
    return value, row_id


def _after(key: SortKey, id_column, value: Any, row_id: str) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in the order :func:`run_list` uses."""
    if not key.attribute:
        return id_column > row_id
    expr = key.expr
    if value is None:
        return and_(expr.is_(None), id_column > row_id)
    beyond = expr < value if key.descending else expr > value
    return or_(expr.is_(None), beyond, and_(expr == value, id_column > row_id))


@cache
def _columns(table: type) -> tuple[ColumnElement, ...]:
    """Every mapped column of ``table``, labelled with its attribute name."""
    return tuple(getattr(table, prop.key).label(prop.key) for prop in inspect(table).column_attrs)


def run_list(
    session: Session,
    tenant_id: str,
    spec: ResourceSpec,
    request: ListRequest,
    *,
    max_count: int = DEFAULT_MAX_COUNT,
) -> Page[Any]:
    """Filter, sort and paginate ``spec``'s rows of one tenant in SQL.

    The rows are read-only rows with the table's attribute names (``row.id``,
    ``row.doc``), not ORM entities: a page of 100 is read without building
    100 tracked objects.
    """
    dialect = session.get_bind().dialect.name
    prepare_connection(session)
    # Rows are read past the ORM session: let it write what it holds first.
    session.flush()
    connection = session.connection()
    table = spec.table
    columns = _columns(table)
    where = [table.tenant_id == tenant_id]
    if request.filter:
        where.append(filter_clause(spec, request.filter, dialect, tenant_id))
    key = sort_key(spec, request.sort_by, request.sort_order, dialect)

    count = max_count if request.count is None else max(0, min(request.count, max_count))

    def total(start: int | None, rows: list[Any]) -> int:
        """The number of matches. A short page that holds rows, or is the
        first, ends the list at a known index, so it tells the total: the
        database counts only when it cannot (never for a lookup)."""
        if start is not None and count and len(rows) < count and (rows or start == 1):
            return start - 1 + len(rows)
        return connection.scalar(select(func.count()).select_from(table).where(*where)) or 0

    order = [table.id]
    if key.attribute:
        direction = key.expr.desc() if key.descending else key.expr.asc()
        order = [key.expr.is_(None), direction, table.id]

    if request.cursor is not None:
        if request.start_index not in (None, 1):
            raise ScimError(
                400, "startIndex and cursor cannot be used together (RFC 9865)", "invalidValue"
            )
        seek = list(where)
        if request.cursor:
            value, row_id = decode_cursor(key, request.cursor)
            seek.append(_after(key, table.id, value, row_id))
        sort_value = key.expr.label("_sort_value")
        query = select(*columns, sort_value).where(*seek).order_by(*order).limit(count + 1)
        fetched = connection.execute(query).all() if count else []
        rows = fetched[:count]
        next_cursor = None
        if len(fetched) > count:
            last = fetched[count - 1]
            next_cursor = encode_cursor(key, last._sort_value, last.id)
        # Only the first cursor page knows where it starts.
        start = 1 if request.cursor == "" else None
        return Page(rows, total(start, rows), 1, len(rows), next_cursor)

    start = max(1, request.start_index or 1)
    rows = []
    if count and start == 1:
        query = select(*columns).where(*where).order_by(*order).limit(count)
        rows = connection.execute(query).all()
    elif count:
        # The OFFSET walks keys only (an index-only scan when the order has an
        # index), then the page's rows are read by key: skipping N rows never
        # reads N whole rows.
        window = (
            select(table.tenant_id.label("tenant"), table.id.label("key"))
            .where(*where)
            .order_by(*order)
            .offset(start - 1)
            .limit(count)
            .subquery()
        )
        query = (
            select(*columns)
            .join(window, (table.tenant_id == window.c.tenant) & (table.id == window.c.key))
            .order_by(*order)
        )
        rows = connection.execute(query).all()
    return Page(rows, total(start, rows), start, len(rows))
