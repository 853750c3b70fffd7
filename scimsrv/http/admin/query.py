"""Query parameters every admin endpoint reads the same way."""

from __future__ import annotations

from starlette.requests import Request

from licensing_core.plural import plural
from scimsrv.scim.errors import ScimError

FLAG_VALUES = {"true": True, "1": True, "false": False, "0": False}


def flag(request: Request, name: str) -> bool:
    """A true/false query parameter: true/false or 1/0 (any case); absent is false.

    :raises ScimError: 400 for any other value, or when given more than once,
        before anything runs.
    """
    values = request.query_params.getlist(name)
    if not values:
        return False
    if len(values) > 1:
        raise ScimError(
            400, f"{name} given {plural(len(values), 'time')}: give it once", "invalidValue"
        )
    if values[0].lower() not in FLAG_VALUES:
        raise ScimError(
            400, f"{name} must be true or false (or 1 or 0), not {values[0]!r}", "invalidValue"
        )
    return FLAG_VALUES[values[0].lower()]


def dry_run(request: Request) -> bool:
    """``?dryRun=true``: answer what the write would do and change nothing."""
    return flag(request, "dryRun")
