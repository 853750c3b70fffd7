"""The user store: associates created with users, userName uniqueness,
versions, replace and delete, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from licensing_core.tables import Associate, Tenant
from scimsrv import storage as store
from scimsrv.scim.errors import ScimError
from scimsrv.storage.tables import GroupMember


@pytest.fixture
def tenant(db, tenant_id) -> str:
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, name="", registered=datetime.utcnow()))
    return tenant_id


def test_create_user_creates_its_associate_with_the_casefolded_login(db, tenant):
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "Øyvind@Example.NO"})
        associate = session.get(Associate, user.associate_id)
        assert associate.name == "øyvind@example.no"
        assert associate.user_name == "Øyvind@Example.NO"
        assert associate.deleted is False
        assert user.user_name_ci == "øyvind@example.no"


def test_user_name_is_unique_per_tenant_case_insensitively(db, tenant):
    with db.write() as session:
        store.create_user(session, tenant, {"userName": "Bob"})
    with db.write() as session:
        with pytest.raises(ScimError) as caught:
            store.create_user(session, tenant, {"userName": "BOB"})
        assert (caught.value.status, caught.value.scim_type) == (409, "uniqueness")
        # The caller's transaction is still usable after the refusal.
        store.create_user(session, tenant, {"userName": "carol"})


def test_same_user_name_is_allowed_in_two_tenants(db, tenant, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=datetime.utcnow()))
        session.flush()
        store.create_user(session, tenant, {"userName": "bob"})
        store.create_user(session, other, {"userName": "bob"})


def test_create_without_user_name_is_invalid_value(db, tenant):
    with db.write() as session, pytest.raises(ScimError) as caught:
        store.create_user(session, tenant, {"displayName": "nobody"})
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_password_and_groups_are_accepted_and_not_stored(db, tenant):
    with db.write() as session:
        user = store.create_user(
            session, tenant, {"userName": "okta", "password": "s3cret!", "groups": []}
        )
        resource = store.user_to_resource(user)
    assert "password" not in resource and "password" not in user.doc
    assert "groups" not in resource


def test_to_resource_has_meta_with_weak_etag_and_location(db, tenant):
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "u", "name": {"givenName": "G"}})
        resource = store.user_to_resource(user, base_url="https://h/t/x/scim/v2/")
    assert resource["id"] == user.id
    assert resource["name"] == {"givenName": "G"}
    assert resource["meta"]["version"] == 'W/"1"'
    assert resource["meta"]["resourceType"] == "User"
    assert resource["meta"]["location"] == f"https://h/t/x/scim/v2/Users/{user.id}"
    assert resource["meta"]["created"].endswith("Z")


def test_replace_bumps_version_and_keeps_associate_in_step(db, tenant):
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "old"})
        user_id = user.id
    with db.write() as session:
        replaced = store.replace_user(
            session, tenant, user_id, {"userName": "New", "active": False}, expected_version=1
        )
        assert replaced.version == 2
        associate = session.get(Associate, replaced.associate_id)
        assert (associate.name, associate.deleted) == ("new", True)


def test_replace_with_identical_attributes_keeps_the_version(db, tenant):
    with db.write() as session:
        body = {"userName": "same", "title": "x", "active": True}
        user = store.create_user(session, tenant, body)
        again = store.replace_user(session, tenant, user.id, body)
        assert again.version == 1


def test_replace_with_stale_version_is_refused(db, tenant):
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "v"})
        with pytest.raises(ScimError) as caught:
            store.replace_user(session, tenant, user.id, {"userName": "w"}, expected_version=7)
        assert caught.value.status == 412


def test_replace_onto_a_taken_user_name_is_a_conflict(db, tenant):
    with db.write() as session:
        store.create_user(session, tenant, {"userName": "taken"})
        user = store.create_user(session, tenant, {"userName": "free"})
        with pytest.raises(ScimError) as caught:
            store.replace_user(session, tenant, user.id, {"userName": "TAKEN"})
        assert caught.value.status == 409


def test_unknown_user_is_404(db, tenant):
    with db.read() as session, pytest.raises(ScimError) as caught:
        store.get_user(session, tenant, "00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 404


def test_another_tenants_user_is_404(db, tenant, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=datetime.utcnow()))
        session.flush()
        user = store.create_user(session, other, {"userName": "theirs"})
        with pytest.raises(ScimError) as caught:
            store.get_user(session, tenant, user.id)
        assert caught.value.status == 404


def test_delete_removes_memberships_runs_the_license_hook_then_the_associate(db, tenant):
    released: list[int] = []
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "gone"})
        store.create_group(session, tenant, {"displayName": "G", "members": [{"value": user.id}]})
        user_id, associate_id = user.id, user.associate_id

    def release(session, assoc_id):
        released.append(assoc_id)
        assert (
            session.scalar(
                select(func.count()).select_from(GroupMember).where(GroupMember.user_id == user_id)
            )
            == 0
        )

    with db.write() as session:
        assert store.delete_user(session, tenant, user_id, release_licenses=release) == associate_id
    assert released == [associate_id]
    with db.read() as session:
        assert store.find_user(session, tenant, user_id) is None
        assert session.get(Associate, associate_id) is None


def test_user_groups_lists_the_groups_holding_each_user(db, tenant):
    with db.write() as session:
        a = store.create_user(session, tenant, {"userName": "a"})
        b = store.create_user(session, tenant, {"userName": "b"})
        g = store.create_group(session, tenant, {"displayName": "G", "members": [{"value": a.id}]})
        groups = store.user_groups(session, tenant, [a.id, b.id])
    assert groups == {
        a.id: [{"value": g.group.id, "display": "G", "type": "direct"}],
        b.id: [],
    }


def test_email_addresses_in_directory_domains_are_kept_as_given(db, tenant):
    with db.write() as session:
        user = store.create_user(
            session,
            tenant,
            {"userName": "t", "emails": [{"value": "Test.User@okta.local", "type": "work"}]},
        )
        found = store.list_users(
            session,
            tenant,
            store.ListRequest(filter='emails[type eq "work"].value eq "test.user@okta.local"'),
        )
    assert store.user_to_resource(user)["emails"] == [
        {"value": "Test.User@okta.local", "type": "work"}
    ]
    assert [row.id for row in found.rows] == [user.id]


def test_replace_without_active_leaves_it_unassigned_and_the_user_not_retired(db, tenant):
    with db.write() as session:
        user = store.create_user(session, tenant, {"userName": "quiet"})
        assert user.active is True
        replaced = store.replace_user(session, tenant, user.id, {"userName": "quiet"})
        assert replaced.active is None
        assert "active" not in store.user_to_resource(replaced)
        associate = session.get(Associate, replaced.associate_id)
        assert associate.deleted is False
