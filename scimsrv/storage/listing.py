"""Listing resources: filter, sort, and paginate by index (RFC 7644 §3.4.2.4)
or by cursor (RFC 9865, :mod:`scimsrv.storage.cursors`), all in the database."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from scim2_models import SearchRequest
from sqlalchemy import ColumnElement, func, inspect, select
from sqlalchemy.orm import Session

from scimsrv.scim.errors import ScimError
from scimsrv.storage.cursors import after, decode_cursor, encode_cursor
from scimsrv.storage.filters import (
    ResourceSpec,
    filter_clause,
    prepare_connection,
    sort_key,
)

Row = TypeVar("Row")

DEFAULT_MAX_COUNT = 1000
# Beyond this startIndex no page holds rows; PostgreSQL's OFFSET is a bigint.
MAX_START_INDEX = 2**31


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

    @classmethod
    def of(cls, search: SearchRequest, count: int) -> ListRequest:
        """The request a parsed SCIM SearchRequest makes, ``count`` rows at most."""
        return cls(
            filter=None if search.filter is None else str(search.filter),
            sort_by=None if search.sort_by is None else str(search.sort_by),
            sort_order=None if search.sort_order is None else search.sort_order.value,
            start_index=search.start_index,
            count=count,
            cursor=search.cursor,
        )


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
            seek.append(after(key, table.id, value, row_id))
        sort_value = key.expr.label("_sort_value")
        query = select(*columns, sort_value).where(*seek)
        query = query.order_by(*order).limit(count + 1)
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
    if start > MAX_START_INDEX:
        pass  # past any row a table can hold: an empty page, no OFFSET the database refuses
    elif count and start == 1:
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
