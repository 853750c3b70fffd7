"""SCIM errors (RFC 7644 §3.12): the refusal every layer raises and its JSON body.

Only the HTTP edge turns one into a response (:mod:`scimsrv.http.errors`);
the command line prints its detail (:mod:`scimsrv.cli.support`).
"""

from __future__ import annotations

import re

from scimsrv.scim.urns import ERROR

# An error detail repeats at most this much of any one value a client sent
# (an id, a path, a filter word), and is at most MAX_DETAIL characters.
MAX_ECHO = 100
MAX_DETAIL = 1000
_LONG_WORD = re.compile(rf"\S{{{MAX_ECHO + 1},}}")


def clipped(detail: str) -> str:
    """``detail`` with every run of more than :data:`MAX_ECHO` non-blank
    characters cut to that many and ``…``, and the whole cut to
    :data:`MAX_DETAIL`: a 10,000-character id is not echoed back whole."""
    detail = _LONG_WORD.sub(lambda match: match.group()[:MAX_ECHO] + "…", detail)
    return detail if len(detail) <= MAX_DETAIL else detail[:MAX_DETAIL] + "…"


class ScimError(Exception):
    """A request the service refuses: an HTTP status, a ``detail`` for
    people (:func:`clipped`, wherever it was made) and, for 400s, a
    ``scimType`` (RFC 7644 §3.12, Table 9)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        detail = clipped(detail)
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    """The Error message: ``schemas`` (Error), ``status`` (a string), ``detail``, ``scimType``."""
    body: dict = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def not_found(resource_type: str, resource_id: str) -> ScimError:
    """404 for a resource id the tenant does not have (RFC 7644 §3.12)."""
    return ScimError(404, f"{resource_type} {resource_id} not found")
