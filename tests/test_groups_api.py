"""/Groups over HTTP (RFC 7644 §3): members as rows, PATCH 204, Entra and Okta group push."""

from __future__ import annotations

import uuid

from tests import test_users_api
from tests.test_users_api import GROUP, LIST, SCIM_JSON, assert_error, create_user, patch_body

api = test_users_api.api  # the fixture: a tenant's base URL on a test app

ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def create_group(api, name: str | None = None, **extra):
    body = {"schemas": [GROUP], "displayName": name or f"group-{uuid.uuid4().hex[:8]}", **extra}
    response = api.post("/Groups", body)
    assert response.status_code == 201, response.text
    return response.json()


def member_ids(api, group_id: str) -> set[str]:
    body = api.get(f"/Groups/{group_id}").json()
    return {m["value"] for m in body.get("members", [])}


def test_create_group_answers_201_with_location_and_etag(api):
    response = api.post("/Groups", {"schemas": [GROUP], "displayName": "Sales", "externalId": "e"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["displayName"] == "Sales" and body["externalId"] == "e"
    assert body["meta"]["location"].endswith(f"/Groups/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"]


def test_entra_adscim_schema_urn_is_accepted_on_create(api):
    response = api.post(
        "/Groups",
        {"schemas": [GROUP, ADSCIM], "displayName": "Entra", "meta": {"resourceType": "Group"}},
    )
    assert response.status_code == 201, response.text


def test_okta_group_push_with_empty_members_is_accepted(api):
    response = api.post("/Groups", {"schemas": [GROUP], "displayName": "Okta", "members": []})
    assert response.status_code == 201, response.text


def test_create_with_members_stores_them(api):
    user = create_user(api)
    group = create_group(api, members=[{"value": user["id"]}])
    assert member_ids(api, group["id"]) == {user["id"]}


def test_two_groups_may_share_a_display_name_as_entra_allows(api):
    first = create_group(api, "Dup Group")
    second = api.post("/Groups", {"schemas": [GROUP], "displayName": "dup group"})
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    found = api.get("/Groups", params={"filter": 'displayName eq "DUP GROUP"'}).json()
    assert found["totalResults"] == 2


def test_member_that_is_not_a_user_of_the_tenant_is_400_invalid_value(api):
    body = {"schemas": [GROUP], "displayName": "X", "members": [{"value": str(uuid.uuid4())}]}
    assert_error(api.post("/Groups", body), 400, "invalidValue")


def test_unknown_group_is_404(api):
    assert_error(api.get(f"/Groups/{uuid.uuid4()}"), 404)


def test_entra_lookup_with_excluded_members_filters_on_display_name(api):
    user = create_user(api)
    group = create_group(api, "Lookup Me", members=[{"value": user["id"]}])
    response = api.get(
        "/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "Lookup Me"'}
    )
    body = response.json()
    assert body["schemas"] == [LIST] and body["totalResults"] == 1
    assert body["Resources"][0]["id"] == group["id"]
    assert "members" not in body["Resources"][0]


def test_excluded_members_never_reads_the_member_rows(api, monkeypatch):
    from scimsrv.storage import groups as store

    user = create_user(api)
    group = create_group(api, members=[{"value": user["id"]}])

    def forbidden(*_args, **_kwargs):
        raise AssertionError("members were read")

    monkeypatch.setattr(store, "members_of", forbidden)
    response = api.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert response.status_code == 200 and "members" not in response.json()
    listing = api.get("/Groups", params={"excludedAttributes": "members"})
    assert listing.status_code == 200


def test_group_filter_with_no_match_is_empty_list(api):
    body = api.get("/Groups", params={"filter": 'displayName eq "nope"'}).json()
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_group_search_endpoint(api):
    group = create_group(api, "Searchable")
    response = api.post("/Groups/.search", {"filter": 'displayName eq "Searchable"'})
    assert [r["id"] for r in response.json()["Resources"]] == [group["id"]]


def test_patch_group_answers_204_with_etag(api):
    group = create_group(api)
    response = api.patch(
        f"/Groups/{group['id']}", patch_body({"op": "replace", "path": "displayName", "value": "N"})
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["etag"] != group["meta"]["version"]
    assert api.get(f"/Groups/{group['id']}").json()["displayName"] == "N"


def test_patch_group_with_attributes_requested_answers_200_with_them(api):
    user = create_user(api)
    group = create_group(api)
    response = api.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
        params={"attributes": "members"},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [user["id"]]


def test_entra_add_then_remove_member_with_value_list(api):
    user = create_user(api)
    group = create_group(api)
    add = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}
    assert api.patch(f"/Groups/{group['id']}", patch_body(add)).status_code == 204
    assert member_ids(api, group["id"]) == {user["id"]}
    remove = {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}
    assert api.patch(f"/Groups/{group['id']}", patch_body(remove)).status_code == 204
    assert member_ids(api, group["id"]) == set()


def test_okta_update_no_path_replace_of_id_and_display_name(api):
    group = create_group(api, "Okta Old")
    op = {"op": "replace", "value": {"id": group["id"], "displayName": "Okta New"}}
    assert api.patch(f"/Groups/{group['id']}", patch_body(op)).status_code == 204
    assert api.get(f"/Groups/{group['id']}").json()["displayName"] == "Okta New"


def test_no_path_replace_with_another_id_is_400_mutability(api):
    group = create_group(api)
    op = {"op": "replace", "value": {"id": str(uuid.uuid4()), "displayName": "X"}}
    assert_error(api.patch(f"/Groups/{group['id']}", patch_body(op)), 400, "mutability")


def test_okta_membership_update_remove_filter_add_and_replace(api):
    a, b, c = (create_user(api)["id"] for _ in range(3))
    group = create_group(api, members=[{"value": a}, {"value": b}])
    response = api.patch(
        f"/Groups/{group['id']}",
        patch_body(
            {"op": "remove", "path": f'members[value eq "{b}"]'},
            {"op": "add", "path": "members", "value": [{"value": c, "display": "c"}]},
        ),
    )
    assert response.status_code == 204
    assert member_ids(api, group["id"]) == {a, c}
    replace = {"op": "replace", "path": "members", "value": [{"value": b}]}
    assert api.patch(f"/Groups/{group['id']}", patch_body(replace)).status_code == 204
    assert member_ids(api, group["id"]) == {b}


def test_remove_members_without_value_empties_the_group(api):
    user = create_user(api)
    group = create_group(api, members=[{"value": user["id"]}])
    response = api.patch(f"/Groups/{group['id']}", patch_body({"op": "remove", "path": "members"}))
    assert response.status_code == 204
    assert member_ids(api, group["id"]) == set()


def test_patch_adding_unknown_member_is_400_and_applies_nothing(api):
    group = create_group(api, "Before")
    response = api.patch(
        f"/Groups/{group['id']}",
        patch_body(
            {"op": "replace", "path": "displayName", "value": "After"},
            {"op": "add", "path": "members", "value": [{"value": str(uuid.uuid4())}]},
        ),
    )
    assert_error(response, 400, "invalidValue")
    after = api.get(f"/Groups/{group['id']}").json()
    assert after["displayName"] == "Before"
    assert after["meta"]["version"] == group["meta"]["version"]


def test_patch_group_with_stale_if_match_is_412(api):
    group = create_group(api)
    response = api.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "replace", "path": "displayName", "value": "Z"}),
        headers={"If-Match": 'W/"12345"'},
    )
    assert_error(response, 412)


