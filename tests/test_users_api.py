"""/Users over HTTP (RFC 7644 §3): create, read, list, search, replace, patch, delete.

The ``api`` fixture is a tenant's SCIM base URL on the app, with a bearer
token of the tenant; the other resource test modules import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from licensing_core.tables import Tenant
from scimsrv.http.app import create_app
from scimsrv.services import tokens
from tests.use_cases import run

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class Api:
    """A client bound to one tenant's base URL; JSON bodies sent as SCIM JSON."""

    def __init__(self, client: TestClient, tenant_id: str, token: str) -> None:
        self.client = client
        self.base = f"/t/{tenant_id}/scim/v2"
        self.token = token

    def request(self, method: str, path: str, body: Any = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(kwargs.pop("headers", {}) or {})}
        if body is not None:
            headers.setdefault("Content-Type", SCIM_JSON)
            kwargs["json"] = body
        return self.client.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api(db, tenant_id) -> Iterator[Api]:
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime.now(UTC).replace(tzinfo=None)))
    token = run(db, lambda tx: tokens.issue(tx, tenant_id, "test"))
    with TestClient(create_app(db=db)) as client:
        yield Api(client, tenant_id, token)


def user_body(user_name: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {
        "schemas": [USER],
        "userName": user_name or f"user-{uuid.uuid4().hex[:8]}@example.com",
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"type": "work", "value": "given.family@example.com", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def create_user(api: Api, user_name: str | None = None, **extra: Any) -> dict[str, Any]:
    response = api.post("/Users", user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_error(response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("detail")
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body


# -- create ---------------------------------------------------------------


def test_create_answers_201_with_id_meta_location_and_etag(api):
    response = api.post("/Users", user_body("bjensen@example.com", externalId="ext-1"))
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["id"] and body["userName"] == "bjensen@example.com"
    assert body["externalId"] == "ext-1"
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"].endswith(f"{api.base}/Users/{body['id']}")
    assert response.headers["location"] == body["meta"]["location"]
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["meta"]["version"].startswith('W/"')


def test_create_ignores_password_groups_id_and_meta_as_okta_and_entra_send_them(api):
    body = user_body(
        password="s3cret", groups=[], id="chosen-by-client", meta={"resourceType": "User"}
    )
    created = api.post("/Users", body).json()
    assert created["id"] != "chosen-by-client"
    assert "password" not in created
    assert "password" not in api.get(f"/Users/{created['id']}").text


def test_create_accepts_directory_email_domains_such_as_dot_local(api):
    created = create_user(api, emails=[{"type": "work", "value": "test.user@okta.local"}])
    assert created["emails"][0]["value"] == "test.user@okta.local"


def test_duplicate_user_name_is_409_uniqueness_case_insensitively(api):
    create_user(api, "Dup.User@example.com")
    body = assert_error(api.post("/Users", user_body("dup.user@EXAMPLE.com")), 409, "uniqueness")
    assert "dup.user" in body["detail"].lower()


def test_create_without_user_name_is_400_invalid_value(api):
    body = user_body()
    del body["userName"]
    assert_error(api.post("/Users", body), 400, "invalidValue")


def test_create_with_unknown_attribute_is_400_invalid_value(api):
    assert_error(api.post("/Users", user_body(favouriteColour="blue")), 400, "invalidValue")


def test_malformed_json_is_400_invalid_syntax(api):
    headers = {"Content-Type": SCIM_JSON, "Authorization": f"Bearer {api.token}"}
    response = api.client.post(f"{api.base}/Users", content=b"{not json", headers=headers)
    assert_error(response, 400, "invalidSyntax")


def test_body_that_is_not_an_object_is_400_invalid_syntax(api):
    assert_error(api.post("/Users", ["a"]), 400, "invalidSyntax")


def test_enterprise_extension_is_stored_and_returned_with_its_schema(api):
    created = create_user(
        api,
        schemas=[USER, ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "42", "department": "Sales", "manager": "boss-id"}},
    )
    assert ENTERPRISE in created["schemas"]
    fetched = api.get(f"/Users/{created['id']}").json()
    assert fetched[ENTERPRISE]["employeeNumber"] == "42"
    assert fetched[ENTERPRISE]["manager"]["value"] == "boss-id"


# -- read -----------------------------------------------------------------


def test_get_returns_the_user_with_etag(api):
    created = create_user(api)
    response = api.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    assert response.json()["userName"] == created["userName"]
    assert response.headers["etag"] == created["meta"]["version"]


def test_unknown_id_is_404_with_error_schema(api):
    assert_error(api.get(f"/Users/{uuid.uuid4()}"), 404)


def test_users_of_another_tenant_are_invisible(api, db):
    created = create_user(api)
    other = f"t-{uuid.uuid4().hex[:10]}"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, registered=datetime.now(UTC).replace(tzinfo=None)))
    token = run(db, lambda tx: tokens.issue(tx, other, "other"))
    response = api.client.get(
        f"/t/{other}/scim/v2/Users/{created['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404


def test_if_none_match_with_current_version_is_304(api):
    created = create_user(api)
    version = created["meta"]["version"]
    response = api.get(f"/Users/{created['id']}", headers={"If-None-Match": version})
    assert response.status_code == 304
    stale = api.get(f"/Users/{created['id']}", headers={"If-None-Match": 'W/"999"'})
    assert stale.status_code == 200


def test_attributes_parameter_returns_only_those_plus_always_returned(api):
    created = create_user(api)
    body = api.get(f"/Users/{created['id']}", params={"attributes": "userName"}).json()
    assert body["id"] == created["id"] and body["userName"] == created["userName"]
    assert "emails" not in body and "name" not in body


def test_excluded_attributes_parameter_drops_them(api):
    created = create_user(api)
    body = api.get(f"/Users/{created['id']}", params={"excludedAttributes": "emails"}).json()
    assert "emails" not in body and body["name"]["givenName"] == "Given"


def test_malformed_attribute_path_is_400_invalid_path(api):
    created = create_user(api)
    response = api.get(f"/Users/{created['id']}", params={"attributes": 'emails[type eq "x"]'})
    assert_error(response, 400, "invalidPath")


# -- list and search -----------------------------------------------------


def test_filter_on_unknown_user_name_is_200_empty_list_response(api):
    response = api.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_filter_user_name_eq_is_case_insensitive(api):
    created = create_user(api, "Case.User@example.com")
    body = api.get("/Users", params={"filter": 'userName eq "case.user@example.com"'}).json()
    assert [r["id"] for r in body["Resources"]] == [created["id"]]


def test_filter_on_external_id_finds_the_user(api):
    created = create_user(api, externalId="0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
    body = api.get(
        "/Users", params={"filter": 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'}
    ).json()
    assert [r["id"] for r in body["Resources"]] == [created["id"]]


def test_unquoted_external_id_filter_as_entra_once_sent_it_is_accepted(api):
    created = create_user(api, externalId="7fce0092-d52e-4f76")
    body = api.get("/Users", params={"filter": "externalId eq 7fce0092-d52e-4f76"}).json()
    assert [r["id"] for r in body["Resources"]] == [created["id"]]


def test_malformed_filter_is_400_invalid_filter(api):
    assert_error(api.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")


def test_filter_on_unknown_attribute_is_400_invalid_filter(api):
    assert_error(api.get("/Users", params={"filter": 'shoeSize eq "9"'}), 400, "invalidFilter")


def test_okta_paging_with_start_index_and_count_is_stable(api):
    ids = {create_user(api)["id"] for _ in range(5)}
    first = api.get("/Users", params={"startIndex": 1, "count": 2}).json()
    assert first["totalResults"] == 5 and first["itemsPerPage"] == 2 and first["startIndex"] == 1
    seen = [r["id"] for r in first["Resources"]]
    for start in (3, 5):
        page = api.get("/Users", params={"startIndex": start, "count": 2}).json()
        assert page["startIndex"] == start
        seen += [r["id"] for r in page["Resources"]]
    assert len(seen) == 5 and set(seen) == ids


def test_count_zero_returns_only_the_total(api):
    create_user(api)
    body = api.get("/Users", params={"count": 0}).json()
    assert body["totalResults"] == 1 and body["Resources"] == []


def test_sort_by_user_name_descending(api):
    for name in ("b@example.com", "a@example.com", "c@example.com"):
        create_user(api, name)
    body = api.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"}).json()
    assert [r["userName"] for r in body["Resources"]] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]


def test_list_honours_attributes(api):
    create_user(api)
    body = api.get("/Users", params={"attributes": "userName"}).json()
    assert set(body["Resources"][0]) <= {"schemas", "id", "userName"}


def test_post_search_filters_like_get(api):
    created = create_user(api, "search.me@example.com")
    response = api.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "search.me@example.com"',
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["Resources"]] == [created["id"]]
    assert "emails" not in body["Resources"][0]


def test_post_search_with_malformed_filter_is_400_invalid_filter(api):
    response = api.post("/Users/.search", {"filter": "userName eq"})
    assert_error(response, 400, "invalidFilter")


# -- replace ---------------------------------------------------------------


def test_put_replaces_attributes_and_bumps_version(api):
    created = create_user(api)
    wanted = user_body(created["userName"], name={"givenName": "New"}, displayName="New Name")
    response = api.put(f"/Users/{created['id']}", wanted)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == {"givenName": "New"} and body["displayName"] == "New Name"
    assert body["meta"]["version"] != created["meta"]["version"]
    assert response.headers["etag"] == body["meta"]["version"]


def test_okta_put_with_id_groups_meta_and_password_is_accepted(api):
    created = create_user(api)
    wanted = {
        **user_body(created["userName"]),
        "id": created["id"],
        "groups": [],
        "meta": {"resourceType": "User"},
        "password": "hunter2",
    }
    response = api.put(f"/Users/{created['id']}", wanted)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]


def test_put_to_a_taken_user_name_is_409(api):
    taken = create_user(api)
    other = create_user(api)
    response = api.put(f"/Users/{other['id']}", user_body(taken["userName"].upper()))
    assert_error(response, 409, "uniqueness")


def test_put_on_unknown_id_is_404(api):
    assert_error(api.put(f"/Users/{uuid.uuid4()}", user_body()), 404)


def test_put_with_stale_if_match_is_412(api):
    created = create_user(api)
    response = api.put(
        f"/Users/{created['id']}", user_body(created["userName"]), headers={"If-Match": 'W/"99"'}
    )
    body = assert_error(response, 412)
    assert "scimType" not in body
    assert api.get(f"/Users/{created['id']}").json()["meta"] == created["meta"] | {
        "location": created["meta"]["location"]
    }


def test_put_with_current_if_match_succeeds(api):
    created = create_user(api)
    response = api.put(
        f"/Users/{created['id']}",
        user_body(created["userName"]),
        headers={"If-Match": created["meta"]["version"]},
    )
    assert response.status_code == 200


# -- patch -----------------------------------------------------------------


def test_patch_answers_200_with_the_patched_user(api):
    created = create_user(api)
    response = api.patch(
        f"/Users/{created['id']}",
        patch_body({"op": "replace", "path": "name.familyName", "value": "Patched"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"]["familyName"] == "Patched"
    assert response.headers["etag"] == response.json()["meta"]["version"]


def test_patch_with_stale_if_match_is_412_and_changes_nothing(api):
    created = create_user(api)
    response = api.patch(
        f"/Users/{created['id']}",
        patch_body({"op": "replace", "path": "active", "value": False}),
        headers={"If-Match": 'W/"41"'},
    )
    assert_error(response, 412)
    assert api.get(f"/Users/{created['id']}").json()["active"] is True


def test_patch_on_unknown_id_is_404(api):
    response = api.patch(
        f"/Users/{uuid.uuid4()}", patch_body({"op": "replace", "path": "active", "value": False})
    )
    assert_error(response, 404)


def test_patch_user_name_to_a_taken_one_is_409_and_changes_nothing(api):
    taken = create_user(api)
    other = create_user(api)
    response = api.patch(
        f"/Users/{other['id']}",
        patch_body(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "userName", "value": taken["userName"]},
        ),
    )
    assert_error(response, 409, "uniqueness")
    assert "displayName" not in api.get(f"/Users/{other['id']}").json()


# -- delete ----------------------------------------------------------------


def test_delete_answers_204_then_the_user_is_gone(api):
    created = create_user(api)
    response = api.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert_error(api.get(f"/Users/{created['id']}"), 404)
    assert_error(api.delete(f"/Users/{created['id']}"), 404)


def test_delete_with_stale_if_match_is_412_and_keeps_the_user(api):
    created = create_user(api)
    assert_error(api.delete(f"/Users/{created['id']}", headers={"If-Match": 'W/"7"'}), 412)
    assert api.get(f"/Users/{created['id']}").status_code == 200


def test_user_name_is_free_again_after_delete(api):
    created = create_user(api, "again@example.com")
    api.delete(f"/Users/{created['id']}")
    create_user(api, "again@example.com")
