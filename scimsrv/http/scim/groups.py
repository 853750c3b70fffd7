"""The /Groups endpoints (RFC 7644 §3.3-§3.6): each write is one transaction.

Members are rows: a PATCH on ``members`` runs as SQL on them and never loads
the member list, and a request that leaves ``members`` out of its response
(``excludedAttributes=members``, as Entra ID asks) never reads it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException, SearchRequest
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from licensing_core.db import Database
from scimsrv.http.bodies import read_json
from scimsrv.http.scim import endpoints
from scimsrv.http.scim.rendering import (
    check_if_match,
    not_modified,
    resource_response,
)
from scimsrv.http.scim.search import list_answer, query_groups
from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import scim_error
from scimsrv.scim.patch import apply_patch, parse_patch, split_group_patch
from scimsrv.scim.schemas import GroupResource
from scimsrv.scim.search import (
    excludes,
    response_parameters,
    search_from_body,
    search_from_query,
)
from scimsrv.services.resources import GroupStore, write_transaction

ENDPOINT = "Groups"


def _found(store: GroupStore, group_id: str, members: bool) -> Any:
    group = store.get(group_id, members=members, lock=True)
    if group is None:
        raise ScimError(404, f"Group {group_id} not found")
    return group


def create(session: Session, tenant_id: str, group: Any) -> Any:
    """RFC 7644 §3.3; displayName unique per tenant, members users of the tenant."""
    return GroupStore(session, tenant_id).create(group)


def replace(
    session: Session, tenant_id: str, group_id: str, wanted: Any, if_match: str | None
) -> Any:
    """RFC 7644 §3.5.1: the whole group, members included, is replaced."""
    store = GroupStore(session, tenant_id)
    current = _found(store, group_id, members=False)
    check_if_match(if_match, current)
    try:
        wanted.replace(current)
    except (ValidationError, SCIMException) as exc:
        raise scim_error(exc) from exc
    return store.replace(group_id, wanted, members=True)


def patch(
    session: Session,
    tenant_id: str,
    group_id: str,
    operations: PatchOp,
    if_match: str | None,
    with_members: bool = False,
) -> Any:
    """RFC 7644 §3.5.2: attribute operations on the loaded group (members not
    loaded), member operations as SQL; all in the caller's transaction."""
    plan = split_group_patch(operations)
    store = GroupStore(session, tenant_id)
    # Member operations need only the version (If-Match, ETag): the group
    # becomes a scim2-models resource only for attribute operations.
    group: Any = store.read(group_id, lock=True)
    if group is None:
        raise ScimError(404, f"Group {group_id} not found")
    check_if_match(if_match, group)
    if plan.touches_attributes:
        group = group.model()
        if apply_patch(plan.attributes, group):
            group = store.replace(group_id, group, members=False)
    for change in plan.members:
        if change.op == "add":
            store.add_members(group_id, change.ids or ())
        elif change.op == "remove":
            store.remove_members(group_id, change.ids)
        else:
            store.replace_members(group_id, change.ids or ())
    if with_members:
        group = store.get(group_id, members=True)
    elif plan.members:
        group = store.read(group_id)
    return group


def delete(session: Session, tenant_id: str, group_id: str, if_match: str | None) -> None:
    store = GroupStore(session, tenant_id)
    check_if_match(if_match, _found(store, group_id, members=False))
    store.delete(group_id)


def _db(request: Request) -> Database:
    return request.app.state.db


def _tenant(request: Request) -> str:
    return request.state.tenant_id


def _requested(params: SearchRequest) -> bool:
    return bool(params.attributes or params.excluded_attributes)


async def get_endpoint(request: Request) -> Response:
    params = response_parameters(request, GroupResource)
    group_id = request.path_params["id"]
    with _db(request).read() as session:
        group = GroupStore(session, _tenant(request)).get(
            group_id, members=not excludes(params, "members")
        )
    if group is None:
        raise ScimError(404, f"Group {group_id} not found")
    return not_modified(request, group) or resource_response(
        request, group, ENDPOINT, params, Context.RESOURCE_QUERY_RESPONSE
    )


async def patch_endpoint(request: Request) -> Response:
    """204 unless the client asks for attributes (Entra ID: returning every
    member is not advisable); the ETag header carries the new version."""
    params = response_parameters(request, GroupResource)
    operations = parse_patch(await read_json(request), GroupResource)
    wanted = _requested(params)
    with write_transaction(request, f"{request.method} /Groups") as session:
        group = patch(
            session,
            _tenant(request),
            request.path_params["id"],
            operations,
            request.headers.get("if-match"),
            with_members=wanted and not excludes(params, "members"),
        )
    if wanted:
        return resource_response(request, group, ENDPOINT, params, Context.RESOURCE_PATCH_RESPONSE)
    version = group.meta.version if group.meta else None
    return Response(status_code=204, headers={"ETag": version} if version else None)


async def list_endpoint(request: Request) -> Response:
    return list_answer(request, search_from_query(request, GroupResource), query_groups, ENDPOINT)


async def search_endpoint(request: Request) -> Response:
    return list_answer(
        request, search_from_body(await read_json(request), GroupResource), query_groups, ENDPOINT
    )


create_endpoint = endpoints.create_endpoint(GroupResource, ENDPOINT, create)
replace_endpoint = endpoints.replace_endpoint(GroupResource, ENDPOINT, replace)
delete_endpoint = endpoints.delete_endpoint(ENDPOINT, delete)
