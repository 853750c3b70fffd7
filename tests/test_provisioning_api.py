"""Group-to-plan provisioning end to end over the SCIM API: the directory write and
the plan change commit together, and the licensing extension shows the result."""

from __future__ import annotations

import pytest

from tests.scim_client import LICENSING, Clock, live_tenant


@pytest.fixture
def scim(db, tenant_id):
    client, tenant = live_tenant(db, tenant_id, Clock(), seats=1)
    with client:
        yield tenant
    assert tenant.problems() == []


def test_member_added_to_a_plan_group_gets_the_plan_in_the_same_request(scim):
    alice = scim.user("alice@example.com")
    group = scim.group("Sales-Premium")
    scim.patch(
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"value": alice["id"]}]},
    )
    view = scim.licensing(alice["id"])
    assert view["state"] == "licensed"
    assert view["planCombination"] == "Sales-Premium"
    assert view["basePlans"] == ["Sales-Premium"]
    assert {"sales-premium", "user", "web"} <= set(view["licenses"])


def test_user_without_plans_shows_state_none(scim):
    alice = scim.user("alice@example.com")
    assert scim.licensing(alice["id"]) == {"state": "none"}


def test_seat_shortage_keeps_the_scim_write_and_marks_the_user_pending(scim):
    alice, bob = scim.user("alice@example.com"), scim.user("bob@example.com")
    group = scim.group("Service-Essentials", [alice["id"]])
    response = scim.request(
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}],
        },
    )
    assert response.status_code == 204
    view = scim.licensing(bob["id"])
    assert view["state"] == "pending"
    assert view["requestedPlans"] == "Service-Essentials"
    assert "no free seat" in view["reason"]


def test_pending_users_can_be_found_with_a_filter_on_the_extension(scim):
    alice, bob = scim.user("alice@example.com"), scim.user("bob@example.com")
    scim.group("Marketing-Premium", [alice["id"], bob["id"]])
    pending = scim.ok("GET", "/Users", filter=f'{LICENSING}:state eq "pending"')
    licensed = scim.ok("GET", "/Users", filter=f'{LICENSING}:basePlans eq "marketing-premium"')
    assert pending["totalResults"] == 1 and licensed["totalResults"] == 1
    assert {pending["Resources"][0]["id"], licensed["Resources"][0]["id"]} == {
        alice["id"],
        bob["id"],
    }
    nobody = scim.ok("GET", "/Users", filter=f'{LICENSING}:licenses eq "sales-premium"')
    assert nobody["totalResults"] == 0


def test_entra_deactivation_releases_everything_and_reactivation_restores(scim):
    alice = scim.user("alice@example.com")
    scim.group("Sales-Essentials", [alice["id"]])
    scim.patch(f"/Users/{alice['id']}", {"op": "Replace", "path": "active", "value": "False"})
    assert scim.licensing(alice["id"]) == {"state": "none"}
    scim.patch(f"/Users/{alice['id']}", {"op": "Replace", "path": "active", "value": "True"})
    assert scim.licensing(alice["id"])["planCombination"] == "Sales-Essentials"


def test_okta_deactivation_by_no_path_replace_frees_the_seat_for_a_waiting_user(scim):
    alice, bob = scim.user("alice@example.com"), scim.user("bob@example.com")
    scim.group("Sales-Premium", [alice["id"], bob["id"]])
    assert scim.licensing(bob["id"])["state"] == "pending"
    scim.patch(f"/Users/{alice['id']}", {"op": "replace", "value": {"active": False}})
    assert scim.licensing(bob["id"])["state"] == "licensed"


def test_deleting_a_licensed_user_releases_its_seat_and_leaves_no_link(scim):
    alice, bob = scim.user("alice@example.com"), scim.user("bob@example.com")
    scim.group("Service-Premium", [alice["id"], bob["id"]])
    assert scim.request("DELETE", f"/Users/{alice['id']}").status_code == 204
    assert scim.licensing(bob["id"])["state"] == "licensed"


