"""What users and groups share: validating incoming attributes, building
``meta``, and the errors a missing or conflicting resource raises."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import BaseModel
from scim2_models.exceptions import SCIMException
from sqlalchemy import select
from sqlalchemy.orm import Session

from scimsrv.scim.errors import ScimError


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(model: type[BaseModel], attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes validated by scim2-models and dumped with canonical
    names (``UserName`` -> ``userName``), empty values dropped.

    :raises ScimError: 400 ``invalidValue`` when they do not fit the schema.
    """
    try:
        resource = model.model_validate(dict(attributes))
        dumped = resource.model_dump(mode="json")
    except ValidationError as exc:
        raise ScimError(400, _first_error(exc), "invalidValue") from exc
    except SCIMException as exc:
        raise ScimError(400, str(exc), getattr(exc, "scim_type", None) or "invalidValue") from exc
    return _prune(dumped)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid value')}" if where else str(exc)


def _prune(value: Any) -> Any:
    """Drop nulls and empty containers: RFC 7643 §2.5 treats them as unassigned."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        pruned_list = [_prune(item) for item in value]
        return [item for item in pruned_list if item not in (None, {}, [])]
    return value


def format_datetime(value: datetime) -> str:
    """A naive-UTC column value as an RFC 7643 §2.3.5 dateTime."""
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def weak_etag(version: int) -> str:
    """The ETag of a resource version (RFC 7644 §3.14): ``W/"<version>"``."""
    return f'W/"{version}"'


def meta(resource_type: str, row: Any, base_url: str | None, endpoint: str) -> dict[str, Any]:
    result = {
        "resourceType": resource_type,
        "created": format_datetime(row.created),
        "lastModified": format_datetime(row.last_modified),
        "version": weak_etag(row.version),
    }
    if base_url is not None:
        result["location"] = f"{base_url.rstrip('/')}/{endpoint}/{row.id}"
    return result


def find_row(
    session: Session, table: Any, tenant_id: str, row_id: str, *, for_update: bool = False
) -> Any | None:
    """A user or group row of the tenant, or None; ``for_update`` row-locks it
    until the transaction ends, so an If-Match check and the write it guards
    cannot interleave with another request's."""
    stmt = select(table).where(table.tenant_id == tenant_id, table.id == row_id)
    return session.scalar(stmt.with_for_update() if for_update else stmt)


def get_row(session: Session, table: Any, resource_type: str, tenant_id: str, row_id: str) -> Any:
    """The row; 404 ScimError when the tenant has none with that id."""
    row = find_row(session, table, tenant_id, row_id)
    if row is None:
        raise not_found(resource_type, row_id)
    return row


def not_found(resource_type: str, resource_id: str) -> ScimError:
    return ScimError(404, f"{resource_type} {resource_id} not found")


def check_version(resource_type: str, row: Any, expected_version: int | None) -> None:
    """RFC 7644 §3.14: a write with If-Match on a stale version is refused."""
    if expected_version is not None and row.version != expected_version:
        raise ScimError(
            412,
            f"{resource_type} {row.id} is at version {row.version}, not {expected_version}",
        )
