"""Users are answered straight from their stored JSON: that must be exactly what a
round trip through the scim2-models resource dumps, key order included."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from scim2_models import Context

from licensing_core.tables import Tenant
from scimsrv.http.scim.rendering import located
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.rendering import as_model, render
from scimsrv.scim.schemas import UserResource
from scimsrv.services import users
from tests.use_cases import run

SAMPLES = Path(__file__).parent / "idp_samples"
RICH_USER = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "userName": "Kari.Nordmann@acme.no",
    "externalId": "6c1a9f3e",
    "displayName": "Kari Nordmann",
    "nickName": "Kari",
    "title": "Seller",
    "preferredLanguage": "nb-NO",
    "locale": "nb-NO",
    "timezone": "Europe/Oslo",
    "active": True,
    "name": {"formatted": "Kari Nordmann", "familyName": "Nordmann", "givenName": "Kari"},
    "emails": [
        {"value": "kari@acme.no", "type": "work", "primary": True},
        {"value": "kari@home.no", "type": "home"},
    ],
    "phoneNumbers": [{"value": "+47 1234 5678", "type": "mobile"}],
    "addresses": [{"type": "work", "streetAddress": "Gate 1", "locality": "Oslo", "country": "NO"}],
    "roles": [{"value": "Sales-Premium", "type": "WindowsAzureActiveDirectoryRole"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "42",
        "department": "Sales",
        "manager": {"value": "boss-id"},
    },
}


def sample_users() -> list[dict]:
    bodies = [RICH_USER, {"userName": "minimal"}]
    for path in sorted(SAMPLES.glob("*/create_user.json")):
        body = json.loads(path.read_text())["request"]
        body.pop("password", None)
        bodies.append(body)
    return bodies


@pytest.mark.parametrize("body", sample_users(), ids=lambda b: b["userName"])
@pytest.mark.parametrize("context", [Context.RESOURCE_QUERY_RESPONSE, Context.SEARCH_RESPONSE])
def test_stored_json_answer_equals_the_model_round_trip(db, tenant_id, body, context):
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime(2026, 1, 1)))
    created = run(db, lambda tx: users.create_user(tx, users_model(body)), tenant_id)
    stored = run(db, lambda tx: users.get_user(tx, created.id), tenant_id, write=False)
    body = located("https://example.test", stored, "Users")
    fast = render(UserResource, body, None, context)
    slow = as_model(UserResource, body).model_dump(scim_ctx=context)
    assert json.dumps(fast) == json.dumps(slow)


def users_model(body: dict):
    return parse_resource(dict(body), UserResource, Context.RESOURCE_CREATION_REQUEST)
