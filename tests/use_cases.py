"""Running use cases in tests as the command line does: the local operator, one
transaction, a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from scim2_models import Context

from scimsrv.scim.documents import group_document, user_document
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.scim.urns import PATCH_OP
from scimsrv.services.transaction import LOCAL, Service, Tx
from scimsrv.settings import Settings
from scimsrv.storage.filters import GROUPS, USERS
from scimsrv.storage.listing import ListRequest, Page, run_list
from scimsrv.storage.sql import SqlStorage
from tests.licensing_helpers import KEYRING, NOW

T = TypeVar("T")


def run(
    db,
    work: Callable[[Tx], T],
    tenant_id: str = "",
    *,
    at: datetime = NOW,
    write: bool = True,
    dry_run: bool = False,
) -> T:
    """``work`` in one transaction of ``db`` (rolled back when ``dry_run``), stamped ``at``."""
    service = Service(db, Settings(), clock=lambda: at)
    return service.run(
        work, caller=LOCAL, tenant_id=tenant_id, cause="test", write=write, dry_run=dry_run
    )


def user_resource(body: dict[str, Any]) -> Any:
    return parse_resource(body, UserResource, Context.RESOURCE_CREATION_REQUEST)


def group_resource(body: dict[str, Any]) -> Any:
    return parse_resource(body, GroupResource, Context.RESOURCE_CREATION_REQUEST)


def patch_op(model: type, *operations: dict) -> Any:
    return parse_patch({"schemas": [PATCH_OP], "Operations": list(operations)}, model)


def add_user(session, tenant_id: str, body: dict[str, Any], at: datetime = NOW) -> Any:
    """A user stored as the create use case stores it (no plans computed)."""
    columns, doc = user_document(user_resource(body), default_active=True)
    return SqlStorage(session, tenant_id).users.create(columns, doc, at)


def add_group(session, tenant_id: str, body: dict[str, Any], at: datetime = NOW) -> Any:
    """A group and its members stored as the create use case stores them."""
    columns, doc, members = group_document(group_resource(body))
    groups = SqlStorage(session, tenant_id).groups
    record = groups.create(columns, doc, at)
    groups.add_members(record.id, members)
    return record


def list_users(session, tenant_id: str, request: ListRequest, **options: Any) -> Page:
    return run_list(session, tenant_id, USERS, request, **options)


def list_groups(session, tenant_id: str, request: ListRequest, **options: Any) -> Page:
    return run_list(session, tenant_id, GROUPS, request, **options)


def tx_of(session, tenant_id: str = "", at: datetime = NOW) -> Tx:
    """A use case's view of a session a test already holds."""
    return Tx(session, tenant_id, at, "test", KEYRING, SqlStorage(session, tenant_id))
