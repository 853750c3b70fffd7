"""Never a 5xx, never a half-applied write: values the databases cannot store,
JSON that parses but is not valid text or shape, huge numbers and filters,
/Bulk operations that fail alone, ETags that follow every change, endpoint
names in any case, limits and headers. SQLite and PostgreSQL answer alike."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scimsrv.http.app import create_app
from scimsrv.scim import bulk as bulk_limits
from scimsrv.scim import errors, search, values
from scimsrv.scim import patch as patch_limits
from scimsrv.settings import Settings
from scimsrv.storage.filters import translate
from tests.scim_client import GROUP, LICENSING, USER, Clock, live_tenant

LONG = "x" * 256
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture
def scim(db, tenant_id):
    client, tenant = live_tenant(db, tenant_id, Clock(), seats=5)
    with client:
        yield tenant


def refused(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    if scim_type is not None:
        assert body["scimType"] == scim_type, body
    return body


def counts(scim) -> tuple[int, int]:
    users = scim.ok("GET", "/Users", count=0)["totalResults"]
    groups = scim.ok("GET", "/Groups", count=0)["totalResults"]
    return users, groups


@pytest.mark.parametrize(
    "body",
    [
        {"userName": LONG},
        {"userName": "ok-long-ext", "externalId": LONG},
        {"userName": "ok-long-display", "displayName": LONG},
        {"userName": "nul\u0000name"},
        {"userName": "ok-nul-ext", "externalId": "a\u0000b"},
        {"userName": "ok-nul-title", "title": "t\u0000"},
        {"userName": "ok-nul-key", "urn:x\u0000": "v"},
        {"userName": "surrogate\ud800"},
    ],
    ids=lambda b: next(k for k in b if k != "userName" or len(b) == 1),
)
def test_values_the_databases_cannot_store_are_400_and_change_nothing(scim, body):
    before = counts(scim)
    response = scim.client.post(
        f"{scim.base}/Users",
        content=json.dumps({"schemas": [USER], **body}).encode(),  # \ud800 escaped
        headers={**scim.headers, "Content-Type": "application/scim+json"},
    )
    refused(response, 400, "invalidValue")
    assert counts(scim) == before


def test_group_names_and_member_displays_are_bounded_too(scim):
    user = scim.user("member@example.com")
    before = counts(scim)
    refused(scim.request("POST", "/Groups", {"schemas": [GROUP], "displayName": LONG}), 400)
    too_long = {"value": user["id"], "display": LONG}
    refused(
        scim.request(
            "POST", "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [too_long]}
        ),
        400,
    )
    assert counts(scim) == before
    group = scim.group("Sales-Premium")
    patch = {"op": "add", "path": "members", "value": [too_long]}
    refused(scim.request("PATCH", f"/Groups/{group['id']}", _patch(patch)), 400)
    assert scim.licensing(user["id"]) == {"state": "none"}
    assert scim.problems() == []


def _patch(*operations):
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


def test_a_nul_in_a_filter_or_a_path_id_is_400_or_404(scim):
    refused(scim.request("GET", "/Users", filter='userName eq "a\u0000"'), 400)
    for path in ("/Users/%00", "/Groups/%00", "/Users/" + "x" * 300):
        refused(scim.request("GET", path), 404)
    refused(scim.request("POST", "/Users/.search", {"filter": 'title eq "\u0000"'}), 400)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("[" * 1000 + "]" * 1000, "nests"),
        ('{"schemas": [[0]], "userName": "a"}', "schemas"),
        ('{"schemas": [{}], "userName": "a"}', "schemas"),
        ('{"schemas": "urn", "userName": "a"}', "schemas"),
        ('{"userName": NaN}', "NaN"),
    ],
)
def test_json_that_parses_but_is_not_a_resource_is_400(scim, raw, detail):
    for method, path in (
        ("POST", "/Users"),
        ("PUT", "/Users/00000000-0000-4000-8000-000000000000"),
        ("POST", "/Users/.search"),
        ("POST", "/Bulk"),
        ("POST", "/.search"),
    ):
        response = scim.client.request(
            method,
            scim.base + path,
            content=raw.encode(),
            headers={**scim.headers, "Content-Type": "application/scim+json"},
        )
        body = refused(response, 400)
        assert detail in body["detail"], body


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("startIndex", "100000000000000000000"),
        ("startIndex", "2147483648"),
        ("count", "-2147483649"),
        ("count", "1_000"),
        ("count", "+5"),
        ("count", " 5"),
        ("count", "5 "),
        ("count", "\u0665"),  # ARABIC-INDIC DIGIT FIVE
        ("count", "5.0"),
    ],
)
def test_start_index_and_count_are_plain_integers_within_32_bits(scim, name, value):
    refused(scim.request("GET", "/Users", **{name: value}), 400, "invalidValue")
    refused(scim.request("POST", "/Users/.search", {name: value}), 400, "invalidValue")
    if value.lstrip("-").isascii() and value.lstrip("-").isdigit():
        number = {name: int(value)}
        refused(scim.request("POST", "/Groups/.search", number), 400, "invalidValue")
        refused(scim.request("POST", "/.search", number), 400, "invalidValue")


def test_start_index_and_count_keep_their_meaning_up_to_32_bits_and_below_one(scim):
    scim.user("someone@example.com")
    page = scim.ok("GET", "/Users", startIndex="2147483647", count="2147483647")
    assert page["Resources"] == [] and page["totalResults"] == 1
    assert page["startIndex"] == 2147483647
    page = scim.ok("POST", "/Users/.search", {"startIndex": -5, "count": 1})
    assert page["startIndex"] == 1 and len(page["Resources"]) == 1
    assert scim.ok("GET", "/Users", count="-3", startIndex="007")["itemsPerPage"] == 0


def test_huge_filters_are_400(scim):
    terms = " or ".join(f'userName eq "u{i}"' for i in range(1200))
    refused(scim.request("GET", "/Users", filter=terms), 400, "invalidFilter")
    refused(scim.request("POST", "/Groups/.search", {"filter": terms}), 400, "invalidFilter")


def test_a_tampered_cursor_is_400_invalid_cursor(scim):
    import base64

    for payload in (
        {"s": "", "o": "a", "k": None, "i": "\u0000"},
        {"s": "", "o": "a", "k": 10**30, "i": "00000000-0000-4000-8000-000000000000"},
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        refused(scim.request("GET", "/Users", cursor=cursor), 400, "invalidCursor")


def bulk(scim, *operations, **extra):
    response = scim.request(
        "POST", "/Bulk", {"schemas": [BULK], "Operations": list(operations), **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()["Operations"]


def post(bulk_id: str, **data):
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": f"{bulk_id}@example.com", **data},
    }


@pytest.mark.parametrize("bad", [{"userName": LONG}, {"title": "a\u0000"}, {"schemas": [[0]]}])
def test_a_bad_bulk_operation_fails_alone_and_the_others_commit(scim, bad):
    results = bulk(scim, post("first"), post("second", **bad), post("third"))
    assert [r["status"] for r in results] == ["201", "400", "201"]
    assert results[1]["response"]["schemas"] == [ERROR]
    names = {u["userName"] for u in scim.ok("GET", "/Users")["Resources"]}
    assert {"first@example.com", "third@example.com"} <= names
    assert "second@example.com" not in names


def test_fail_on_errors_counts_the_failures_and_stops(scim):
    results = bulk(
        scim,
        post("a", title="x" * 70_000),
        post("b", title="y" * 70_000),
        post("c"),
        failOnErrors=2,
    )
    assert [r["status"] for r in results] == ["400", "400"]


def test_only_a_whole_value_is_a_bulk_reference_and_forward_references_resolve(scim):
    results = bulk(
        scim,
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "team",
            "data": {
                "schemas": [GROUP],
                "displayName": "Sales-Premium",
                "members": [{"value": "bulkId:later"}],
            },
        },
        post("later", title="see bulkId:abc notes"),
    )
    assert [r["status"] for r in results] == ["201", "201"]
    user_id = results[1]["location"].rsplit("/", 1)[1]
    assert scim.ok("GET", f"/Users/{user_id}")["title"] == "see bulkId:abc notes"
    assert scim.licensing(user_id)["planCombination"] == "Sales-Premium"


def test_a_membership_or_plan_change_gives_the_user_a_new_etag(scim):
    user = scim.user("etag@example.com")
    first = scim.client.get(f"{scim.base}/Users/{user['id']}", headers=scim.headers)
    etag = first.headers["ETag"]
    assert etag == first.json()["meta"]["version"]
    scim.group("Sales-Premium", [user["id"]])
    second = scim.client.get(
        f"{scim.base}/Users/{user['id']}", headers={**scim.headers, "If-None-Match": etag}
    )
    assert second.status_code == 200, "the groups and the licensing extension changed"
    body = second.json()
    assert body["meta"]["version"] != etag == first.json()["meta"]["version"]
    assert body["meta"]["lastModified"] > first.json()["meta"]["lastModified"]
    assert body[LICENSING]["state"] == "licensed"


def test_endpoint_names_match_whatever_their_case(scim):
    user = scim.user("case@example.com")
    for path in ("/users", "/USERS", f"/users/{user['id']}", "/schemas", "/serviceproviderconfig"):
        response = scim.client.get(scim.base + path, headers=scim.headers)
        assert response.status_code == 200, (path, response.text)


def test_every_response_carries_no_store_and_nosniff(scim):
    for response in (
        scim.request("GET", "/Users"),
        scim.request("GET", "/Nope"),
        scim.client.get("/healthz"),
        scim.client.get(f"{scim.base}/Users"),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_body_that_is_not_json_is_415(scim):
    before = counts(scim)
    response = scim.client.post(
        f"{scim.base}/Users",
        content=b'{"userName": "plain"}',
        headers={**scim.headers, "Content-Type": "text/plain"},
    )
    refused(response, 415)
    assert counts(scim) == before


def test_past_the_tenants_rate_limit_requests_get_429_with_retry_after(db, tenant_id):
    settings = Settings(rate_limit=1, rate_burst=3)
    _, scim = live_tenant(db, tenant_id, Clock())
    with TestClient(create_app(db=db, settings=settings)) as client:
        answers = [client.get(f"{scim.base}/Users", headers=scim.headers) for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    limited = answers[-1]
    refused(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_access_log_never_holds_the_query_string(scim, caplog):
    with caplog.at_level(logging.INFO, logger="scimsrv.access"):
        response = scim.client.get(
            f"{scim.base}/Users?access_token=secret-in-query&filter=userName%20pr",
            headers={**scim.headers, "X-Request-Id": "req-42"},
        )
    assert response.headers["X-Request-Id"] == "req-42"
    [record] = [r for r in caplog.records if r.name == "scimsrv.access"]
    assert record.fields["route"] == "/t/{tenant}/scim/v2/Users"
    assert record.fields["request_id"] == "req-42" and record.fields["status"] == 200
    assert "secret" not in caplog.text and "filter" not in caplog.text


def test_schemas_advertise_the_limits_and_that_group_names_need_not_be_unique(scim):
    schemas = {s["id"]: s for s in scim.ok("GET", "/Schemas")["Resources"]}
    group = {
        a["name"]: a for a in schemas["urn:ietf:params:scim:schemas:core:2.0:Group"]["attributes"]
    }
    user = {
        a["name"]: a for a in schemas["urn:ietf:params:scim:schemas:core:2.0:User"]["attributes"]
    }
    assert group["displayName"]["uniqueness"] == "none"
    assert "need not be unique" in group["displayName"]["description"]
    for attribute in (user["userName"], user["displayName"], group["displayName"]):
        assert "At most 255 characters" in attribute["description"]


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        ({"path": "userName", "value": ["x"]}, "userName: must be a string, not an array"),
        ({"path": "active", "value": "maybe"}, "active: must be true or false, not a string"),
        (
            {"path": "name.givenName", "value": [1]},
            "name.givenName: must be a string, not an array",
        ),
        (
            {"path": f"{ENTERPRISE}:employeeNumber", "value": {"a": 1}},
            f"{ENTERPRISE}:employeeNumber: must be a string, not an object",
        ),
        ({"value": {"userName": 5}}, "userName: must be a string, not a number"),
        ({"path": "emails", "value": [7]}, "emails: must be an object, not a number"),
    ],
)
def test_a_patch_value_of_the_wrong_type_is_one_clean_line_naming_the_attribute(
    scim, operation, detail
):
    user = scim.user("typed@example.com")
    operations = [
        {"op": "replace", "path": "title", "value": "kept?"},
        {"op": "replace", **operation},
    ]
    body = refused(scim.request("PATCH", f"/Users/{user['id']}", _patch(*operations)), 400)
    assert body["detail"] == detail and body["scimType"] == "invalidValue"
    assert "title" not in scim.ok("GET", f"/Users/{user['id']}")


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"userName": ["x"]}, "userName: must be a string, not an array"),
        ({"emails": [1]}, "emails[0]: must be an object, not a number"),
        (
            {"emails": [{"value": "a@b", "primary": 9}]},
            "emails[0].primary: must be true or false, not a number",
        ),
        ({"name": {"givenName": 5}}, "name.givenName: must be a string, not a number"),
        ({ENTERPRISE: {"manager": 5}}, f"{ENTERPRISE}:manager: must be an object, not a number"),
        ({"nickname": None, "urn:x:y": {}}, "urn:x:y: is not an attribute here"),
    ],
)
def test_a_created_or_replaced_value_of_the_wrong_type_is_one_clean_line(scim, extra, detail):
    user = scim.user("replaced@example.com")
    body = {"schemas": [USER, ENTERPRISE], "userName": "new@example.com", **extra}
    for method, path in (("POST", "/Users"), ("PUT", f"/Users/{user['id']}")):
        error = refused(scim.request(method, path, body), 400, "invalidValue")
        assert error["detail"] == detail, (method, error)


def test_a_number_past_64_bits_is_400_number_too_large(scim):
    user = scim.user("numbers@example.com")

    def raw(body: dict, number: str) -> str:
        return json.dumps(body).replace('"NUMBER"', number)

    huge = "9" * 5000
    for method, path, content in (
        ("POST", "/Users", raw({"schemas": [USER], "userName": "n", "active": "NUMBER"}, huge)),
        (
            "PATCH",
            f"/Users/{user['id']}",
            raw({"Operations": [{"op": "add", "value": "NUMBER"}]}, huge),
        ),
        ("POST", "/Users/.search", raw({"count": "NUMBER"}, "1e400")),
        ("POST", "/Bulk", raw({"schemas": [BULK], "failOnErrors": "NUMBER"}, "1" * 20)),
    ):
        response = scim.client.request(
            method,
            scim.base + path,
            content=content.encode(),
            headers={**scim.headers, "Content-Type": "application/scim+json"},
        )
        body = refused(response, 400, "invalidValue")
        assert body["detail"].startswith("number too large"), (path, body)


def test_an_error_echoes_at_most_100_characters_of_a_client_value(scim):
    long_id = "a" * 10_000
    body = refused(scim.request("GET", f"/Users/{long_id}"), 404)
    assert body["detail"] == f"User {'a' * 100}… not found"
    [result] = bulk(scim, {"method": "DELETE", "path": "/Users/" + "b" * 5000})
    assert result["status"] == "404" and len(result["response"]["detail"]) < 150
    response = scim.client.get(
        f"{scim.base}/Users", headers={**scim.headers}, params={"sortBy": "x" * 3000}
    )
    assert len(refused(response, 400)["detail"]) < 250


def test_a_patch_of_more_than_1000_operations_is_400_and_changes_nothing(scim):
    user = scim.user("busy@example.com")
    group = scim.group("Sales-Premium")
    add = {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    title = {"op": "replace", "path": "title", "value": "t"}
    for path, operation in ((f"/Groups/{group['id']}", add), (f"/Users/{user['id']}", title)):
        body = refused(scim.request("PATCH", path, _patch(*[operation] * 1001)), 400)
        assert body["scimType"] == "invalidValue" and "at most 1000 operations" in body["detail"]
    assert scim.licensing(user["id"]) == {"state": "none"}
    assert "title" not in scim.ok("GET", f"/Users/{user['id']}")
    scim.patch(f"/Groups/{group['id']}", *[add] * 1000)
    assert scim.licensing(user["id"])["state"] == "licensed"


def emails(count: int) -> list[dict]:
    return [{"value": f"u{i}@example.com", "type": "other"} for i in range(count)]


def test_a_multi_valued_attribute_holds_at_most_100_values(scim):
    user = scim.user("many@example.com", emails=emails(100), roles=[{"value": "r"}] * 100)
    too_many = {"schemas": [USER], "userName": "more@example.com", "phoneNumbers": emails(101)}
    for method, path in (("POST", "/Users"), ("PUT", f"/Users/{user['id']}")):
        body = refused(scim.request(method, path, too_many), 400, "invalidValue")
        assert body["detail"] == "phoneNumbers holds 101 values; at most 100"
    one_more = {"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]}
    refused(scim.request("PATCH", f"/Users/{user['id']}", _patch(one_more)), 400, "invalidValue")
    assert len(scim.ok("GET", f"/Users/{user['id']}")["emails"]) == 100
    members = [scim.user(f"m{i}@example.com")["id"] for i in range(101)]
    assert len(scim.group("Big", members)["members"]) == 101  # members are not capped


def test_schemas_advertise_the_multi_valued_limit_where_a_client_writes(scim):
    schemas = {s["id"]: s for s in scim.ok("GET", "/Schemas")["Resources"]}
    user = {a["name"]: a for a in schemas[USER]["attributes"]}
    group = {a["name"]: a for a in schemas[GROUP]["attributes"]}
    for name in ("emails", "phoneNumbers", "addresses", "roles", "entitlements"):
        assert "At most 100 values." in user[name]["description"], name
    assert "At most" not in user["groups"]["description"]
    assert "At most" not in group["members"]["description"]


def test_names_kept_casefolded_meet_the_limit_after_folding_and_schemas_say_so(scim):
    long_fold = "ß" * 130  # 130 characters, 260 once folded ("ss")
    body = refused(scim.request("POST", "/Users", {"schemas": [USER], "userName": long_fold}), 400)
    assert "userName (casefolded)" in body["detail"]
    refused(scim.request("POST", "/Groups", {"schemas": [GROUP], "displayName": long_fold}), 400)
    # Attributes not kept casefolded count their characters as sent.
    user = scim.user("fold@example.com", externalId="ß" * 255, displayName="ß" * 255)
    assert scim.ok("GET", f"/Users/{user['id']}")["displayName"] == "ß" * 255
    schemas = {s["id"]: s for s in scim.ok("GET", "/Schemas")["Resources"]}
    user_attributes = {a["name"]: a for a in schemas[USER]["attributes"]}
    group_attributes = {a["name"]: a for a in schemas[GROUP]["attributes"]}
    for attribute in (user_attributes["userName"], group_attributes["displayName"]):
        assert "At most 255 characters (also after case folding" in attribute["description"]
    assert "case folding" not in user_attributes["displayName"]["description"]


PUBLIC = "https://scim.example.com/crm"


def test_with_a_public_url_no_absolute_url_follows_the_host_header(db, tenant_id):
    _, scim = live_tenant(db, tenant_id, Clock())
    app = create_app(db=db, settings=Settings(public_url=PUBLIC + "/"))
    evil = {**scim.headers, "Host": "evil.example", "Content-Type": "application/scim+json"}
    own = f"{PUBLIC}{scim.base}"
    with TestClient(app) as client:
        created = client.post(
            f"{scim.base}/Users",
            json={"schemas": [USER], "userName": "h@example.com"},
            headers=evil,
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        assert created.headers["Location"] == created.json()["meta"]["location"]
        assert created.json()["meta"]["location"] == f"{own}/Users/{user_id}"
        listed = client.get(f"{scim.base}/Users", headers=evil).json()
        assert listed["Resources"][0]["meta"]["location"] == f"{own}/Users/{user_id}"
        config = client.get(f"{scim.base}/ServiceProviderConfig", headers=evil).json()
        assert config["meta"]["location"] == f"{own}/ServiceProviderConfig"
        bulk_body = {"schemas": [BULK], "Operations": [post("b")]}
        [result] = client.post(f"{scim.base}/Bulk", json=bulk_body, headers=evil).json()[
            "Operations"
        ]
        assert result["location"].startswith(f"{own}/Users/")
        redirect = client.get(f"{scim.base}/Users/?count=1", headers=evil, follow_redirects=False)
        assert redirect.status_code == 307
        assert redirect.headers["Location"] == f"{own}/Users?count=1"


def test_without_a_public_url_absolute_urls_follow_the_request(scim):
    user = scim.user("here@example.com")
    headers = {**scim.headers, "Host": "scim.internal:8443"}
    body = scim.client.get(f"{scim.base}/Users/{user['id']}", headers=headers).json()
    assert body["meta"]["location"] == f"http://scim.internal:8443{scim.base}/Users/{user['id']}"
    redirect = scim.client.get(f"{scim.base}/Users/", headers=headers, follow_redirects=False)
    assert redirect.headers["Location"] == f"http://scim.internal:8443{scim.base}/Users"


def test_docs_limits_states_every_figure_the_code_enforces():
    text = Path(__file__).parent.parent.joinpath("docs", "limits.md").read_text()
    figures = {
        "body size": bulk_limits.MAX_PAYLOAD_BYTES,
        "bulk operations": bulk_limits.MAX_OPERATIONS,
        "nesting": values.MAX_DEPTH,
        "column": values.COLUMN_LENGTH,
        "string": values.MAX_STRING,
        "values": values.MAX_VALUES,
        "patch operations": patch_limits.MAX_PATCH_OPERATIONS,
        "filter length": translate.MAX_FILTER_LENGTH,
        "filter terms": translate.MAX_FILTER_TERMS,
        "page": search.MAX_PAGE_SIZE,
        "default page": search.DEFAULT_PAGE_SIZE,
        "echo": errors.MAX_ECHO,
        "detail": errors.MAX_DETAIL,
    }
    for what, figure in figures.items():
        assert f"{figure:,}" in text, what
    assert search.MAX_INTEGER == 2**31 - 1 and values.MAX_JSON_INTEGER == 2**63 - 1
    assert "2³¹−1" in text and "2⁶³−1" in text
