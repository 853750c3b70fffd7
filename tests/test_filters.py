"""SCIM filters run in the database: every operator, value paths, URNs, case
rules and invalid filters, on SQLite and PostgreSQL (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest

from licensing_core.tables import Tenant
from scimsrv.scim.errors import ScimError
from scimsrv.storage.listing import ListRequest
from tests.use_cases import add_group, add_user, list_groups, list_users

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

PEOPLE = {
    "alice": {
        "userName": "Alice@Example.com",
        "externalId": "ext-A",
        "displayName": "Alice Ås",
        "nickName": "al_100%",
        "title": "Engineer",
        "name": {"givenName": "Alice", "familyName": "Ås"},
        "emails": [
            {"value": "alice@work.com", "type": "work", "primary": True},
            {"value": "alice@home.org", "type": "home"},
        ],
        ENTERPRISE: {"employeeNumber": "100", "manager": {"value": "m-1"}},
    },
    "bob": {
        "userName": "bob",
        "externalId": "EXT-B",
        "displayName": "Bob",
        "active": False,
        "title": "engineer manager",
        "name": {"givenName": "Bob", "familyName": "Builder"},
        "emails": [{"value": "bob@home.org", "type": "home", "primary": True}],
        ENTERPRISE: {"employeeNumber": "200"},
    },
    "carol": {
        "userName": "Carol",
        "nickName": "c100",
        "emails": [{"value": "carol@work.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "300", "manager": {"value": "m-2"}},
    },
    "dave": {"userName": "dave.x"},
}
CREATED = {
    "alice": datetime(2024, 1, 1),
    "bob": datetime(2024, 2, 1),
    "carol": datetime(2024, 3, 1),
    "dave": datetime(2024, 4, 1),
}
GROUPS = {"Sales": ["alice", "bob"], "Support": ["carol"], "Empty": []}


@dataclass
class World:
    tenant_id: str
    ids: dict[str, str]  # name -> SCIM id, users and groups
    other_tenant_id: str


def add_tenant(session, tenant_id: str) -> None:
    session.add(Tenant(tenant_id=tenant_id, name="", registered=datetime.utcnow()))
    session.flush()


@pytest.fixture(scope="module")
def world(db) -> World:
    """A fixed tenant of 4 users and 3 groups, plus a second tenant holding a
    look-alike of every user, built once per backend."""
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    other = f"t-{uuid.uuid4().hex[:10]}"
    ids: dict[str, str] = {}
    with db.write() as session:
        add_tenant(session, tenant_id)
        add_tenant(session, other)
        for name, attributes in PEOPLE.items():
            ids[name] = add_user(session, tenant_id, attributes, CREATED[name]).id
            add_user(session, other, attributes, CREATED[name])
        for group, members in GROUPS.items():
            body = {"displayName": group, "externalId": f"g-{group}"}
            body["members"] = [{"value": ids[member]} for member in members]
            ids[group] = add_group(session, tenant_id, body).id
            add_group(session, other, {"displayName": group})
    return World(tenant_id, ids, other)


def user_names(db, world: World, text: str) -> set[str]:
    by_id = {value: key for key, value in world.ids.items()}
    with db.read() as session:
        page = list_users(session, world.tenant_id, ListRequest(filter=text))
        assert page.total_results == len(page.rows)
        return {by_id[row.id] for row in page.rows}


def group_names(db, world: World, text: str) -> set[str]:
    by_id = {value: key for key, value in world.ids.items()}
    with db.read() as session:
        page = list_groups(session, world.tenant_id, ListRequest(filter=text))
        return {by_id[row.id] for row in page.rows}


ALL = {"alice", "bob", "carol", "dave"}

USER_FILTERS = [
    # userName: not caseExact, served by the casefolded column
    ('userName eq "alice@example.com"', {"alice"}),
    ('UserName EQ "ALICE@EXAMPLE.COM"', {"alice"}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BOB"', {"bob"}),
    ('userName eq "c47e5f6e-8b3e-4e8e-9f3c-1d2a3b4c5d6e"', set()),
    ('userName ne "bob"', {"alice", "carol", "dave"}),
    ('userName co "A"', {"alice", "carol", "dave"}),
    ('userName sw "c"', {"carol"}),
    ('userName ew ".X"', {"dave"}),
    ('userName gt "carol"', {"dave"}),
    ('userName ge "carol"', {"carol", "dave"}),
    ('userName lt "bob"', {"alice"}),
    ('userName le "BOB"', {"alice", "bob"}),
    # externalId and id: caseExact
    ('externalId eq "ext-A"', {"alice"}),
    ('externalId eq "EXT-A"', set()),
    ('externalId sw "EXT"', {"bob"}),
    ('externalId co "xt-"', {"alice"}),
    ("externalId pr", {"alice", "bob"}),
    ("externalId eq null", {"carol", "dave"}),
    ('id eq "{alice}"', {"alice"}),
    ('id eq "{alice}" or id eq "{dave}"', {"alice", "dave"}),
    # booleans, Entra's string booleans included
    ("active eq true", {"alice", "carol", "dave"}),
    ("active eq false", {"bob"}),
    ('active eq "True"', {"alice", "carol", "dave"}),
    ("active ne true", {"bob"}),
    # strings in JSON, case-insensitive, non-ASCII letters folded
    ('displayName eq "bob"', {"bob"}),
    ('displayName eq "ALICE ÅS"', {"alice"}),
    ('name.familyName eq "ås"', {"alice"}),
    ('name.givenName sw "b"', {"bob"}),
    ("name pr", {"alice", "bob"}),
    ('title co "ENGINEER"', {"alice", "bob"}),
    ('title eq "engineer"', {"alice"}),
    ('nickName co "_100%"', {"alice"}),
    ('nickName co "%"', {"alice"}),
    ('nickName ew "100"', {"carol"}),
    # multi-valued attributes: any value matches; ne means no value equals
    ('emails co "WORK.com"', {"alice", "carol"}),
    ('emails.value ew "home.org"', {"alice", "bob"}),
    ('emails.type eq "work"', {"alice", "carol"}),
    ("emails.primary eq true", {"alice", "bob"}),
    ("emails pr", {"alice", "bob", "carol"}),
    ('emails ne "bob@home.org"', {"alice", "carol", "dave"}),
    # value paths
    ('emails[type eq "work"]', {"alice", "carol"}),
    ('emails[type eq "work" and primary eq true]', {"alice"}),
    ('emails[type eq "work" and primary eq true].value eq "alice@work.com"', {"alice"}),
    ('emails[type eq "work"].value eq "alice@home.org"', set()),
    ('emails[type eq "home"].value co "BOB"', {"bob"}),
    ('emails[type eq "work" or type eq "home"]', {"alice", "bob", "carol"}),
    ('emails[not (type eq "work")]', {"alice", "bob"}),
    ('EMAILS[TYPE eq "work"]', {"alice", "carol"}),
    # enterprise extension by URN
    (f'{ENTERPRISE}:employeeNumber eq "200"', {"bob"}),
    (f'{ENTERPRISE}:employeeNumber gt "150"', {"bob", "carol"}),
    (f'{ENTERPRISE}:manager.value eq "m-1"', {"alice"}),
    (f"{ENTERPRISE}:manager pr", {"alice", "carol"}),
    (f'{ENTERPRISE.upper()}:EMPLOYEENUMBER eq "300"', {"carol"}),
    # meta dates
    ('meta.created gt "2024-02-01T00:00:00Z"', {"carol", "dave"}),
    ('meta.created ge "2024-02-01T00:00:00Z"', {"bob", "carol", "dave"}),
    ('meta.created le "2024-02-01T00:00:00Z"', {"alice", "bob"}),
    ('meta.created eq "2024-03-01T00:00:00Z"', {"carol"}),
    ('meta.lastModified lt "2024-01-01T01:30:00+01:00"', {"alice"}),
    ('meta.resourceType eq "User"', ALL),
    # memberships (read-only groups attribute)
    ('groups eq "{Sales}"', {"alice", "bob"}),
    ('groups[display eq "SALES"]', {"alice", "bob"}),
    ("groups pr", {"alice", "bob", "carol"}),
    # logic and parentheses
    ('userName eq "nobody" or active eq false', {"bob"}),
    ('active eq true and (emails.type eq "work" or title pr)', {"alice", "carol"}),
    ("not (active eq true and emails pr)", {"bob", "dave"}),
    ('not(userName eq "bob")', {"alice", "carol", "dave"}),
    ("not (title pr)", {"carol", "dave"}),
    ('userName pr and not (emails[type eq "home"])', {"carol", "dave"}),
]


@pytest.mark.parametrize(("text", "expected"), USER_FILTERS, ids=[f for f, _ in USER_FILTERS])
def test_user_filter_returns_exactly_the_matching_users(db, world, text, expected):
    assert user_names(db, world, text.format(**world.ids)) == expected


GROUP_FILTERS = [
    ('displayName eq "sales"', {"Sales"}),
    ('displayName sw "S"', {"Sales", "Support"}),
    ('externalId eq "g-Sales"', {"Sales"}),
    ('externalId eq "G-SALES"', set()),
    ('members eq "{alice}"', {"Sales"}),
    ('members.value eq "{carol}"', {"Support"}),
    ('members[value eq "{bob}"]', {"Sales"}),
    ("members pr", {"Sales", "Support"}),
    ("not (members pr)", {"Empty"}),
    ('members.display co "ali"', {"Sales"}),
    ('members ne "{alice}"', {"Support", "Empty"}),
    ('meta.resourceType eq "Group"', {"Sales", "Support", "Empty"}),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_FILTERS, ids=[f for f, _ in GROUP_FILTERS])
def test_group_filter_returns_exactly_the_matching_groups(db, world, text, expected):
    assert group_names(db, world, text.format(**world.ids)) == expected


INVALID = [
    "userName eq",
    'userName eq "x" and',
    'emails[type eq "work"',
    '(userName eq "x"',
    'foo eq "x"',
    'name.nope eq "x"',
    'urn:ietf:params:scim:schemas:extension:foo:2.0:User:x eq "1"',
    "active gt true",
    'active co "t"',
    'active eq "maybe"',
    'meta.created gt "yesterday"',
    'meta.created co "2024"',
    'password eq "secret"',
    'userName[value eq "x"]',
    'name eq "x"',
    'emails[nope eq "x"]',
    'userName eq "x" garbage',
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filter_is_a_400_invalid_filter(db, world, text):
    with pytest.raises(ScimError) as caught:
        user_names(db, world, text)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"
    assert caught.value.detail


def test_filter_never_returns_another_tenants_users(db, world):
    with db.read() as session:
        for tenant in (world.tenant_id, world.other_tenant_id):
            page = list_users(session, tenant, ListRequest(filter="userName pr"))
            assert len(page.rows) == 4
            assert {row.tenant_id for row in page.rows} == {tenant}
    assert user_names(db, world, 'userName eq "bob"') == {"bob"}


def test_membership_filter_never_sees_another_tenants_groups(db, world):
    with db.read() as session:
        page = list_users(
            session, world.other_tenant_id, ListRequest(filter=f'groups eq "{world.ids["Sales"]}"')
        )
    assert page.rows == []
