"""The storage contract: what every :class:`~scimsrv.storage.protocol.Storage`
implementation must do, run against each one on SQLite and PostgreSQL.

The use cases rely on exactly this: users come with their CRM associate and a
case-insensitively unique userName, versions move with every change, member
changes touch only the rows that change, locks and deletes keep memberships
consistent, tokens are found by hash only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from licensing_core.tables import Associate, Tenant
from scimsrv.scim.documents import GroupColumns, UserColumns
from scimsrv.scim.errors import ScimError
from scimsrv.storage.listing import ListRequest
from scimsrv.storage.sql import SqlStorage

NOW = datetime(2026, 11, 30, 9, 0, 0)
LATER = NOW + timedelta(minutes=5)
IMPLEMENTATIONS = {"sql": SqlStorage}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def storage_of(request, db, tenant_id):
    """``storage_of(session, tenant=None)``: the implementation under test."""
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, name="", registered=NOW))
    implementation = IMPLEMENTATIONS[request.param]
    return lambda session, tenant=tenant_id: implementation(session, tenant)


def user(name: str, active: bool | None = True, display: str | None = None) -> UserColumns:
    return UserColumns(user_name=name, external_id=None, active=active, display_name=display)


def group(name: str, external_id: str | None = None) -> GroupColumns:
    return GroupColumns(display_name=name, external_id=external_id)


def statements(db, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


# --------------------------------------------------------------------------- users


def test_a_user_comes_with_its_associate_and_casefolded_login(db, storage_of, tenant_id):
    with db.write() as session:
        created = storage_of(session).users.create(user("Øyvind@Example.NO"), {}, NOW)
        associate = session.get(Associate, (tenant_id, created.associate_id))
        read = storage_of(session).users.read(created.id)
    assert (associate.name, associate.user_name, associate.deleted) == (
        "øyvind@example.no",
        "Øyvind@Example.NO",
        False,
    )
    assert (read.user_name, read.user_name_ci, read.version, read.plan_version) == (
        "Øyvind@Example.NO",
        "øyvind@example.no",
        1,
        0,
    )


def test_user_name_is_unique_per_tenant_case_insensitively(db, storage_of):
    with db.write() as session:
        storage_of(session).users.create(user("Bob"), {}, NOW)
    with db.write() as session:
        with pytest.raises(ScimError) as caught:
            storage_of(session).users.create(user("BOB"), {}, NOW)
        assert (caught.value.status, caught.value.scim_type) == (409, "uniqueness")
        # The transaction is still usable after the refusal.
        storage_of(session).users.create(user("carol"), {}, NOW)


def test_same_user_name_is_allowed_in_two_tenants(db, storage_of, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=NOW))
        session.flush()
        storage_of(session).users.create(user("bob"), {}, NOW)
        storage_of(session, other).users.create(user("bob"), {}, NOW)


def test_a_crm_login_made_outside_scim_holds_its_name(db, storage_of, tenant_id):
    with db.write() as session:
        session.add(Associate(tenant_id=tenant_id, name="admin", user_name="admin", registered=NOW))
    with db.write() as session, pytest.raises(ScimError) as caught:
        storage_of(session).users.create(user("Admin"), {}, NOW)
    assert caught.value.status == 409


def test_replace_bumps_the_version_and_keeps_the_associate_in_step(db, storage_of, tenant_id):
    with db.write() as session:
        created = storage_of(session).users.create(user("old"), {"title": "a"}, NOW)
    with db.write() as session:
        users = storage_of(session).users
        replaced = users.replace(users.read(created.id), user("New", False), {"title": "b"}, LATER)
        assert (replaced.version, replaced.last_modified, replaced.doc) == (
            2,
            LATER,
            {"title": "b"},
        )
        associate = session.get(Associate, (tenant_id, replaced.associate_id))
        assert (associate.name, associate.deleted) == ("new", True)
    with db.read() as session:
        assert storage_of(session).users.read(created.id).version == 2


def test_replace_onto_a_taken_user_name_is_a_conflict(db, storage_of):
    with db.write() as session:
        users = storage_of(session).users
        users.create(user("taken"), {}, NOW)
        free = users.create(user("free"), {}, NOW)
        with pytest.raises(ScimError) as caught:
            users.replace(users.read(free.id), user("TAKEN"), {}, LATER)
        assert caught.value.status == 409


def test_a_missing_or_other_tenants_user_reads_as_none(db, storage_of, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=NOW))
        session.flush()
        theirs = storage_of(session, other).users.create(user("theirs"), {}, NOW)
        assert storage_of(session).users.read(theirs.id) is None
        assert storage_of(session).users.read("00000000-0000-4000-8000-000000000000") is None
        assert storage_of(session).users.read(theirs.id, lock="update") is None


def test_deleting_a_user_removes_its_memberships_and_associate(db, storage_of, tenant_id):
    with db.write() as session:
        store = storage_of(session)
        gone = store.users.create(user("gone"), {}, NOW)
        kept = store.groups.create(group("G"), {}, NOW)
        store.groups.add_members(kept.id, {gone.id: None})
    with db.write() as session:
        store = storage_of(session)
        assert store.users.group_ids_of(gone.id) == [kept.id]
        assert store.users.delete(store.users.read(gone.id, lock="delete")) == [kept.id]
    with db.read() as session:
        store = storage_of(session)
        assert store.users.read(gone.id) is None
        assert session.get(Associate, (tenant_id, gone.associate_id)) is None
        assert store.groups.member_ids(kept.id) == []


def test_touch_bumps_versions_and_returns_what_a_recompute_needs(db, storage_of):
    with db.write() as session:
        users = storage_of(session).users
        a = users.create(user("a"), {"roles": [{"value": "Sales-Premium"}]}, NOW)
        b = users.create(user("b", None), {}, NOW)
    with db.write() as session:
        touched = storage_of(session).users.touch([b.id, a.id, b.id], LATER)
    assert [(t.id, t.active, t.roles, t.user_name) for t in touched] == sorted(
        [(a.id, True, [{"value": "Sales-Premium"}], "a"), (b.id, None, None, "b")]
    )
    with db.read() as session:
        again = storage_of(session).users.read(a.id)
    assert (again.version, again.last_modified) == (2, LATER)


def test_facts_after_walks_every_user_in_id_order(db, storage_of):
    with db.write() as session:
        users = storage_of(session).users
        ids = sorted(users.create(user(f"u{i}"), {}, NOW).id for i in range(5))
    with db.read() as session:
        users = storage_of(session).users
        first = users.facts_after("", 3)
        rest = users.facts_after(first[-1].id, 3)
    assert [f.id for f in first + rest] == ids


def test_extras_are_each_users_groups_and_plan_view(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        a = store.users.create(user("a"), {}, NOW)
        b = store.users.create(user("b"), {}, NOW)
        g = store.groups.create(group("Sales"), {}, NOW)
        store.groups.add_members(g.id, {a.id: None})
    with db.read() as session:
        users = storage_of(session).users
        found, plans = users.extras([users.read(a.id), users.read(b.id)], groups=True)
        skipped, _ = users.extras([users.read(a.id)], groups=False)
    assert found == {
        a.associate_id: [{"value": g.id, "display": "Sales", "type": "direct"}],
        b.associate_id: [],
    }
    assert plans[a.associate_id].state == "none" and plans[b.associate_id].licenses == ()
    assert skipped == {a.associate_id: []}


# --------------------------------------------------------------------------- groups


def test_two_groups_may_share_a_display_name(db, storage_of):
    with db.write() as session:
        groups = storage_of(session).groups
        one = groups.create(group("Support"), {}, NOW)
        two = groups.create(group("SUPPORT"), {}, NOW)
    assert one.id != two.id


def test_adding_a_member_twice_changes_nothing_the_second_time(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        u = store.users.create(user("u"), {}, NOW)
        g = store.groups.create(group("G"), {}, NOW)
        assert store.groups.add_members(g.id, {u.id: "U"}) == [u.id]
        assert store.groups.add_members(g.id, {u.id: None}) == []
        assert store.groups.members_of([g.id])[g.id] == [
            {"value": u.id, "display": "U", "type": "User"}
        ]


def test_removing_members_reports_only_who_was_a_member(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        u, v = (store.users.create(user(n), {}, NOW) for n in "uv")
        g = store.groups.create(group("G"), {}, NOW)
        store.groups.add_members(g.id, {u.id: None})
        assert store.groups.remove_members(g.id, [v.id]) == []
        assert store.groups.remove_members(g.id, [u.id, u.id]) == [u.id]
        store.groups.add_members(g.id, {u.id: None, v.id: None})
        assert store.groups.remove_members(g.id, None) == sorted([u.id, v.id])


def test_an_unknown_or_other_tenants_member_is_invalid_value(db, storage_of, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=NOW))
        session.flush()
        theirs = storage_of(session, other).users.create(user("theirs"), {}, NOW)
        g = storage_of(session).groups.create(group("G"), {}, NOW)
    for member in (theirs.id, "no-such-user"):
        with db.write() as session, pytest.raises(ScimError) as caught:
            storage_of(session).groups.add_members(g.id, {member: None})
        assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_replace_members_reports_added_and_removed_users(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        a, b, c = (store.users.create(user(n), {}, NOW) for n in "abc")
        g = store.groups.create(group("G"), {}, NOW)
        store.groups.add_members(g.id, {a.id: None, b.id: None})
        added, removed = store.groups.replace_members(g.id, {b.id: None, c.id: None})
        assert (added, removed) == ([c.id], [a.id])
        assert sorted(store.groups.member_ids(g.id)) == sorted([b.id, c.id])


def test_replace_and_bump_give_a_group_new_versions(db, storage_of):
    with db.write() as session:
        groups = storage_of(session).groups
        g = groups.create(group("G"), {}, NOW)
        renamed = groups.replace(groups.read(g.id, lock="update"), group("H", "x"), {}, LATER)
        bumped = groups.bumped(renamed, LATER)
    with db.read() as session:
        stored = storage_of(session).groups.read(g.id)
    assert (renamed.version, bumped.version, stored.version) == (2, 3, 3)
    assert (stored.display_name, stored.display_name_ci, stored.external_id) == ("H", "h", "x")


def test_deleting_a_group_returns_its_former_members(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        a, b = (store.users.create(user(n), {}, NOW) for n in "ab")
        g = store.groups.create(group("G"), {}, NOW)
        store.groups.add_members(g.id, {a.id: None, b.id: None})
        assert store.groups.delete(store.groups.read(g.id, lock="delete")) == sorted([a.id, b.id])
        assert store.groups.read(g.id) is None
        assert store.users.group_ids_of(a.id) == []


def test_memberships_name_each_users_groups_for_the_rules(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        a = store.users.create(user("a"), {}, NOW)
        g = store.groups.create(group("Sales", "ext-1"), {}, NOW)
        store.groups.add_members(g.id, {a.id: None})
        assert store.groups.memberships([a.id]) == {a.id: [("Sales", "ext-1")]}


def test_member_counts_count_each_groups_members_and_zero_for_none(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        a, b = (store.users.create(user(name), {}, NOW) for name in ("a", "b"))
        two, empty = (store.groups.create(group(name), {}, NOW) for name in ("Two", "Empty"))
        store.groups.add_members(two.id, {a.id: None, b.id: None})
        assert store.groups.member_counts([two.id, empty.id]) == {two.id: 2, empty.id: 0}


def test_adding_one_member_costs_the_same_in_a_small_and_a_large_group(db, storage_of):
    with db.write() as session:
        store = storage_of(session)
        users = [store.users.create(user(f"u{i}"), {}, NOW).id for i in range(61)]
        small = store.groups.create(group("small"), {}, NOW).id
        large = store.groups.create(group("large"), {}, NOW).id
        store.groups.add_members(small, dict.fromkeys(users[:2]))
        store.groups.add_members(large, dict.fromkeys(users[:60]))
        counts = []
        for gid in (small, large):
            seen = statements(db, lambda g=gid: store.groups.add_members(g, {users[60]: None}))
            assert not any("SELECT group_member" in s for s in seen)
            counts.append(len(seen))
            counts.append(
                len(statements(db, lambda g=gid: store.groups.remove_members(g, [users[60]])))
            )
        assert counts[:2] == counts[2:]


def test_pages_of_groups_never_read_memberships(db, storage_of):
    with db.write() as session:
        storage_of(session).groups.create(group("G"), {}, NOW)
    with db.read() as session:
        groups = storage_of(session).groups
        seen = statements(db, lambda: groups.page(ListRequest(filter='displayName eq "g"')))
    assert seen and not any("group_member" in s for s in seen)


def test_user_pages_filter_sort_and_count_in_the_database(db, storage_of):
    with db.write() as session:
        users = storage_of(session).users
        for name in ("carol", "alice", "bob"):
            users.create(user(name), {"title": name.upper()}, NOW)
    with db.read() as session:
        users = storage_of(session).users
        page = users.page(ListRequest(sort_by="userName", count=2))
        match = users.page(ListRequest(filter='title eq "BOB"'))
    assert [r.user_name for r in page.rows] == ["alice", "bob"] and page.total_results == 3
    assert [r.user_name for r in match.rows] == ["bob"] and match.total_results == 1


# --------------------------------------------------------------------------- tokens and rules


def test_tokens_are_found_by_hash_and_listed_per_owner(db, storage_of, tenant_id):
    with db.write() as session:
        tokens = storage_of(session).tokens
        tokens.insert(tenant_id, "a" * 64, "scimsrv_aaaa", "entra", NOW)
        tokens.insert(None, "b" * 64, "scimsrv_bbbb", "ops", NOW)
    with db.write() as session:
        tokens = storage_of(session).tokens
        found = tokens.by_hash("a" * 64)
        assert (found.tenant_id, found.revoked) == (tenant_id, None)
        assert tokens.by_hash("c" * 64) is None
        [mine] = tokens.listed(tenant_id)
        assert mine.label == "entra"
        assert "scimsrv_bbbb" in [ops.prefix for ops in tokens.listed(None)]
        assert tokens.live_matching(tenant_id, "scimsrv_aaaa") == [mine]
        tokens.revoke(mine.id, LATER)
        assert tokens.live_matching(tenant_id, str(mine.id)) == []
        assert tokens.by_hash("a" * 64).revoked == LATER


def test_rules_come_back_in_position_order_with_the_tenant_lock(db, storage_of, tenant_id):
    from scimsrv.storage.plans import Lock
    from scimsrv.storage.tables import PlanRule

    with db.write() as session:
        rules = storage_of(session).rules
        rows = []
        for position, scope in enumerate(["all", "in-group"], start=1):
            rule = PlanRule(
                tenant_id=tenant_id,
                position=position,
                scope=scope,
                target="G" if scope == "in-group" else "",
                plans="Sales-Premium",
                created=NOW,
                updated=NOW,
            )
            rules.add(rule)
            rows.append(rule)
        rules.save(list(reversed(rows)), NOW)
    with db.write() as session:
        for lock in Lock:
            read = storage_of(session).rules.lock_with_rules(lock)
            assert [(r.position, r.scope) for r in read] == [(1, "in-group"), (2, "all")]
        assert [r.scope for r in storage_of(session).rules.rows()] == ["in-group", "all"]


def test_locking_an_unknown_tenant_is_unknown_tenant(db, storage_of):
    from licensing_core.errors import UnknownTenant
    from scimsrv.storage.plans import Lock

    with db.write() as session, pytest.raises(UnknownTenant):
        storage_of(session, "no-such-tenant").rules.lock_with_rules(Lock.PLANS)


def test_reads_do_not_see_other_tenants_rows(db, storage_of, tenant_id):
    other = tenant_id + "-b"
    with db.write() as session:
        session.add(Tenant(tenant_id=other, name="", registered=NOW))
        session.flush()
        theirs = storage_of(session, other)
        u = theirs.users.create(user("u"), {}, NOW)
        g = theirs.groups.create(group("G"), {}, NOW)
        theirs.groups.add_members(g.id, {u.id: None})
    with db.read() as session:
        mine = storage_of(session)
        assert mine.users.page(ListRequest()).total_results == 0
        assert mine.groups.read(g.id) is None
        assert mine.groups.memberships([u.id]) == {}
        assert (
            session.execute(select(Associate).where(Associate.tenant_id == tenant_id)).all() == []
        )


# --------------------------------------------------------------------------- audit log


def test_audit_entries_append_in_one_statement_and_read_newest_first(db, storage_of, tenant_id):
    from scimsrv.storage.audit import Query

    def entry(minutes: int, keys: list[str]) -> dict:
        return {
            "at": NOW + timedelta(minutes=minutes),
            "actor": "cli test",
            "request": {"command": "scimsrv test"},
            "status": None,
            "error": None,
            "changes": {"n": minutes},
            "user_keys": keys,
        }

    with db.write() as session:
        other = tenant_id + "-b"
        session.add(Tenant(tenant_id=other, name="", registered=NOW))
        session.flush()
        storage_of(session, other).audit.append(entry(0, ["ann"]))
        audit = storage_of(session).audit
        seen = statements(db, lambda: audit.append(entry(1, ["ann", "u-1"])))
        assert len(seen) == 1
        for minutes in (2, 3):
            audit.append(entry(minutes, ["bo"]))
        alice = storage_of(session).users.create(user("Ann"), {}, NOW)
    with db.read() as session:
        audit = storage_of(session).audit
        newest = audit.entries(Query())
        assert [e.changes["n"] for e in newest] == [3, 2, 1]
        assert newest[0].id > newest[1].id > newest[2].id
        assert audit.count(Query()) == 3
        assert audit.user_keys("ANN") == {"ann", alice.id}
        ann = Query(user_keys=tuple(audit.user_keys("ANN")))
        assert [e.changes["n"] for e in audit.entries(ann)] == [1]
        window = Query(since=NOW + timedelta(minutes=2), until=NOW + timedelta(minutes=3))
        assert [e.changes["n"] for e in audit.entries(window)] == [2]
        below = Query(before=newest[0].id, offset=1, limit=1)
        assert [e.changes["n"] for e in audit.entries(below)] == [1]