def test_put_group_replaces_name_and_members(api):
    a, b = create_user(api)["id"], create_user(api)["id"]
    group = create_group(api, members=[{"value": a}])
    wanted = {"schemas": [GROUP], "displayName": "Put", "members": [{"value": b}]}
    response = api.put(f"/Groups/{group['id']}", wanted)
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Put"
    assert member_ids(api, group["id"]) == {b}


def test_delete_group_answers_204_and_keeps_the_users(api):
    user = create_user(api)
    group = create_group(api, members=[{"value": user["id"]}])
    assert api.delete(f"/Groups/{group['id']}").status_code == 204
    assert_error(api.get(f"/Groups/{group['id']}"), 404)
    assert api.get(f"/Users/{user['id']}").status_code == 200


def test_user_groups_attribute_lists_memberships(api):
    user = create_user(api)
    group = create_group(api, members=[{"value": user["id"]}])
    groups = api.get(f"/Users/{user['id']}").json()["groups"]
    assert [g["value"] for g in groups] == [group["id"]]


def test_a_member_shown_by_a_new_name_gives_the_group_a_new_version(api):
    """A group's members show each user's displayName (else userName): renaming
    a member changes the group's representation, so its ETag, meta.version and
    an If-None-Match answer change too (RFC 7644 §3.14); other user attributes
    leave the group alone. PATCH and PUT alike."""
    user = create_user(api, "shown@example.com")
    group = create_group(api, members=[{"value": user["id"]}])
    path = f"/Groups/{group['id']}"

    def version() -> str:
        return api.get(path).headers["etag"]

    first = version()
    title = patch_body({"op": "replace", "path": "title", "value": "Seller"})
    assert api.patch(f"/Users/{user['id']}", title).status_code == 200
    assert version() == first
    rename = patch_body({"op": "replace", "path": "userName", "value": "renamed@example.com"})
    assert api.patch(f"/Users/{user['id']}", rename).status_code == 200
    second = version()
    assert second != first
    assert api.get(path, headers={"If-None-Match": first}).status_code == 200
    [member] = api.get(path).json()["members"]
    assert member["display"] == "renamed@example.com"
    body = {"schemas": [test_users_api.USER], "userName": "renamed@example.com", "displayName": "R"}
    assert api.put(f"/Users/{user['id']}", body).status_code == 200
    assert version() not in (first, second)
    assert api.get(path).json()["members"][0]["display"] == "R"
