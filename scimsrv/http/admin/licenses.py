"""``/admin/v1/tenants/{tenant}/license-set``, ``/check`` and ``/reconcile``: a
tenant's license status, the import of a signed set (409 with the per-module
report when it does not verify or fit), the consistency check, and the
recompute of every user on demand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from licensing_core.errors import InvalidLicenseSet
from licensing_core.license_set import parse_license_set
from scimsrv.http.admin.query import dry_run as is_dry_run
from scimsrv.http.admin.views import import_view, preview_view, status_view
from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.scim.errors import ScimError
from scimsrv.services import licenses, tenants


async def show_license_set(request: Request) -> Response:
    """The tenant's license status (as ``scimsrv license show``)."""
    return JSONResponse(status_view(await run(request, licenses.status, write=False)))


async def import_license_set(request: Request) -> Response:
    """Activate a signed license set (the file's JSON as the body)."""
    raw = await read_body(request)

    def work(tx):
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise ScimError(400, "the body must be a license set JSON object", "invalidSyntax")
        try:
            spec = parse_license_set(body)
        except InvalidLicenseSet as exc:
            raise ScimError(400, str(exc), "invalidValue") from exc
        return licenses.import_set(tx, spec)

    return JSONResponse(import_view(await run(request, work, write=True)))


async def check(request: Request) -> Response:
    """The tenant's consistency check (links against a recomputation)."""
    problems = await run(request, tenants.check, write=False)
    return JSONResponse({"consistent": not problems, "problems": problems})


async def reconcile(request: Request) -> Response:
    """Recompute every user now (``?dryRun=true``: what it would change); who changed."""
    dry_run = is_dry_run(request)
    found = await run(request, tenants.reconcile, write=True, dry_run=dry_run)
    return JSONResponse({"dryRun": dry_run, **preview_view(found)})
