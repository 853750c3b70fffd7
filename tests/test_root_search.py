"""POST /.search at the tenant root (RFC 7644 §3.4.3): every resource type, paged as one list."""

from __future__ import annotations

import pytest

from tests.scim_client import Clock, live_tenant

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def scim(db, tenant_id):
    client, tenant = live_tenant(db, tenant_id, Clock())
    with client:
        yield tenant


def search(scim, **body):
    response = scim.request("POST", "/.search", {"schemas": [SEARCH], **body})
    return response


def test_root_search_returns_users_then_groups(scim):
    alice = scim.user("alice@example.com")
    group = scim.group("Support", [alice["id"]])
    body = search(scim).json()
    assert body["totalResults"] == 2
    assert [r["id"] for r in body["Resources"]] == [alice["id"], group["id"]]
    assert body["Resources"][1]["meta"]["location"].endswith(f"/Groups/{group['id']}")


def test_root_search_pages_across_resource_types(scim):
    users = [scim.user(f"u{i}@example.com")["id"] for i in range(3)]
    groups = [scim.group(f"g{i}")["id"] for i in range(2)]
    everything = [r["id"] for r in search(scim, count=10).json()["Resources"]]
    assert everything == sorted(users) + sorted(groups)  # each type in id order
    page = search(scim, startIndex=3, count=2).json()
    assert page["totalResults"] == 5 and page["startIndex"] == 3
    assert [r["id"] for r in page["Resources"]] == everything[2:4]


def test_filter_on_an_attribute_of_one_type_matches_only_that_type(scim):
    scim.user("alice@example.com")
    group = scim.group("Support")
    body = search(scim, filter='displayName eq "Support"').json()
    assert [r["id"] for r in body["Resources"]] == [group["id"]]
    only_users = search(scim, filter='userName eq "alice@example.com"').json()
    assert only_users["totalResults"] == 1


def test_filter_no_type_knows_is_400_invalid_filter(scim):
    response = search(scim, filter='shoeSize eq "42"')
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_cursor_at_the_root_is_refused(scim):
    response = search(scim, cursor="")
    assert response.status_code == 400
