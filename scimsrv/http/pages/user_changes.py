"""One user's recent changes: the partial a holder's name opens in the Licenses
page's holders frame.

``GET /admin/v1/tenants/{tenant}/license/users/{user}``, ``user`` a SCIM id:
the newest entries of the tenant's provisioning and audit log that concern
the user (its own writes, its group memberships, its plans), each with when,
who, the request, the outcome and what changed (docs/audit-log.md). 404 for
an id that is not one (a user deleted since still has its entries).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from licensing_core.tenants import get_tenant
from scimsrv.http.auth import run
from scimsrv.http.pages.rendering import page
from scimsrv.scim.errors import not_found
from scimsrv.scim.values import is_resource_id
from scimsrv.services import audit

RECENT = 10


def gather(tx, user_id: str) -> dict:
    """The template's variables: the user's name (as now, or as last logged) and entries."""
    get_tenant(tx.session, tx.tenant_id)
    if not is_resource_id(user_id):
        raise not_found("User", user_id)
    entries = audit.recent(tx, user_id, RECENT)
    record = tx.storage.users.read(user_id)
    if record is None and not entries:
        raise not_found("User", user_id)
    return {
        "title": f"Recent changes of {record.user_name if record else user_id}",
        "user_id": user_id,
        "deleted": record is None,
        "entries": [
            {
                "at": entry.at,
                "actor": entry.actor,
                "request": f"{entry.request.get('method', '')} {entry.request.get('path', '')}"
                if "command" not in entry.request
                else entry.request["command"],
                "outcome": "ok" if entry.status is None else f"{entry.status} {entry.error}",
                "lines": audit.summary(entry.changes),
            }
            for entry in entries
        ],
    }


async def user_changes_page(request: Request) -> Response:
    """The partial (HTML)."""
    user_id = request.path_params["user"]
    found = await run(request, lambda tx: gather(tx, user_id), write=False)
    return page(request, "user_changes.html", found)
