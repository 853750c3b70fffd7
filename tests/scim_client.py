"""A tenant on the real app (bearer auth, default license set) and an operator,
for end-to-end tests over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from licensing_core.license_set import license_set_to_json
from licensing_core.tenants import create_tenant
from scimsrv.http.app import create_app
from scimsrv.services import tenants, tokens
from scimsrv.settings import Settings
from tests.licensing_helpers import NOW, make_tenant
from tests.use_cases import run

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"


class Clock:
    """A controllable clock: every call advances one second."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Tenant:
    """One tenant's SCIM API over HTTP, plus its consistency check."""

    def __init__(self, client: TestClient, db, tenant_id: str, clock: Clock) -> None:
        self.client = client
        self.db = db
        self.tenant_id = tenant_id
        self.clock = clock
        token = run(db, lambda tx: tokens.issue(tx, tenant_id, "test"))
        self.base = f"/t/{tenant_id}/scim/v2"
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None, **params):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
        return self.client.request(
            method, self.base + path, json=body, headers=headers, params=params or None
        )

    def ok(self, method: str, path: str, body: Any = None, **params) -> Any:
        response = self.request(method, path, body, **params)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def user(self, name: str, **extra) -> dict:
        return self.ok("POST", "/Users", {"schemas": [USER], "userName": name, **extra})

    def group(self, name: str, members=(), **extra) -> dict:
        body = {"schemas": [GROUP], "displayName": name, **extra}
        body["members"] = [{"value": m} for m in members]
        return self.ok("POST", "/Groups", body)

    def patch(self, path: str, *operations: dict) -> Any:
        return self.ok("PATCH", path, {"schemas": [PATCH], "Operations": list(operations)})

    def licensing(self, user_id: str) -> dict:
        return self.ok("GET", f"/Users/{user_id}")[LICENSING]

    def problems(self) -> list[str]:
        return run(self.db, tenants.check, self.tenant_id, at=self.clock.now, write=False)


class Operator:
    """The admin API as an operator (an operator token) on the same app."""

    def __init__(self, client: TestClient, db, tenant_id: str) -> None:
        self.client = client
        self.tenant_id = tenant_id
        token = run(db, lambda tx: tokens.issue(tx, None, "ops"))
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None, **params):
        return self.client.request(
            method,
            f"/admin/v1/tenants/{self.tenant_id}{path}",
            json=body,
            headers=self.headers,
            params=params or None,
        )

    def ok(self, method: str, path: str, body: Any = None, **params) -> Any:
        response = self.request(method, path, body, **params)
        assert response.status_code < 300, response.text
        return response.json()

    def import_set(self, spec) -> Any:
        """POST a license set spec (signed) as its JSON file; the response."""
        return self.request("POST", "/license-set", license_set_to_json(spec))


def live_tenant(db, tenant_id: str, clock: Clock, seats=2, **kwargs) -> tuple[TestClient, Tenant]:
    """The real app on ``db`` with ``clock``, and a tenant with ``seats`` per
    plan; without the rate limit, so a test's pace never decides its answers
    (the limit's own tests build their app with the settings they need)."""
    make_tenant(db, tenant_id, seats=seats, **kwargs)
    client = TestClient(create_app(db=db, settings=Settings(rate_limit=0), clock=clock))
    return client, Tenant(client, db, tenant_id, clock)


def operator_headers(db) -> dict[str, str]:
    """The Authorization header of a new operator token (the admin API, /metrics)."""
    token = run(db, lambda tx: tokens.issue(tx, None, "ops"))
    return {"Authorization": f"Bearer {token}"}


__all__ = ["Clock", "Operator", "Tenant", "create_tenant", "live_tenant", "operator_headers"]
