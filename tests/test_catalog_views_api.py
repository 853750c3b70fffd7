"""The admin API's views of a tenant: users with their plan state and why
(``/users``, filtered by state and plan, paged), groups with the plans they
grant or why none (``/groups``), and the plan catalog (``/plans``)."""

from __future__ import annotations

import pytest

from licensing_core.plans import LISTED_COMBINATIONS
from scimsrv.provisioning.reasons import DEACTIVATED, NOTHING
from tests import test_admin_api
from tests.test_statement_budget import counted

# A tenant with one seat per plan, its SCIM client and an operator's headers.
setup = test_admin_api.setup
SHORT = "Sales-Premium: no free seat on module 'sales-premium': 1 needed, 0 free"


def get(client, headers, path, **params):
    return client.get(f"/admin/v1{path}", headers=headers, params=params)


def ok(client, headers, path, **params):
    response = get(client, headers, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def people(setup):
    """alice holds Sales-Premium, bob waits for its one seat, carol is
    deactivated, dave and erin are in groups that only look like plans, frank
    is in a group that grants nothing."""
    client, tenant, operator = setup
    ids = {name: tenant.user(f"{name}@example.com")["id"] for name in ("alice", "bob", "dave")}
    ids["carol"] = tenant.user("carol@example.com", active=False)["id"]
    ids["erin"] = tenant.user("erin@example.com", roles=[{"value": "Sales-Essentials"}])["id"]
    ids["frank"] = tenant.user("frank@example.com")["id"]
    tenant.group("Sales-Premium", [ids["alice"], ids["bob"], ids["carol"]])
    tenant.group("Sales Premium", [ids["dave"]])
    tenant.group("Sales-Premium + Sales-Essentials", [ids["dave"]])
    tenant.group("Engineering", [ids["frank"], ids["erin"]])
    return client, tenant, operator, ids


def users(client, operator, tenant, **params):
    return ok(client, operator, f"/tenants/{tenant.tenant_id}/users", **params)


def names(body):
    return [user["userName"].split("@")[0] for user in body["users"]]


def test_every_user_comes_with_state_plans_groups_and_a_reason(people):
    client, tenant, operator, ids = people
    body = users(client, operator, tenant)
    assert body["totalResults"] == 6 and body["startIndex"] == 1
    found = {user["userName"].split("@")[0]: user for user in body["users"]}
    assert names(body) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert found["alice"] == {
        "id": ids["alice"],
        "userName": "alice@example.com",
        "displayName": None,
        "active": True,
        "state": "licensed",
        "requestedPlans": "Sales-Premium",
        "planCombination": "Sales-Premium",
        "groups": ["Sales-Premium"],
        "roles": [],
        "reason": "through group 'Sales-Premium'",
    }
    bob = found["bob"]
    assert (bob["state"], bob["requestedPlans"], bob["planCombination"]) == (
        "pending",
        "Sales-Premium",
        "",
    )
    assert bob["reason"] == SHORT
    assert (found["carol"]["state"], found["carol"]["active"]) == ("none", False)
    assert found["carol"]["reason"] == DEACTIVATED
    assert found["dave"]["groups"] == ["Sales Premium", "Sales-Premium + Sales-Essentials"]
    assert found["dave"]["reason"] == (
        "group 'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?; "
        "group 'Sales-Premium + Sales-Essentials' names two tiers of Sales"
    )
    assert found["erin"]["reason"] == "through role 'Sales-Essentials'"
    assert found["erin"]["roles"] == ["Sales-Essentials"]
    assert (found["frank"]["state"], found["frank"]["reason"]) == ("none", NOTHING)


def test_users_filter_by_state_and_by_plan(people):
    client, tenant, operator, _ = people
    assert names(users(client, operator, tenant, state="pending")) == ["bob"]
    assert names(users(client, operator, tenant, state="none")) == [
        "carol",
        "dave",
        "frank",
    ]
    assert names(users(client, operator, tenant, plan="sales-premium")) == ["alice", "bob"]
    licensed = users(client, operator, tenant, plan="Sales-Premium", state="licensed")
    assert names(licensed) == ["alice"]
    assert names(users(client, operator, tenant, plan="Sales-Essentials")) == ["erin"]


def test_a_combination_matches_exactly_and_a_plan_matches_every_combination_holding_it(people):
    client, tenant, operator, ids = people
    tenant.group("Sales-Essentials + Service-Essentials", [ids["frank"]])
    both = "Sales-Essentials + Service-Essentials"
    assert names(users(client, operator, tenant, plan=both)) == ["frank"]
    assert names(users(client, operator, tenant, plan="Service-Essentials")) == ["frank"]
    assert names(users(client, operator, tenant, plan="Sales-Essentials")) == ["erin", "frank"]


def test_users_page_by_index_and_by_cursor(people):
    client, tenant, operator, _ = people
    second = users(client, operator, tenant, startIndex=3, count=2)
    assert (second["totalResults"], second["startIndex"], second["itemsPerPage"]) == (6, 3, 2)
    assert names(second) == ["carol", "dave"]
    seen, cursor = [], ""
    for _ in range(4):  # 6 users, 2 a page: 3 pages
        page = users(client, operator, tenant, count=2, cursor=cursor)
        seen += names(page)
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    assert seen == ["alice", "bob", "carol", "dave", "erin", "frank"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"state": "waiting"}, "unknown state 'waiting'; one of licensed, pending, none"),
        ({"plan": "Sales-Gold"}, "unknown plan 'Sales-Gold'"),
        ({"plan": "Sales-Premium + Sales-Essentials"}, "conflict"),
        ({"startIndex": "first"}, "startIndex"),
        ({"startIndex": "1", "cursor": ""}, "not both"),
        ({"cursor": "bm90IG91cnM"}, "cursor is not valid"),
    ],
)
def test_bad_filters_and_paging_are_400_with_a_detail(setup, params, detail):
    client, tenant, operator = setup
    response = get(client, operator, f"/tenants/{tenant.tenant_id}/users", **params)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("path", ["users", "groups", "plans"])
