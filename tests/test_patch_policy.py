"""PATCH dialects (RFC 7644 §3.5.2, docs/identity-providers.md): what Entra ID
and Okta send is accepted, and a PATCH applies fully or leaves the stored
resource byte-identical."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from tests import test_users_api
from tests.test_users_api import ENTERPRISE, USER, assert_error, create_user, patch_body

api = test_users_api.api  # the fixture: a tenant's base URL on a test app


def patched(api, user_id: str, *operations, status: int = 200) -> dict:
    response = api.patch(f"/Users/{user_id}", patch_body(*operations))
    assert response.status_code == status, response.text
    return response.json()


# -- Entra ID default dialect ------------------------------------------------


def test_entra_capitalised_ops_are_accepted(api):
    user = create_user(api)
    body = patched(
        api,
        user["id"],
        {"op": "Replace", "path": "name.familyName", "value": "F"},
        {"op": "Add", "path": "title", "value": "T"},
        {"op": "Remove", "path": "title"},
    )
    assert body["name"]["familyName"] == "F" and "title" not in body


def test_entra_boolean_strings_are_read_as_booleans(api):
    user = create_user(api)
    assert (
        patched(api, user["id"], {"op": "Replace", "path": "active", "value": "False"})["active"]
        is False
    )
    assert (
        patched(api, user["id"], {"op": "Replace", "path": "active", "value": "True"})["active"]
        is True
    )


def test_entra_add_on_an_existing_single_value_replaces_it(api):
    user = create_user(api)
    body = patched(api, user["id"], {"op": "Add", "path": "name.givenName", "value": "Other"})
    assert body["name"]["givenName"] == "Other"


def test_entra_replace_of_filtered_email_value(api):
    user = create_user(api)
    body = patched(
        api,
        user["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
    )
    assert body["emails"] == [{"type": "work", "value": "new@example.com", "primary": True}]


def test_entra_add_to_a_filtered_path_that_does_not_exist_creates_the_entry(api):
    user = create_user(api, emails=None)
    body = patched(
        api,
        user["id"],
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@example.com"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+47 1"},
    )
    assert {"type": "work", "value": "w@example.com"} in body["emails"]
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "+47 1"}]


def test_entra_enterprise_extension_urn_paths(api):
    user = create_user(api)
    body = patched(
        api,
        user["id"],
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Sales"},
    )
    assert body[ENTERPRISE] == {"employeeNumber": "701984", "department": "Sales"}
    assert ENTERPRISE in body["schemas"]


def test_entra_manager_as_a_plain_string(api):
    user = create_user(api)
    body = patched(api, user["id"], {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "m1"})
    assert body[ENTERPRISE]["manager"]["value"] == "m1"
    body = patched(
        api,
        user["id"],
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "m2"}},
    )
    assert body[ENTERPRISE]["manager"]["value"] == "m2"


# -- Entra ID aadOptscim062020 (RFC-style) dialect ----------------------------


def test_rfc_dialect_no_path_replace_with_dotted_keys(api):
    user = create_user(api)
    body = patched(
        api,
        user["id"],
        {"op": "replace", "value": {"name.givenName": "X", "active": False, "displayName": "D"}},
    )
    assert body["name"]["givenName"] == "X" and body["active"] is False
    assert body["displayName"] == "D"


def test_rfc_dialect_no_path_replace_with_enterprise_keys(api):
    user = create_user(api)
    body = patched(
        api,
        user["id"],
        {
            "op": "replace",
            "value": {f"{ENTERPRISE}:costCenter": "CC1", f"{ENTERPRISE}:manager": "boss"},
        },
    )
    assert body[ENTERPRISE]["costCenter"] == "CC1"
    assert body[ENTERPRISE]["manager"]["value"] == "boss"


# -- Okta -------------------------------------------------------------------------


def test_okta_deactivate_is_a_no_path_replace_of_active(api):
    user = create_user(api)
    body = patched(api, user["id"], {"op": "replace", "value": {"active": False}})
    assert body["active"] is False


def test_okta_put_with_id_groups_meta_and_password(api):
    user = create_user(api)
    response = api.put(
        f"/Users/{user['id']}",
        {
            "schemas": [USER],
            "id": user["id"],
            "userName": user["userName"],
            "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
            "active": True,
            "groups": [],
            "password": "1mz050nq",
            "meta": {"resourceType": "User"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"]["middleName"] == "Excited"
    assert "password" not in response.text


# -- errors -----------------------------------------------------------------------


def test_unknown_op_is_400_invalid_value(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}", patch_body({"op": "frobnicate", "path": "title", "value": "x"})
    )
    assert_error(response, 400, "invalidValue")


def test_malformed_path_is_400_invalid_path(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}", patch_body({"op": "add", "path": "emails[type eq", "value": "x"})
    )
    assert_error(response, 400, "invalidPath")


def test_unknown_attribute_path_is_400_invalid_path(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}", patch_body({"op": "add", "path": "shoeSize", "value": "9"})
    )
    assert_error(response, 400, "invalidPath")


def test_replacing_id_is_400_mutability(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "path": "id", "value": "x"})
    )
    assert_error(response, 400, "mutability")


def test_remove_without_path_is_400_no_target(api):
    user = create_user(api)
    response = api.patch(f"/Users/{user['id']}", patch_body({"op": "remove"}))
    assert_error(response, 400, "noTarget")


def test_replace_of_filtered_path_with_a_non_eq_filter_and_no_match_is_400_no_target(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "replace", "path": 'emails[value sw "zzz"].type', "value": "home"}),
    )
    assert_error(response, 400, "noTarget")


def test_missing_operations_is_400(api):
    user = create_user(api)
    response = api.patch(
        f"/Users/{user['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    )
    assert_error(response, 400)


def test_a_failing_op_applies_none_of_the_ops(api):
    user = create_user(api)
    before = api.get(f"/Users/{user['id']}").content
    response = api.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "replace", "path": "displayName", "value": "first op"},
            {"op": "replace", "path": "active", "value": "not a boolean"},
        ),
    )
    assert_error(response, 400, "invalidValue")
    assert api.get(f"/Users/{user['id']}").content == before


# -- property: all or nothing ------------------------------------------------------

_paths = st.sampled_from(
    [
        "displayName",
        "title",
        "active",
        "name.givenName",
        "name",
        "userName",
        'emails[type eq "work"].value',
        'emails[type eq "home"]',
        "emails",
        f"{ENTERPRISE}:department",
        f"{ENTERPRISE}:manager",
        "id",
        "meta.version",
        "shoeSize",
        "groups",
        'emails[value sw "x"].type',
    ]
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["True", "False", "", "x@example.com", "plain"]),
    st.integers(-3, 3),
    st.just({"givenName": "G"}),
    st.just([{"type": "home", "value": "h@example.com"}]),
    st.just({"value": "boss"}),
)
_operations = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove"])},
        optional={"path": _paths, "value": _values},
    ),
    min_size=1,
    max_size=4,
)


@given(operations=_operations)
def test_patch_applies_fully_or_leaves_the_stored_user_byte_identical(api, operations):
    user = create_user(api, f"prop-{uuid.uuid4().hex[:10]}@example.com")
    before = api.get(f"/Users/{user['id']}")
    response = api.patch(f"/Users/{user['id']}", patch_body(*operations))
    after = api.get(f"/Users/{user['id']}")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert after.content == before.content
    else:
        assert response.status_code == 200
        assert response.json() == after.json()
