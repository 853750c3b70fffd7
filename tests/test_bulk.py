"""POST /Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits, one transaction per op."""

from __future__ import annotations

import uuid

from scimsrv.http.bodies import MAX_PAYLOAD_BYTES
from scimsrv.scim.bulk import MAX_OPERATIONS
from tests import test_users_api
from tests.test_users_api import GROUP, PATCH_OP, USER, assert_error, create_user

api = test_users_api.api  # the fixture: a tenant's base URL on a test app

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(api, *operations, **extra):
    response = api.post(
        "/Bulk", {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def post_user(bulk_id: str, user_name: str | None = None):
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": user_name or f"{bulk_id}-{uuid.uuid4().hex[:6]}"},
    }


def test_bulk_creates_users_and_a_group_whose_members_are_bulk_id_references(api):
    results = bulk(
        api,
        post_user("alice"),
        post_user("bob"),
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "team",
            "data": {
                "schemas": [GROUP],
                "displayName": "Team",
                "members": [{"value": "bulkId:alice"}, {"value": "bulkId:bob"}],
            },
        },
    )
    assert [r["status"] for r in results] == ["201", "201", "201"]
    assert [r["bulkId"] for r in results] == ["alice", "bob", "team"]
    for result in results:
        assert result["location"].startswith("http") and result["version"].startswith('W/"')
    group_id = results[2]["location"].rsplit("/", 1)[1]
    members = {m["value"] for m in api.get(f"/Groups/{group_id}").json()["members"]}
    assert members == {r["location"].rsplit("/", 1)[1] for r in results[:2]}


def test_bulk_patch_and_delete_by_path_with_bulk_id(api):
    results = bulk(
        api,
        post_user("u1"),
        {
            "method": "PATCH",
            "path": "/Users/bulkId:u1",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        },
        {"method": "DELETE", "path": "/Users/bulkId:u1"},
    )
    assert [r["status"] for r in results] == ["201", "200", "204"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    assert api.get(f"/Users/{user_id}").status_code == 404


def test_a_failed_operation_changes_nothing_and_the_others_still_run(api):
    taken = create_user(api)
    results = bulk(api, post_user("dup", taken["userName"]), post_user("ok"))
    assert results[0]["status"] == "409"
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert results[1]["status"] == "201"
    listed = api.get("/Users").json()
    assert listed["totalResults"] == 2


def test_fail_on_errors_stops_after_that_many_errors(api):
    missing = f"/Users/{uuid.uuid4()}"
    results = bulk(
        api,
        {"method": "DELETE", "path": missing},
        {"method": "DELETE", "path": missing},
        post_user("never"),
        failOnErrors=2,
    )
    assert [r["status"] for r in results] == ["404", "404"]
    assert api.get("/Users").json()["totalResults"] == 0


def test_unresolved_bulk_id_fails_that_operation(api):
    results = bulk(
        api,
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:nope"}]},
        },
    )
    assert results[0]["status"] == "409"
    assert api.get("/Groups").json()["totalResults"] == 0


def test_post_without_bulk_id_is_a_failed_operation(api):
    results = bulk(api, {"method": "POST", "path": "/Users", "data": {"userName": "x"}})
    assert results[0]["status"] == "400"


def test_stale_version_in_a_bulk_operation_is_412(api):
    user = create_user(api)
    results = bulk(api, {"method": "DELETE", "path": f"/Users/{user['id']}", "version": 'W/"999"'})
    assert results[0]["status"] == "412"
    assert api.get(f"/Users/{user['id']}").status_code == 200


def test_more_than_max_operations_is_413_too_many(api):
    operations = [{"method": "DELETE", "path": "/Users/x"}] * (MAX_OPERATIONS + 1)
    response = api.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    assert_error(response, 413, "tooMany")


def test_payload_over_max_payload_size_is_413_too_large(api):
    padding = "x" * (MAX_PAYLOAD_BYTES + 1)
    response = api.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": [], "padding": padding})
    assert_error(response, 413, "tooLarge")


def test_bulk_without_the_bulk_request_schema_is_400(api):
    assert_error(api.post("/Bulk", {"Operations": []}), 400, "invalidSyntax")


def test_operation_paths_name_endpoints_in_any_case(api):
    results = bulk(
        api,
        {**post_user("lower"), "path": "/users"},
        {
            "method": "PATCH",
            "path": "/USERS/bulkId:lower",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "Boss"}],
            },
        },
        {
            "method": "POST",
            "path": "/groups",
            "bulkId": "team",
            "data": {"schemas": [GROUP], "displayName": "Team"},
        },
        {"method": "DELETE", "path": "/gRoUpS/bulkId:team"},
    )
    assert [r["status"] for r in results] == ["201", "200", "201", "204"]
    assert "/Users/" in results[0]["location"] and "/Groups/" in results[2]["location"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    assert api.get(f"/Users/{user_id}").json()["title"] == "Boss"
    assert bulk(api, {**post_user("s"), "path": "/Schemas"})[0]["status"] == "400"


def test_a_bulk_id_used_twice_refuses_the_whole_request(api):
    response = api.post(
        "/Bulk",
        {
            "schemas": [BULK_REQUEST],
            "Operations": [post_user("first"), post_user("twice"), post_user("twice")],
        },
    )
    body = assert_error(response, 400, "invalidValue")
    assert "'twice'" in body["detail"]
    assert api.get("/Users").json()["totalResults"] == 0
