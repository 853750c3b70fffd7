"""Who holds one user license: the partial the Licenses page shows in its holders frame.

``GET /admin/v1/tenants/{tenant}/license/holders/{module}?startIndex=1&count=25``,
``module`` the license's moduleLicense id (the page links each user license
here). A page of holders (SCIM userName, SCIM id, granted since, from
:mod:`scimsrv.storage.license_holders`) with previous / next links; a whole
HTML document, so it also stands on its own in a tab. ``startIndex`` and
``count`` follow RFC 7644 §3.4.2.4 (1-based; below 1 counts as 1); ``count``
defaults to :data:`HOLDERS_PER_PAGE` and is at most :data:`MAX_HOLDERS_PER_PAGE`.
Errors: 404 for a module id that is malformed, another tenant's or not a
user license, 400 ``invalidValue`` for a paging value that is not an integer
within 32 bits (docs/limits.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from licensing_core.counting import IN_USE
from licensing_core.tables import USER_LICENSE, ModuleLicense
from licensing_core.tenants import get_tenant
from scimsrv.http.auth import run
from scimsrv.http.pages.rendering import page
from scimsrv.scim.errors import ScimError
from scimsrv.scim.search import search_from_query
from scimsrv.storage.license_holders import HolderPage, license_holders

HOLDERS_PER_PAGE = 25
MAX_HOLDERS_PER_PAGE = 100
# moduleLicense ids are 32-bit integers handed out from 1.
_MODULE_ID = re.compile(r"^[0-9]{1,9}$")


@dataclass(frozen=True)
class LicenseHolders:
    """One page of the holders of one user license, with the license's seats."""

    module_name: str
    description: str
    bought: int
    unrestricted: bool
    in_use: int
    count: int
    page: HolderPage


def gather(tx, module: str, start_index: int, count: int) -> LicenseHolders:
    """The holders of user license ``module`` (its id as text) of the tenant.

    :raises UnknownTenant: no such tenant (404).
    :raises ScimError: 404 when the tenant has no user license with that id.
    """
    get_tenant(tx.session, tx.tenant_id)
    found = None
    if _MODULE_ID.match(module):
        found = tx.session.execute(
            select(
                ModuleLicense.module_name,
                ModuleLicense.module_description,
                ModuleLicense.license_number,
                ModuleLicense.unrestricted,
                IN_USE,
            ).where(
                ModuleLicense.tenant_id == tx.tenant_id,
                ModuleLicense.id == int(module),
                ModuleLicense.license_type == USER_LICENSE,
            )
        ).first()
    if found is None:
        raise ScimError(404, f"no user license {module!r} in tenant {tx.tenant_id!r}")
    name, description, bought, unrestricted, in_use = found
    holders = license_holders(tx.session, tx.tenant_id, int(module), start_index, count)
    return LicenseHolders(name, description, bought, unrestricted, in_use, count, holders)


def paging(request: Request) -> tuple[int, int]:
    """(startIndex, count) of the query, as RFC 7644 §3.4.2.4 reads them."""
    asked = {k: v for k, v in request.query_params.items() if k in ("startIndex", "count")}
    search = search_from_query(asked, None)
    count = HOLDERS_PER_PAGE if search.count is None else search.count
    return search.start_index or 1, min(count, MAX_HOLDERS_PER_PAGE)


async def license_holders_page(request: Request) -> Response:
    """The holders partial (HTML)."""
    module = request.path_params["module"]
    start_index, count = paging(request)
    data = await run(request, lambda tx: gather(tx, module, start_index, count), write=False)
    return page(request, "holders.html", context(data))


def context(data: LicenseHolders) -> dict[str, Any]:
    """The template's variables: the holders, what the page shows of them, and the
    previous and next links (relative: the query only)."""
    shown, total = data.page.holders, data.page.total
    first = data.page.start_index
    previous = next_page = None
    if first > 1 and data.count:
        previous = "?" + urlencode({"startIndex": max(1, first - data.count), "count": data.count})
    if data.count and first + len(shown) <= total:
        next_page = "?" + urlencode({"startIndex": first + len(shown), "count": data.count})
    return {
        "title": f"Holders of {data.description or data.module_name}",
        "license": data,
        "holders": shown,
        "first": first,
        "last": first + len(shown) - 1,
        "total": total,
        "previous": previous,
        "next": next_page,
    }