def test_renaming_a_group_recomputes_its_members(scim):
    alice = scim.user("alice@example.com")
    group = scim.group("Engineering", [alice["id"]])
    scim.patch(
        f"/Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "Sales-Premium"}
    )
    assert scim.licensing(alice["id"])["planCombination"] == "Sales-Premium"


def test_deleting_a_group_releases_its_members_plans(scim):
    alice = scim.user("alice@example.com")
    group = scim.group("Sales-Premium", [alice["id"]])
    assert scim.request("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert scim.licensing(alice["id"]) == {"state": "none"}


def test_entra_app_role_named_as_a_plan_grants_it(scim):
    alice = scim.user(
        "alice@example.com",
        roles=[
            {
                "primary": False,
                "type": "WindowsAzureActiveDirectoryRole",
                "value": "Service-Premium",
            }
        ],
    )
    assert scim.licensing(alice["id"])["planCombination"] == "Service-Premium"


def test_licensing_extension_sent_by_a_client_is_ignored(scim):
    alice = scim.user(
        "alice@example.com",
        schemas=["urn:ietf:params:scim:schemas:core:2.0:User", LICENSING],
        **{LICENSING: {"state": "licensed", "planCombination": "Sales-Premium"}},
    )
    assert scim.licensing(alice["id"]) == {"state": "none"}


def test_after_grace_grants_wait_and_offboarding_still_releases(db, tenant_id):
    from datetime import timedelta

    from tests.licensing_helpers import NOW

    clock = Clock()
    client, scim = live_tenant(db, tenant_id, clock, grace_to=NOW + timedelta(days=1))
    with client:
        alice = scim.user("alice@example.com")
        bob = scim.user("bob@example.com")
        holders = scim.group("Service-Premium", [bob["id"]])
        group = scim.group("Engineering", [alice["id"]])
        clock.now = NOW + timedelta(days=2)
        # Read-only: the directory change is kept, the grant waits with the reason.
        scim.patch(
            f"/Groups/{group['id']}",
            {"op": "replace", "path": "displayName", "value": "Sales-Premium"},
        )
        assert scim.ok("GET", f"/Groups/{group['id']}")["displayName"] == "Sales-Premium"
        waiting = scim.licensing(alice["id"])
        assert waiting["state"] == "pending" and "license expired" in waiting["reason"]
        # Releases always go through: deactivating frees the seat.
        scim.patch(f"/Users/{bob['id']}", {"op": "replace", "path": "active", "value": False})
        assert scim.licensing(bob["id"]) == {"state": "none"}
        scim.patch(
            f"/Groups/{holders['id']}",
            {"op": "remove", "path": f'members[value eq "{bob["id"]}"]'},
        )
        scim.ok("DELETE", f"/Users/{bob['id']}")
        assert scim.problems() == []


def test_removing_active_leaves_it_unassigned_and_keeps_the_plans(scim):
    alice = scim.user("alice@example.com")
    scim.group("Sales-Premium", [alice["id"]])
    patched = scim.patch(f"/Users/{alice['id']}", {"op": "remove", "path": "active"})
    assert "active" not in patched
    assert "active" not in scim.ok("GET", f"/Users/{alice['id']}")
    assert scim.licensing(alice["id"])["state"] == "licensed"


def test_member_display_is_kept_as_sent_and_ref_points_at_the_user(scim):
    alice = scim.user("alice@example.com")
    group = scim.group("Support")
    scim.patch(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": alice["id"], "display": "Ally"}]},
    )
    [member] = scim.ok("GET", f"/Groups/{group['id']}")["members"]
    assert member["display"] == "Ally"
    assert member["$ref"] == scim.ok("GET", f"/Users/{alice['id']}")["meta"]["location"]
    assert member["type"] == "User"


@pytest.mark.parametrize("path", [LICENSING, f"{LICENSING}:state", f"{LICENSING}:basePlans"])
def test_patching_the_read_only_licensing_extension_is_400_mutability(scim, path):
    alice = scim.user("alice@example.com")
    response = scim.request(
        "PATCH",
        f"/Users/{alice['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": path, "value": {"state": "licensed"}}],
        },
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"
    assert scim.licensing(alice["id"]) == {"state": "none"}
