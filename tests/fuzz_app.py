"""The app under fuzz and a tenant on it: the only place the fuzz suite imports
the service, so a move of the app factory is one line here
(``scimsrv.http.app.create_app``).

:func:`open_tenant` gives a tenant with a bearer token on the real app behind
an in-process ``TestClient`` that answers a 500 instead of raising, its
consistency check, and :func:`snapshot`, a cheap picture of everything a SCIM
write can change in the tenant, read with plain SQL.
"""

from __future__ import annotations

import os

from sqlalchemy import text
from starlette.testclient import TestClient

import licensing_core
import scimsrv
from scimsrv.http.app import create_app
from scimsrv.settings import Settings
from tests.licensing_helpers import make_tenant
from tests.scim_client import Clock, Tenant

SERVER_LOGGER = "scimsrv"  # the app logs every unexpected exception here
# Traceback frames in these directories are the project's, the rest libraries'.
PROJECT_DIRS = tuple(os.path.dirname(p.__file__) + os.sep for p in (scimsrv, licensing_core))


def open_tenant(db, tenant_id: str, seats: int = 3) -> Tenant:
    """A tenant with ``seats`` per plan on a fresh app over ``db``, without the
    rate limit (the fuzz sends one tenant thousands of requests in a long run;
    tests/test_rate_limit.py covers the limit)."""
    make_tenant(db, tenant_id, seats=seats)
    clock = Clock()
    app = create_app(db=db, settings=Settings(rate_limit=0), clock=clock)
    client = TestClient(app, raise_server_exceptions=False)
    return Tenant(client, db, tenant_id, clock)


_SNAPSHOT = {
    "users": "SELECT scim_user_id, version, user_name, active FROM scim_user"
    " WHERE tenant_id = :t ORDER BY scim_user_id",
    "groups": "SELECT scim_group_id, version, display_name FROM scim_group"
    " WHERE tenant_id = :t ORDER BY scim_group_id",
    "members": "SELECT group_id, user_id, display FROM group_member WHERE tenant_id = :t"
    " ORDER BY group_id, user_id",
    "plans": "SELECT associate_id, version, state, granted FROM associate_plan"
    " WHERE tenant_id = :t ORDER BY associate_id",
    "seats": 'SELECT "moduleLicense_id", count(*) FROM licenseassoclink WHERE tenant_id = :t'
    ' GROUP BY "moduleLicense_id" ORDER BY "moduleLicense_id"',
    "associates": "SELECT count(*) FROM associate WHERE tenant_id = :t",
    "links": "SELECT count(*) FROM licenseassoclink WHERE tenant_id = :t",
    "ledger": "SELECT count(*) FROM license_ledger WHERE tenant_id = :t",
    "plan log": "SELECT count(*) FROM plan_state_log WHERE tenant_id = :t",
}


def snapshot(db, tenant_id: str) -> dict[str, list[tuple]]:
    """Users and groups with their versions, memberships, plan states, seats in
    use, and the counts of associates, license links, ledger and plan-log
    rows: equal before and after a request that changed nothing."""
    with db.read() as session:
        return {
            name: [tuple(row) for row in session.execute(text(sql), {"t": tenant_id})]
            for name, sql in _SNAPSHOT.items()
        }
