"""The group use cases (RFC 7644 §3.3-§3.6): create, read, list, replace, patch,
delete; each runs in the caller's transaction (:class:`~scimsrv.services.transaction.Tx`).

Members are rows: a PATCH on ``members`` runs as SQL on them and never loads
the member list (docs/architecture.md). A write locks the group's row first, then the
users whose memberships (or group's name) changed, each of which gets a new
version, then recomputes their plans (:mod:`scimsrv.provisioning.recompute`)
when the group is named as plans or a rule names it. Each write names its
group and the users whose memberships changed in the journal of its audit
entry (:mod:`scimsrv.services.audit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from scim2_models import PatchOp

from scimsrv.provisioning.recompute import about_groups, recompute, subjects
from scimsrv.scim.documents import GroupColumns, group_body, group_document, weak_etag
from scimsrv.scim.errors import not_found
from scimsrv.scim.etags import check_if_match
from scimsrv.scim.patch import apply_patch, split_group_patch
from scimsrv.scim.rendering import as_model
from scimsrv.scim.schemas import GroupResource
from scimsrv.services.views import GroupView
from scimsrv.storage.listing import ListRequest, Page

RESOURCE = "Group"


def create_group(tx, resource: GroupResource) -> GroupView:
    """A new group with the members it names (RFC 7644 §3.3); 400
    ``invalidValue`` for a member that is not a user of the tenant."""
    columns, doc, members = group_document(resource)
    record = tx.storage.groups.create(columns, doc, tx.at)
    tx.journal.resource(RESOURCE, record.id, record.display_name)
    added = tx.storage.groups.add_members(record.id, members)
    tx.journal.membership_change(added=added)
    _members_changed(tx, added, [record])
    return _view(tx, record, True)


def get_group(tx, group_id: str, *, members: bool = True) -> GroupView:
    """The group (its members unless ``members`` is False); 404 when missing."""
    record = tx.storage.groups.read(group_id)
    if record is None:
        raise not_found(RESOURCE, group_id)
    return _view(tx, record, members)


def list_groups(tx, request: ListRequest, *, members: bool = True) -> Page[GroupView]:
    """A page of groups (RFC 7644 §3.4.2); ``members`` False reads no member row."""
    page = tx.storage.groups.page(request)
    listed = tx.storage.groups.members_of([r.id for r in page.rows]) if members else {}
    return dataclasses.replace(page, rows=[GroupView(r, listed.get(r.id)) for r in page.rows])


def replace_group(tx, group_id: str, resource: GroupResource, if_match: str | None) -> GroupView:
    """PUT (RFC 7644 §3.5.1): the whole group, members included, is replaced."""
    record = _locked(tx, group_id, if_match)
    columns, doc, members = group_document(resource)
    added, removed = tx.storage.groups.replace_members(group_id, members)
    tx.journal.membership_change(added=added, removed=removed)
    changed = {*added, *removed}
    updated = _write(tx, record, columns, doc, members_changed=bool(changed))
    _members_changed(tx, _affected(tx, record, updated, changed), [record, updated])
    return _view(tx, updated, True)


def patch_group(
    tx, group_id: str, patch: PatchOp, if_match: str | None, *, members: bool = False
) -> GroupView:
    """PATCH (RFC 7644 §3.5.2): attribute operations on the group read without
    its members, member operations as SQL; all or nothing. The view carries
    the members only when ``members`` asks for them."""
    split = split_group_patch(patch)
    record = _locked(tx, group_id, if_match)
    columns, doc = _columns(record), record.doc
    if split.touches_attributes:
        group = as_model(GroupResource, group_body(record, None))
        if apply_patch(split.attributes, group):
            columns, doc, _ = group_document(group)
    changed: set[str] = set()
    for change in split.members:
        added: list[str] = []
        removed: list[str] = []
        if change.op == "add":
            added = tx.storage.groups.add_members(group_id, change.ids or {})
        elif change.op == "remove":
            ids = None if change.ids is None else list(change.ids)
            removed = tx.storage.groups.remove_members(group_id, ids)
        else:
            added, removed = tx.storage.groups.replace_members(group_id, change.ids or {})
        tx.journal.membership_change(added=added, removed=removed)
        changed.update(added, removed)
    updated = _write(tx, record, columns, doc, members_changed=bool(changed))
    _members_changed(tx, _affected(tx, record, updated, changed), [record, updated])
    return _view(tx, updated, members)


def delete_group(tx, group_id: str, if_match: str | None) -> None:
    """DELETE (RFC 7644 §3.6): the group and its memberships; its members'
    plans are recomputed (their licenses released even when read-only)."""
    record = tx.storage.groups.read(group_id, lock="delete")
    if record is None:
        raise not_found(RESOURCE, group_id)
    check_if_match(if_match, weak_etag(record.version))
    tx.journal.resource(RESOURCE, record.id, record.display_name)
    members = tx.storage.groups.delete(record)
    tx.journal.membership_change(removed=members)
    _members_changed(tx, members, [record])


def _locked(tx, group_id: str, if_match: str | None):
    record = tx.storage.groups.read(group_id, lock="update")
    if record is None:
        raise not_found(RESOURCE, group_id)
    check_if_match(if_match, weak_etag(record.version))
    tx.journal.resource(RESOURCE, record.id, record.display_name)
    return record


def _columns(record) -> GroupColumns:
    return GroupColumns(record.display_name, record.external_id)


def _write(tx, record, columns: GroupColumns, doc: dict, *, members_changed: bool):
    """The group with its new attributes and, when anything changed, a new version."""
    if columns != _columns(record) or doc != record.doc:
        tx.journal.resource(RESOURCE, record.id, columns.display_name)
        return tx.storage.groups.replace(record, columns, doc, tx.at)
    if members_changed:
        return tx.storage.groups.bumped(record, tx.at)
    return record


def _affected(tx, before, after, changed: Iterable[str]) -> set[str]:
    """Users whose facts changed: members added or removed and, when the name
    or externalId (what rules match on) changed, every member."""
    affected = set(changed)
    if (before.display_name_ci, before.external_id) != (after.display_name_ci, after.external_id):
        affected.update(tx.storage.groups.member_ids(after.id))
    return affected


def _members_changed(tx, user_ids: Iterable[str], groups: Iterable) -> None:
    """New versions for these users (their ``groups`` changed), then their plans."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    touched = tx.storage.users.touch(ids, tx.at)
    tx.journal.membership(touched)
    relevance = about_groups((g.display_name, g.external_id) for g in groups)
    recompute(tx, subjects(touched), relevance=relevance)


def _view(tx, record, members: bool) -> GroupView:
    listed = tx.storage.groups.members_of([record.id]) if members else {}
    return GroupView(record, listed.get(record.id) if members else None)
