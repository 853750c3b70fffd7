"""Request bodies into scim2-models resources; scim2-models failures into SCIM errors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError
from scim2_models import Context, SCIMException

from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import IGNORED_SCHEMAS, POLICY
from scimsrv.scim.urns import ENTERPRISE_SCHEMA

T = TypeVar("T")

# Read-only attributes a client may echo back (Okta PUTs the whole object it
# read) and ``password``, which this service never stores (Okta sends one).
_IGNORED_KEYS = frozenset({"id", "meta", "groups", "password"})


# What scim2-models or pydantic raise when a request is not what they expect.
MODEL_ERRORS = (ValidationError, SCIMException, TypeError, ValueError, RecursionError)


def scim_error(exc: Exception) -> ScimError:
    """The SCIM error for a scim2-models or pydantic failure (RFC 7644 §3.12);
    anything else they raise on a malformed request is a 400 ``invalidValue``."""
    if isinstance(exc, SCIMException):
        return ScimError(exc.status, exc.detail, exc.scim_type or None)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        ctx = first.get("ctx") or {}
        status = int(ctx.get("status", 400))
        scim_type = ctx.get("scim_type") or "invalidValue"
        location = ".".join(str(part) for part in first.get("loc", ()))
        message = first.get("msg", str(exc))
        detail = f"{location}: {message}" if location else message
        return ScimError(status, detail, scim_type)
    return ScimError(400, f"invalid request: {exc.__class__.__name__}: {exc}", "invalidValue")


def require_object(body: Any, what: str) -> dict[str, Any]:
    """``body`` if it is a JSON object whose ``schemas``, if any, is a list of URIs."""
    if not isinstance(body, dict):
        raise ScimError(400, f"the {what} must be a JSON object", "invalidSyntax")
    schemas = next((v for k, v in body.items() if k.lower() == "schemas"), [])
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise ScimError(400, f"the {what}'s schemas must be a list of URIs", "invalidSyntax")
    return body


def manager_as_object(value: Any) -> Any:
    """Entra ID sometimes sends the manager as its id alone (docs/identity-providers.md)."""
    if isinstance(value, str):
        return {"value": value} if value else None
    return value


def _normalized_resource(body: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in body.items() if k.lower() not in _IGNORED_KEYS}
    schemas = cleaned.get("schemas")
    if isinstance(schemas, list):
        cleaned["schemas"] = [s for s in schemas if s not in IGNORED_SCHEMAS]
    for key, value in list(cleaned.items()):
        if key.lower() == ENTERPRISE_SCHEMA.lower() and isinstance(value, dict):
            cleaned[key] = {
                k: manager_as_object(v) if k.lower() == "manager" else v for k, v in value.items()
            }
    return cleaned


def parse_resource(body: Any, model: type[T], context: Context) -> T:
    """A creation (RFC 7644 §3.3) or replacement (§3.5.1) body as ``model``.

    Read-only attributes and ``password`` are dropped first, so an IdP that
    echoes what it read (``id``, ``meta``, ``groups``) is accepted.
    """
    payload = _normalized_resource(require_object(body, "request body"))
    try:
        return model.model_validate(payload, scim_ctx=context, scim_policy=POLICY)  # type: ignore[attr-defined]
    except MODEL_ERRORS as exc:
        raise scim_error(exc) from exc
