"""The group store: members as rows, idempotent add/remove returning the
users whose memberships changed, same-tenant members only."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event

from licensing_core.tables import Tenant
from scimsrv import storage as store
from scimsrv.scim.errors import ScimError
from scimsrv.storage import groups as group_store


@pytest.fixture
def tenant(db, tenant_id) -> str:
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, name="", registered=datetime.utcnow()))
    return tenant_id


def make_users(session, tenant, *names):
    return [store.create_user(session, tenant, {"userName": name}).id for name in names]


def test_create_group_with_members_reports_them_as_changed(db, tenant):
    with db.write() as session:
        a, b = make_users(session, tenant, "a", "b")
        change = store.create_group(
            session, tenant, {"displayName": "G", "members": [{"value": a}, {"value": b}]}
        )
        assert change.changed_user_ids == sorted([a, b])
        assert [m["value"] for m in store.list_members(session, tenant, change.group.id)] == sorted(
            [a, b]
        )


def test_display_name_is_unique_per_tenant_case_insensitively(db, tenant):
    with db.write() as session:
        store.create_group(session, tenant, {"displayName": "Sales"})
        with pytest.raises(ScimError) as caught:
            store.create_group(session, tenant, {"displayName": "SALES"})
        assert (caught.value.status, caught.value.scim_type) == (409, "uniqueness")


def test_entra_group_schema_urn_is_accepted(db, tenant):
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "displayName": "Entra",
        "externalId": "0f1e",
    }
    with db.write() as session:
        group = store.create_group(session, tenant, body).group
        assert store.group_to_resource(group)["externalId"] == "0f1e"


def test_adding_a_member_twice_changes_nothing_the_second_time(db, tenant):
    with db.write() as session:
        (a,) = make_users(session, tenant, "a")
        group = store.create_group(session, tenant, {"displayName": "G"}).group
        assert store.add_members(session, tenant, group.id, [a]) == [a]
        version = store.get_group(session, tenant, group.id).version
        assert store.add_members(session, tenant, group.id, [a, a]) == []
        session.expire_all()
        assert store.get_group(session, tenant, group.id).version == version


def test_removing_a_non_member_changes_nothing(db, tenant):
    with db.write() as session:
        a, b = make_users(session, tenant, "a", "b")
        group = store.create_group(session, tenant, {"displayName": "G", "members": [{"value": a}]})
        gid = group.group.id
        assert store.remove_members(session, tenant, gid, [b]) == []
        assert store.remove_members(session, tenant, gid, [a]) == [a]
        assert store.remove_members(session, tenant, gid, [a]) == []
        assert store.list_members(session, tenant, gid) == []


def test_member_change_bumps_the_group_version(db, tenant):
    with db.write() as session:
        (a,) = make_users(session, tenant, "a")
        gid = store.create_group(session, tenant, {"displayName": "G"}).group.id
        store.add_members(session, tenant, gid, [a])
        session.expire_all()
        assert store.get_group(session, tenant, gid).version == 2


def test_member_from_another_tenant_is_refused_and_nothing_is_added(db, tenant, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=datetime.utcnow()))
        session.flush()
        (theirs,) = make_users(session, other, "theirs")
        (mine,) = make_users(session, tenant, "mine")
        gid = store.create_group(session, tenant, {"displayName": "G"}).group.id
        with pytest.raises(ScimError) as caught:
            store.add_members(session, tenant, gid, [mine, theirs])
        assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
        assert store.list_members(session, tenant, gid) == []


def test_unknown_member_id_is_invalid_value(db, tenant):
    with db.write() as session:
        gid = store.create_group(session, tenant, {"displayName": "G"}).group.id
        with pytest.raises(ScimError) as caught:
            store.add_members(session, tenant, gid, ["no-such-user"])
        assert caught.value.scim_type == "invalidValue"


def test_nested_group_member_is_refused(db, tenant):
    with db.write() as session:
        inner = store.create_group(session, tenant, {"displayName": "Inner"}).group
        with pytest.raises(ScimError) as caught:
            store.create_group(
                session,
                tenant,
                {"displayName": "Outer", "members": [{"value": inner.id, "type": "Group"}]},
            )
        assert caught.value.scim_type == "invalidValue"


def test_replace_members_reports_added_and_removed_users(db, tenant):
    with db.write() as session:
        a, b, c = make_users(session, tenant, "a", "b", "c")
        gid = store.create_group(
            session, tenant, {"displayName": "G", "members": [{"value": a}, {"value": b}]}
        ).group.id
        assert store.replace_members(session, tenant, gid, [b, c]) == sorted([a, c])
        assert store.replace_members(session, tenant, gid, [c, b]) == []


def test_replace_group_keeps_members_when_asked(db, tenant):
    with db.write() as session:
        (a,) = make_users(session, tenant, "a")
        gid = store.create_group(session, tenant, {"displayName": "G", "members": [{"value": a}]})
        gid = gid.group.id
        change = store.replace_group(
            session, tenant, gid, {"displayName": "Renamed"}, keep_members=True
        )
        assert change.changed_user_ids == []
        assert [m["value"] for m in store.list_members(session, tenant, gid)] == [a]
        change = store.replace_group(session, tenant, gid, {"displayName": "Renamed"})
        assert change.changed_user_ids == [a]


def test_delete_group_returns_its_former_members(db, tenant):
    with db.write() as session:
        a, b = make_users(session, tenant, "a", "b")
        gid = store.create_group(
            session, tenant, {"displayName": "G", "members": [{"value": a}, {"value": b}]}
        ).group.id
        assert store.delete_group(session, tenant, gid) == sorted([a, b])
        assert store.find_group(session, tenant, gid) is None


def statements(db, action):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_adding_one_member_runs_the_same_statements_in_a_small_and_a_large_group(db, tenant):
    with db.write() as session:
        users = make_users(session, tenant, *[f"u{i}" for i in range(61)])
        small = store.create_group(session, tenant, {"displayName": "small"}).group.id
        large = store.create_group(session, tenant, {"displayName": "large"}).group.id
        store.add_members(session, tenant, small, users[:2])
        store.add_members(session, tenant, large, users[:60])
        newcomer = users[60]
        counts = []
        for gid in (small, large):
            seen = statements(db, lambda g=gid: store.add_members(session, tenant, g, [newcomer]))
            assert not any("SELECT group_member" in s for s in seen)
            counts.append(len(seen))
            seen = statements(
                db, lambda g=gid: store.remove_members(session, tenant, g, [newcomer])
            )
            counts.append(len(seen))
        assert counts[:2] == counts[2:]


def test_reading_a_group_without_members_never_touches_group_member(db, tenant):
    with db.write() as session:
        gid = store.create_group(session, tenant, {"displayName": "G"}).group.id
    with db.read() as session:
        seen = statements(
            db,
            lambda: store.group_to_resource(store.get_group(session, tenant, gid), members=None),
        )
        seen += statements(
            db,
            lambda: store.list_groups(
                session, tenant, store.ListRequest(filter='displayName eq "g"')
            ),
        )
    assert seen and not any("group_member" in s for s in seen)


def test_member_deleted_between_check_and_insert_is_400_not_a_crash(db, tenant, monkeypatch):
    with db.write() as session:
        group = store.create_group(session, tenant, {"displayName": "Race"}).group
        group_id = group.id
    # The user vanished after the existence check: what a concurrent DELETE does.
    monkeypatch.setattr(group_store, "_require_users", lambda *_args: None)
    with pytest.raises(ScimError) as error, db.write() as session:
        store.add_members(session, tenant, group_id, ["no-such-user"])
    assert (error.value.status, error.value.scim_type) == (400, "invalidValue")
    with db.read() as session:
        assert store.list_members(session, tenant, group_id) == []
