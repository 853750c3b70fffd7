"""``/admin/v1/tenants``: list and create tenants; ``/admin/v1/tenants/{tenant}``:
show, change (name, company, contract terms) and delete one
(``?purge=true`` removes its history too); ``.../suspend`` and ``.../resume``.

Bodies are :class:`~scimsrv.http.admin.bodies.NewTenant` and
:class:`~scimsrv.http.admin.bodies.TenantChange` (string fields; any other
refused, 400 naming it). Answers are the JSON ``scimsrv tenant
list|show --format json`` prints; errors the SCIM error shape
(:mod:`scimsrv.http.errors`): 400 bad input, 404 unknown tenant, 409 a taken
id, a deleted tenant, or contract terms that can no longer change.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from licensing_core.periods import parse_contract_start
from licensing_core.tenants import is_tenant_id
from scimsrv.http.admin.bodies import NewTenant, TenantChange, given, parsed
from scimsrv.http.admin.query import flag
from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.urls import tenant_base_url
from scimsrv.scim.errors import ScimError
from scimsrv.services import tenants
from scimsrv.services.tenants import Deletion


def _terms(fields: dict[str, str]) -> dict:
    """The keyword arguments of :func:`scimsrv.services.tenants.change` but ``name``."""
    start = fields.get("contractStart")
    contract_start: date | None = None if start is None else parse_contract_start(start)
    return {
        "company": fields.get("company"),
        "contract_start": contract_start,
        "billing_period": fields.get("billingPeriod"),
    }


async def list_tenants(request: Request) -> Response:
    found = await run(request, tenants.list_tenants, write=False)
    listed = [info.to_json(tenant_base_url(request, info.tenant_id)) for info in found]
    return JSONResponse({"tenants": listed})


async def create_tenant(request: Request) -> Response:
    """A new tenant with the default license set: 201 and the tenant."""
    raw = await read_body(request)

    def work(tx):
        fields = given(parsed(NewTenant, parse_json(raw) if raw else None))
        tenant_id = fields["id"]
        if not is_tenant_id(tenant_id):
            raise ScimError(
                400,
                f"invalid tenant id {tenant_id!r}: use 1-63 lower-case letters, digits and "
                "'-', starting with a letter or digit",
                "invalidValue",
            )
        return tenants.create(tx, tenant_id, fields["name"], **_terms(fields))

    info = await run(request, work, write=True)
    return JSONResponse(
        info.to_json(tenant_base_url(request, info.tenant_id)),
        status_code=201,
        headers={"Location": f"{request.url.path.rstrip('/')}/{info.tenant_id}"},
    )


async def show_tenant(request: Request) -> Response:
    details = await run(request, tenants.show, write=False)
    return JSONResponse(details.to_json(tenant_base_url(request)))


async def change_tenant(request: Request) -> Response:
    """Rename, set the company name or the contract terms; the tenant after it."""
    raw = await read_body(request)

    def work(tx):
        fields = given(parsed(TenantChange, parse_json(raw) if raw else None))
        if not fields:
            wanted = ", ".join(TenantChange.model_fields)
            raise ScimError(400, f"send at least one of {wanted}", "invalidValue")
        return tenants.change(tx, name=fields.get("name"), **_terms(fields))

    details = await run(request, work, write=True)
    return JSONResponse(details.to_json(tenant_base_url(request)))


async def suspend_tenant(request: Request) -> Response:
    details = await run(request, tenants.suspend, write=True)
    return JSONResponse(details.to_json(tenant_base_url(request)))


async def resume_tenant(request: Request) -> Response:
    details = await run(request, tenants.resume, write=True)
    return JSONResponse(details.to_json(tenant_base_url(request)))


def _deletion_view(deletion: Deletion) -> dict:
    if deletion.purged:
        return {"tenant": deletion.tenant_id, "purged": True, "rows": deletion.rows}
    return {
        "tenant": deletion.tenant_id,
        "purged": False,
        "licensesReleased": deletion.licenses_released,
        "users": deletion.users,
        "groups": deletion.groups,
        "liveTokens": deletion.tokens,
    }


async def delete_tenant(request: Request) -> Response:
    """Delete the tenant (its ledger and history stay) or, with ``purge=true``, every row of it."""
    purge = flag(request, "purge")

    def work(tx):
        return tenants.delete(tx, purge=purge)

    return JSONResponse(_deletion_view(await run(request, work, write=True)))
