"""What differs between SQLite and PostgreSQL in translated filters: reading the
elements of a JSON array (``json_each`` / ``jsonb_array_elements``) and folding
case (SQLite's ``lower()`` only knows ASCII, so :func:`prepare_connection`
registers ``scim_casefold`` on each connection)."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    column,
    func,
    literal,
)
from sqlalchemy.orm import Session

from scimsrv.storage.tables import Document


def _casefold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def prepare_connection(session: Session) -> None:
    """Register what the translated SQL needs on the session's connection.

    SQLite gets ``scim_casefold`` (Python's ``str.casefold``) so that
    case-insensitive comparisons of JSON values agree with the casefolded
    ``_ci`` columns for non-ASCII letters too. Cheap and idempotent; call it
    once per transaction before running a query built here.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Once per DBAPI connection: the pool hands the same ones out again.
        record = connection.connection
        if not record.info.get("scim_casefold"):
            record.driver_connection.create_function(
                "scim_casefold", 1, _casefold, deterministic=True
            )
            record.info["scim_casefold"] = True


class Dialect:
    """The few operations that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {name!r}")
        self.name = name

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def fold(self, expr: ColumnElement) -> ColumnElement:
        return func.scim_casefold(expr) if self.sqlite else func.lower(expr)

    def fold_value(self, value: str) -> ColumnElement:
        # PostgreSQL folds both sides with the same lower(), so they agree
        # whatever its collation does to non-ASCII letters.
        return literal(value.casefold()) if self.sqlite else func.lower(literal(value))

    def elements(self, doc: ColumnElement, keys: tuple[str, ...], ordinality: bool = False):
        """The elements of the JSON array at ``keys`` as a table with a ``value``
        column (typed as JSON) and, with ``ordinality``, a position ``n``."""
        if self.sqlite:
            path = "$" + "".join(f'."{key}"' for key in keys)
            fn = func.json_each(doc, path)
            if ordinality:
                return fn.table_valued(column("value", Document), column("key")).alias()
            return fn.table_valued(column("value", Document)).alias()
        array = doc[keys] if len(keys) > 1 else doc[keys[0]]
        fn = func.jsonb_array_elements(array)
        if ordinality:
            return fn.table_valued(column("value", Document), with_ordinality="n").render_derived()
        return fn.table_valued(column("value", Document)).render_derived()

    def position(self, elements) -> ColumnElement:
        return elements.c.key if self.sqlite else elements.c.n
