"""The user use cases (RFC 7644 §3.3-§3.6): create, read, list, replace, patch,
delete; each runs in the caller's transaction (:class:`~scimsrv.services.transaction.Tx`).

A write locks the user's row first (the locking protocol of
:mod:`scimsrv.provisioning.recompute`; after the groups it is in, when it may
change the name their ``members`` show it by, so they get a new version
too, RFC 7644 §3.14), and recomputes the user's plans only
when a fact they depend on changed (``active``, ``roles``; a new user when
rules or roles may give it plans). Each write names its user in the
journal of its audit entry (:mod:`scimsrv.services.audit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from scim2_models import PatchOp

from licensing_core.holdings import PlanView, plan_views
from licensing_core.verification import verify_tenant
from scimsrv.provisioning.recompute import Subject, for_new_users, recompute
from scimsrv.scim.documents import UserColumns, user_body, user_document, weak_etag
from scimsrv.scim.errors import not_found
from scimsrv.scim.etags import check_if_match
from scimsrv.scim.patch import apply_patch, may_touch
from scimsrv.scim.rendering import as_model
from scimsrv.scim.schemas import UserResource
from scimsrv.services.views import UserView
from scimsrv.storage.listing import ListRequest, Page

RESOURCE = "User"
# The attributes a group's members show a user by (its displayName, else its userName).
DISPLAYED = ("displayName", "userName")


def create_user(tx, resource: UserResource) -> UserView:
    """A new user and its CRM associate; 409 ``uniqueness`` when the userName
    is taken (RFC 7644 §3.3)."""
    columns, doc = user_document(resource, default_active=True)
    record = tx.storage.users.create(columns, doc, tx.at)
    tx.journal.resource(RESOURCE, record.id, record.user_name)
    subject = _subject(record, doc)
    outcomes = recompute(tx, [subject], relevance=for_new_users([subject]))
    plans = plan_views(tx.session, tx.tenant_id, [record.associate_id]) if outcomes else {}
    return UserView(record, [], working(tx, plans).get(record.associate_id, PlanView()))


def get_user(tx, user_id: str, *, groups: bool = True) -> UserView:
    """The user; 404 when the tenant has none with this id."""
    record = tx.storage.users.read(user_id)
    if record is None:
        raise not_found(RESOURCE, user_id)
    return _view(tx, record, groups)


def list_users(tx, request: ListRequest, *, groups: bool = True) -> Page[UserView]:
    """A page of users: filter, sort and pagination in SQL (RFC 7644 §3.4.2)."""
    page = tx.storage.users.page(request)
    found, plans = tx.storage.users.extras(page.rows, groups=groups)
    plans = working(tx, plans)
    views = [
        UserView(r, found.get(r.associate_id) if groups else None, plans[r.associate_id])
        for r in page.rows
    ]
    return dataclasses.replace(page, rows=views)


def replace_user(tx, user_id: str, resource: UserResource, if_match: str | None) -> UserView:
    """PUT (RFC 7644 §3.5.1): every attribute replaced; ``active`` left out is unassigned."""
    groups = _lock_groups(tx, user_id)
    record = _locked(tx, user_id, if_match)
    columns, doc = user_document(resource, default_active=None)
    return _write(tx, record, columns, doc, groups)


def patch_user(tx, user_id: str, patch: PatchOp, if_match: str | None) -> UserView:
    """PATCH (RFC 7644 §3.5.2): every operation applies, or none does."""
    groups = _lock_groups(tx, user_id) if may_touch(patch, DISPLAYED) else []
    record = _locked(tx, user_id, if_match)
    body = user_body(record, None, None, _version(record), record.last_modified)
    user = as_model(UserResource, body)
    if not apply_patch(patch, user):
        return _view(tx, record, True)
    columns, doc = user_document(user, default_active=None)
    return _write(tx, record, columns, doc, groups)


def delete_user(tx, user_id: str, if_match: str | None) -> None:
    """DELETE (RFC 7644 §3.6): the user, its memberships and its associate; its
    licenses are released first (always, even when licenses are read-only)."""
    tx.storage.groups.lock(tx.storage.users.group_ids_of(user_id))
    record = tx.storage.users.read(user_id, lock="delete")
    if record is None:
        raise not_found(RESOURCE, user_id)
    check_if_match(if_match, _version(record))
    tx.journal.resource(RESOURCE, record.id, record.user_name)
    recompute(tx, [], forget=[record.associate_id])
    left = tx.storage.users.delete(record)
    tx.storage.groups.bump(left, tx.at)


def _lock_groups(tx, user_id: str) -> list[str]:
    """Lock the groups the user is in, before the user (the protocol's order):
    a write that changes the name the user is shown by in their ``members``
    gives each a new version. :returns: their ids."""
    group_ids = tx.storage.users.group_ids_of(user_id)
    tx.storage.groups.lock(group_ids)
    return group_ids


def _locked(tx, user_id: str, if_match: str | None):
    record = tx.storage.users.read(user_id, lock="update")
    if record is None:
        raise not_found(RESOURCE, user_id)
    check_if_match(if_match, _version(record))
    tx.journal.resource(RESOURCE, record.id, record.user_name)
    return record


def _version(record) -> str:
    return weak_etag(record.version, record.plan_version)


def _write(tx, record, columns: UserColumns, doc: dict, groups: list[str]) -> UserView:
    """Store the user's new attributes; ``groups``: the groups locked for it,
    which get a new version when the name members show changes."""
    unchanged = doc == record.doc and columns == UserColumns(
        record.user_name, record.external_id, record.active, record.display_name
    )
    if unchanged:
        return _view(tx, record, True)
    updated = tx.storage.users.replace(record, columns, doc, tx.at)
    tx.journal.resource(RESOURCE, updated.id, updated.user_name)
    if _shown_as(updated) != _shown_as(record):
        tx.storage.groups.bump(groups, tx.at)
    # Plans depend on active and roles only (and on groups, which a user write leaves alone).
    if (columns.active is False) != (record.active is False) or doc.get("roles") != (
        record.doc.get("roles")
    ):
        recompute(tx, [_subject(updated, doc)])
    return _view(tx, updated, True)


def _shown_as(record) -> str:
    """The name a group's ``members`` show for the user when the client sent
    none (:func:`scimsrv.storage.groups.members_of`)."""
    return record.display_name or record.user_name


def _subject(record, doc: dict) -> Subject:
    return Subject(
        record.id, record.associate_id, record.active, doc.get("roles"), record.user_name
    )


def _view(tx, record, groups: bool) -> UserView:
    found, plans = tx.storage.users.extras([record], groups=groups)
    return UserView(
        record,
        found.get(record.associate_id) if groups else None,
        working(tx, plans)[record.associate_id],
    )


def working(tx, plans: Mapping[int, PlanView]) -> Mapping[int, PlanView]:
    """The plan views as they work now: a held license whose row fails
    verification stopped working for every holder at once (docs/licensing.md
    §5). One more query, only when a shown user holds licenses."""
    if not any(view.licenses for view in plans.values()):
        return plans
    problems = verify_tenant(tx.session, tx.tenant_id, tx.keyring).problems_by_module()
    if not problems:
        return plans
    return {assoc_id: view.with_failing_rows(problems) for assoc_id, view in plans.items()}
