"""Discovery (RFC 7644 §4): what /ServiceProviderConfig, /ResourceTypes and /Schemas say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from licensing_core.tables import Tenant
from scimsrv.http.app import create_app
from scimsrv.http.bodies import MAX_PAYLOAD_BYTES, SCIM_CONTENT_TYPE
from scimsrv.scim.urns import ENTRA_GROUP_SCHEMA
from scimsrv.scim.urns import ERROR as ERROR_SCHEMA
from scimsrv.services import tokens
from tests.use_cases import tx_of

ORIGIN = "http://scim.test"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture
def tenant_client(db, tenant_id):
    """A client for ``tenant_id``'s base URL, with a valid token."""
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime.now(UTC).replace(tzinfo=None)))
        session.flush()
        token = tokens.issue(tx_of(session), tenant_id)
    client = TestClient(
        create_app(db=db),
        base_url=f"{ORIGIN}/t/{tenant_id}/scim/v2/",
        headers={"Authorization": f"Bearer {token}"},
    )
    client.base = f"{ORIGIN}/t/{tenant_id}/scim/v2"
    return client


def get_ok(client: TestClient, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE
    return response.json()


def test_service_provider_config_states_what_the_service_supports(tenant_client):
    body = get_ok(tenant_client, "ServiceProviderConfig")
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"] == {"supported": True}
    assert body["bulk"] == {
        "supported": True,
        "maxOperations": 1000,
        "maxPayloadSize": MAX_PAYLOAD_BYTES,
    }
    assert body["filter"] == {"supported": True, "maxResults": 1000}
    assert body["changePassword"] == {"supported": False}
    assert body["sort"] == {"supported": True}
    assert body["etag"] == {"supported": True}
    assert [scheme["type"] for scheme in body["authenticationSchemes"]] == ["oauthbearertoken"]
    assert body["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    }
    assert body["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{tenant_client.base}/ServiceProviderConfig",
    }


def test_resource_types_are_user_with_enterprise_extension_and_group(tenant_client):
    body = get_ok(tenant_client, "ResourceTypes")
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == len(body["Resources"]) == 2
    by_name = {rt["name"]: rt for rt in body["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER
    assert by_name["User"]["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": LICENSING, "required": False},
    ]
    assert by_name["Group"]["endpoint"] == "/Groups"
    assert by_name["Group"]["schema"] == GROUP
    assert not by_name["Group"].get("schemaExtensions")
    for name, rt in by_name.items():
        assert rt["meta"] == {
            "resourceType": "ResourceType",
            "location": f"{tenant_client.base}/ResourceTypes/{name}",
        }


def test_one_resource_type_by_name(tenant_client):
    body = get_ok(tenant_client, "ResourceTypes/User")
    assert body["id"] == "User"
    assert body["meta"]["location"] == f"{tenant_client.base}/ResourceTypes/User"


def test_schemas_are_user_enterprise_user_and_group_with_absolute_locations(tenant_client):
    body = get_ok(tenant_client, "Schemas")
    assert body["schemas"] == [LIST_RESPONSE]
    assert sorted(s["id"] for s in body["Resources"]) == sorted(
        [USER, ENTERPRISE, LICENSING, GROUP]
    )
    for schema in body["Resources"]:
        assert schema["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert schema["attributes"]
        assert schema["meta"] == {
            "resourceType": "Schema",
            "location": f"{tenant_client.base}/Schemas/{schema['id']}",
        }


def test_user_schema_describes_username_and_group_schema_members(tenant_client):
    user = get_ok(tenant_client, f"Schemas/{USER}")
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert user_name["required"] is True
    assert user_name["uniqueness"] == "server"
    group = get_ok(tenant_client, f"Schemas/{GROUP}")
    members = next(a for a in group["attributes"] if a["name"] == "members")
    assert members["multiValued"] is True


def test_schemas_describe_what_the_endpoints_accept(tenant_client):
    # IdPs send a manager by id alone; the schema must not claim $ref is required.
    enterprise = get_ok(tenant_client, f"Schemas/{ENTERPRISE}")
    assert enterprise["name"] == "EnterpriseUser"
    manager = next(a for a in enterprise["attributes"] if a["name"] == "manager")
    ref = next(a for a in manager["subAttributes"] if a["name"] == "$ref")
    assert ref["required"] is False


def test_entra_group_schema_is_not_advertised(tenant_client):
    listed = get_ok(tenant_client, "Schemas")
    assert ENTRA_GROUP_SCHEMA not in {s["id"] for s in listed["Resources"]}
    response = tenant_client.get(f"Schemas/{ENTRA_GROUP_SCHEMA}")
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["ResourceTypes/Pet", "Schemas/urn:example:nothing"])
def test_unknown_discovery_item_is_scim_404(tenant_client, path):
    response = tenant_client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE
    assert response.json()["schemas"] == [ERROR_SCHEMA]


@pytest.mark.parametrize("path", ["Schemas", "ResourceTypes", "ServiceProviderConfig"])
def test_filter_on_discovery_endpoint_is_403(tenant_client, path):
    response = tenant_client.get(path, params={"filter": 'name eq "User"'})
    assert response.status_code == 403
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        "ServiceProviderConfig",
        "ResourceTypes",
        "ResourceTypes/User",
        "Schemas",
        f"Schemas/{USER}",
    ],
)
def test_writes_on_discovery_endpoints_are_scim_405(tenant_client, method, path):
    response = tenant_client.request(method, path, json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "405"
    assert "GET" in response.headers["allow"]


def test_discovery_needs_a_token(db, tenant_client):
    anonymous = TestClient(create_app(db=db), base_url=f"{tenant_client.base}/")
    for path in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
        assert anonymous.get(path).status_code == 401


def test_licensing_extension_schema_is_read_only_and_names_every_attribute(tenant_client):
    schema = get_ok(tenant_client, f"Schemas/{LICENSING}")
    assert schema["name"] == "Licensing"
    attributes = {a["name"]: a for a in schema["attributes"]}
    assert set(attributes) == {
        "planCombination",
        "requestedPlans",
        "basePlans",
        "licenses",
        "state",
        "reason",
    }
    assert {a["mutability"] for a in attributes.values()} == {"readOnly"}
    assert attributes["basePlans"]["multiValued"] is True
