"""SCIM errors (RFC 7644 §3.12): the one place that turns failures into responses."""

from __future__ import annotations

from starlette.responses import JSONResponse

from licensing_core.errors import (
    InvalidCombination,
    LicenseExpired,
    LicensingError,
    UnknownTenant,
)

SCIM_CONTENT_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A request the service refuses; rendered as an RFC 7644 §3.12 Error."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    body: dict = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(error.status, error.detail, error.scim_type),
        status_code=error.status,
        media_type=SCIM_CONTENT_TYPE,
        headers=headers,
    )


def domain_error(exc: LicensingError) -> ScimError:
    """The SCIM error for a licensing-core error that reached the HTTP edge."""
    if isinstance(exc, UnknownTenant):
        return ScimError(404, str(exc))
    if isinstance(exc, InvalidCombination):
        return ScimError(400, str(exc), "invalidValue")
    if isinstance(exc, LicenseExpired):
        # The license set is past its stop date: reads work, license changes are refused.
        return ScimError(403, str(exc))
    return ScimError(409, str(exc))
