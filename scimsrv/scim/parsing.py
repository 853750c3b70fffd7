"""Request bodies into scim2-models resources; scim2-models failures into SCIM errors."""

from __future__ import annotations

import re
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

# What is wrong, by pydantic error type, in the words of JSON (RFC 8259).
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
_PROBLEMS = {"extra_forbidden": "is not an attribute here", "missing": "is required"}
_JSON_KINDS = ((bool, "a boolean"), (str, "a string"), (int | float, "a number"))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return next((kind for types, kind in _JSON_KINDS if isinstance(value, types)), "a value")


def _attribute_path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a SCIM attribute path: ``emails[0].primary``,
    ``urn:...:User:manager``; Python field names in their SCIM spelling."""
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        name = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), str(part))
        # An extension's attributes follow its URN after a colon (RFC 7644 §3.10).
        separator = ":" if index == 1 and str(loc[0]).startswith("urn:") else "."
        path = f"{path}{separator}{name}" if path else name
    return path


def validation_detail(error: ValidationError, where: str | None = None) -> str:
    """One line for people naming the attribute and what is wrong with it
    (``userName: must be a string, not an array``), never pydantic's own
    report (model names, Python field names, links). ``where``: the
    attribute path when the caller knows it better than the error does (a
    PATCH operation's path)."""
    first = error.errors()[0]
    where = where or _attribute_path(tuple(first.get("loc", ())))
    expected = _EXPECTED.get(first["type"])
    if expected is not None:
        problem = f"must be {expected}, not {_json_kind(first.get('input'))}"
    else:
        message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
        problem = _PROBLEMS.get(first["type"], message.splitlines()[0] if message else "")
    return f"{where}: {problem}" if where else problem


def scim_error(exc: Exception, where: str | None = None) -> ScimError:
    """The SCIM error for a scim2-models or pydantic failure (RFC 7644 §3.12),
    its detail one clean line (:func:`validation_detail`); anything else they
    raise on a malformed request is a 400 ``invalidValue``."""
    cause = exc.__cause__ if isinstance(exc.__cause__, ValidationError) else exc
    if isinstance(exc, SCIMException):
        detail = exc.detail
        if isinstance(cause, ValidationError):
            detail = validation_detail(cause, where)
        return ScimError(exc.status, detail, exc.scim_type or None)
    if isinstance(exc, ValidationError):
        ctx = exc.errors()[0].get("ctx") or {}
        status = int(ctx.get("status", 400))
        return ScimError(
            status, validation_detail(exc, where), ctx.get("scim_type") or "invalidValue"
        )
    reason = str(exc).strip().splitlines()
    return ScimError(
        400, f"invalid request: {reason[0] if reason else 'malformed'}", "invalidValue"
    )


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
