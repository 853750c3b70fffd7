"""``/admin/v1/plans`` and ``/admin/v1/tenants/{tenant}/plans``: the plan catalog
(six plans with features and implied licenses, the 26 combinations) of the
default license set or of the tenant's set, as ``scimsrv plans --format json``
prints it. ``lang`` (en, no, de, nl) keeps the features of one language;
400 for another, 404 for an unknown tenant."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from licensing_core.features import LANGUAGES
from scimsrv.http.auth import run
from scimsrv.scim.errors import ScimError
from scimsrv.services.plans import plans


async def plan_catalog(request: Request) -> Response:
    lang = request.query_params.get("lang")

    def work(tx):
        if lang is not None and lang not in LANGUAGES:
            raise ScimError(
                400, f"unknown lang {lang!r}; one of {', '.join(LANGUAGES)}", "invalidValue"
            )
        return plans(tx).to_json(LANGUAGES if lang is None else (lang,))

    return JSONResponse(await run(request, work, write=False))