def test_unknown_tenants_are_404_and_tenant_tokens_401(setup, path):
    client, tenant, operator = setup
    missing = get(client, operator, f"/tenants/nobody/{path}")
    assert missing.status_code == 404 and missing.json()["detail"] == "no tenant 'nobody'"
    assert get(client, tenant.headers, f"/tenants/{tenant.tenant_id}/{path}").status_code == 401


def test_groups_show_what_they_grant_or_why_not(people):
    client, tenant, operator, _ = people
    support = tenant.group("Support")
    rule = {"scope": "in-group", "target": "Support", "plans": "Service-Premium"}
    added = client.post(f"/admin/v1/tenants/{tenant.tenant_id}/rules", json=rule, headers=operator)
    assert added.status_code == 201, added.text
    body = ok(client, operator, f"/tenants/{tenant.tenant_id}/groups")
    assert body["totalResults"] == 5
    found = {group["displayName"]: group for group in body["groups"]}
    assert list(found) == [
        "Engineering",
        "Sales Premium",
        "Sales-Premium",
        "Sales-Premium + Sales-Essentials",
        "Support",
    ]
    assert found["Sales-Premium"]["members"] == 3
    assert found["Sales-Premium"]["grants"] == [{"plans": "Sales-Premium", "through": "its name"}]
    assert found["Sales-Premium"]["reason"] == ""
    assert found["Sales Premium"]["grants"] == []
    assert found["Sales Premium"]["reason"] == (
        "'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?; no rule names it"
    )
    assert found["Sales-Premium + Sales-Essentials"]["reason"] == (
        "'Sales-Premium + Sales-Essentials' names two tiers of Sales; no rule names it"
    )
    assert found["Engineering"]["reason"] == "not a plan name; no rule names it"
    assert found["Support"] == {
        "id": support["id"],
        "displayName": "Support",
        "externalId": None,
        "members": 0,
        "grants": [{"plans": "Service-Premium", "through": f"rule {added.json()['rule']['id']}"}],
        "reason": "not a plan name: grants only through rules",
    }
    page = ok(client, operator, f"/tenants/{tenant.tenant_id}/groups", count=2, startIndex=2)
    assert [g["displayName"] for g in page["groups"]] == ["Sales Premium", "Sales-Premium"]


def test_the_plan_catalog_lists_plans_features_and_combinations(setup):
    client, _, operator = setup
    body = ok(client, operator, "/plans")
    assert body["source"] == "the default license set"
    assert body["languages"] == ["en", "no", "de", "nl"]
    assert [plan["name"] for plan in body["plans"]][:2] == ["Sales-Essentials", "Sales-Premium"]
    assert [c["name"] for c in body["combinations"]] == [c.name for c in LISTED_COMBINATIONS]
    assert "t2" in body["plans"][1]["licenses"]
    dutch = ok(client, operator, "/plans", lang="nl")
    assert dutch["languages"] == ["nl"] and set(dutch["plans"][1]["features"]) == {"nl"}
    assert "Offertebeheer" in dutch["plans"][1]["features"]["nl"]


def test_a_tenants_plan_catalog_reads_its_license_set(setup):
    client, tenant, operator = setup
    body = ok(client, operator, f"/tenants/{tenant.tenant_id}/plans", lang="en")
    assert body["source"] == f"the license set of tenant {tenant.tenant_id!r}"
    assert all(plan["problem"] is None for plan in body["plans"])


def test_the_plan_catalog_refuses_an_unknown_language_and_no_token(setup):
    client, _, operator = setup
    response = get(client, operator, "/plans", lang="sv")
    assert response.status_code == 400
    assert response.json()["detail"] == "unknown lang 'sv'; one of en, no, de, nl"
    assert client.get("/admin/v1/plans").status_code == 401


def test_a_page_of_users_costs_the_same_statements_for_10_and_100_of_them(db, setup):
    client, tenant, operator = setup
    members = [tenant.user(f"user{i:03d}@example.com")["id"] for i in range(120)]
    tenant.group("Sales-Premium", members[:50])
    tenant.group("Engineering", members)
    path = f"/tenants/{tenant.tenant_id}/users"
    costs = []
    for count in (10, 100):
        with counted(db) as seen:
            page = users(client, operator, tenant, startIndex=2, count=count)
        assert len(page["users"]) == count
        assert page["users"][0]["groups"] == ["Engineering", "Sales-Premium"]
        assert len(set(seen)) == len(seen), f"a statement ran twice on {path}"
        costs.append(len(seen))
    assert costs[0] == costs[1] <= 6, costs


def test_a_page_of_groups_costs_the_same_statements_for_10_and_100_of_them(db, setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")["id"]
    for i in range(120):
        tenant.group(f"Team {i:03d}", [alice] if i % 2 else [])
    costs = []
    for count in (10, 100):
        with counted(db) as seen:
            page = ok(client, operator, f"/tenants/{tenant.tenant_id}/groups", count=count)
        assert [g["members"] for g in page["groups"][:2]] == [0, 1]
        assert len(set(seen)) == len(seen)
        costs.append(len(seen))
    assert costs[0] == costs[1] <= 5, costs
