"""Sorting and pagination in SQL: stable orders with an id tie-breaker,
startIndex/count pages and RFC 9865 cursors that cover every row once."""

from __future__ import annotations

from datetime import datetime

import pytest

from licensing_core.tables import Tenant
from scimsrv.scim.errors import ScimError
from scimsrv.storage.listing import ListRequest
from tests.use_cases import add_user, list_users

# Duplicated titles and missing ones, so the tie-breaker and nulls matter.
TITLES = ["b", "a", None, "B", "c", "a", None, "A", "c", "b", "a"]


@pytest.fixture
def users(db, tenant_id) -> dict[str, dict]:
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, name="", registered=datetime.utcnow()))
        session.flush()
        made = {}
        for i, title in enumerate(TITLES):
            body = {"userName": f"user{i:02d}"}
            if title is not None:
                body["title"] = title
            emails = [{"value": f"z{i}@x.com", "type": "home"}]
            if i % 3:
                emails.append({"value": f"{i:02d}@work.com", "type": "work", "primary": True})
            body["emails"] = emails
            user = add_user(session, tenant_id, body)
            made[user.id] = body
    return made


def all_pages(db, tenant_id, **request) -> list[list[str]]:
    pages, cursor = [], ""
    while cursor is not None:
        with db.read() as session:
            page = list_users(session, tenant_id, ListRequest(cursor=cursor, count=3, **request))
        pages.append([row.id for row in page.rows])
        cursor = page.next_cursor
    return pages


def full_order(db, tenant_id, **request) -> list[str]:
    with db.read() as session:
        return [row.id for row in list_users(session, tenant_id, ListRequest(**request)).rows]


def expected_order(users, descending=False):
    def key(item):
        user_id, body = item
        title = body.get("title")
        return (title is None, title.casefold() if title else "", user_id)

    with_titles = sorted((i for i in users.items() if "title" in i[1]), key=key, reverse=False)
    if descending:
        groups: dict[str, list[str]] = {}
        for user_id, body in with_titles:
            groups.setdefault(body["title"].casefold(), []).append(user_id)
        ordered = [u for title in sorted(groups, reverse=True) for u in sorted(groups[title])]
    else:
        ordered = [user_id for user_id, _ in with_titles]
    missing = sorted(user_id for user_id, body in users.items() if "title" not in body)
    return ordered + missing


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_sort_is_case_insensitive_with_missing_values_last_and_ties_by_id(
    db, tenant_id, users, order
):
    got = full_order(db, tenant_id, sort_by="title", sort_order=order)
    assert got == expected_order(users, descending=order == "descending")


def test_no_sort_by_orders_by_id(db, tenant_id, users):
    assert full_order(db, tenant_id) == sorted(users)


@pytest.mark.parametrize("sort_by", [None, "title", "userName", "meta.created", "emails"])
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_cursor_pages_cover_every_row_exactly_once_in_sort_order(
    db, tenant_id, users, sort_by, order
):
    pages = all_pages(db, tenant_id, sort_by=sort_by, sort_order=order)
    flat = [user_id for page in pages for user_id in page]
    assert flat == full_order(db, tenant_id, sort_by=sort_by, sort_order=order)
    assert sorted(flat) == sorted(users)
    assert all(len(page) == 3 for page in pages[:-1])


def test_cursor_pages_respect_the_filter(db, tenant_id, users):
    pages = all_pages(db, tenant_id, filter='title eq "a"', sort_by="title")
    flat = [user_id for page in pages for user_id in page]
    assert sorted(flat) == sorted(u for u, b in users.items() if b.get("title", "").lower() == "a")


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_start_index_pages_cover_every_row_exactly_once(db, tenant_id, users, order):
    seen = []
    start = 1
    while True:
        with db.read() as session:
            page = list_users(
                session,
                tenant_id,
                ListRequest(sort_by="title", sort_order=order, start_index=start, count=4),
            )
        assert page.total_results == len(users)
        assert page.start_index == start
        if not page.rows:
            break
        seen.extend(row.id for row in page.rows)
        start += len(page.rows)
    assert seen == full_order(db, tenant_id, sort_by="title", sort_order=order)


def test_multi_valued_sort_uses_the_primary_value_else_the_first(db, tenant_id, users):
    def sort_value(body):
        emails = body["emails"]
        primary = [e for e in emails if e.get("primary")]
        return (primary or emails)[0]["value"]

    expected = [u for u, _ in sorted(users.items(), key=lambda i: (sort_value(i[1]), i[0]))]
    assert full_order(db, tenant_id, sort_by="emails") == expected


def test_count_zero_returns_only_the_total(db, tenant_id, users):
    with db.read() as session:
        page = list_users(session, tenant_id, ListRequest(count=0))
    assert (page.rows, page.total_results) == ([], len(users))


def test_count_is_capped_by_max_count(db, tenant_id, users):
    with db.read() as session:
        page = list_users(session, tenant_id, ListRequest(count=500), max_count=5)
    assert len(page.rows) == 5


@pytest.mark.parametrize("sort_by", ["nope", "members", "groups", "name", "password"])
def test_unsortable_attribute_is_invalid_value(db, tenant_id, users, sort_by):
    with db.read() as session, pytest.raises(ScimError) as caught:
        list_users(session, tenant_id, ListRequest(sort_by=sort_by))
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_unknown_sort_order_is_invalid_value(db, tenant_id, users):
    with db.read() as session, pytest.raises(ScimError) as caught:
        list_users(session, tenant_id, ListRequest(sort_by="title", sort_order="up"))
    assert caught.value.scim_type == "invalidValue"


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ4IjoxfQ"])
def test_foreign_cursor_is_invalid_cursor(db, tenant_id, users, cursor):
    with db.read() as session, pytest.raises(ScimError) as caught:
        list_users(session, tenant_id, ListRequest(cursor=cursor))
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidCursor")


def test_cursor_for_another_sort_is_invalid_cursor(db, tenant_id, users):
    with db.read() as session:
        page = list_users(session, tenant_id, ListRequest(cursor="", count=2, sort_by="title"))
        with pytest.raises(ScimError) as caught:
            list_users(session, tenant_id, ListRequest(cursor=page.next_cursor, sort_by="userName"))
    assert caught.value.scim_type == "invalidCursor"
