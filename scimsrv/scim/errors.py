"""SCIM errors (RFC 7644 §3.12): the refusal every layer raises and its JSON body.

Only the HTTP edge turns one into a response (:mod:`scimsrv.http.errors`);
the command line prints its detail (:mod:`scimsrv.cli.support`).
"""

from __future__ import annotations

from scimsrv.scim.urns import ERROR


class ScimError(Exception):
    """A request the service refuses: an HTTP status, a ``detail`` for
    people and, for 400s, a ``scimType`` (RFC 7644 §3.12, Table 9)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
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
