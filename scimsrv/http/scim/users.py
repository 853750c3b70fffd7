"""The /Users endpoints (RFC 7644 §3.3-§3.6): each write is one transaction.

The ``create``/``replace``/``patch``/``delete`` functions take a session and
a parsed body, so ``/Bulk`` runs exactly the same rules as the endpoints.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException
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
from scimsrv.http.scim.search import list_answer, query_users
from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import scim_error
from scimsrv.scim.patch import apply_patch, parse_patch
from scimsrv.scim.schemas import UserResource
from scimsrv.scim.search import (
    response_parameters,
    search_from_body,
    search_from_query,
)
from scimsrv.services.resources import UserStore, write_transaction

ENDPOINT = "Users"


def _found(store: UserStore, user_id: str) -> Any:
    user = store.get(user_id, lock=True)
    if user is None:
        raise ScimError(404, f"User {user_id} not found")
    return user


def create(session: Session, tenant_id: str, user: Any) -> Any:
    """RFC 7644 §3.3: a new user (and its CRM associate); 409 on a taken userName."""
    return UserStore(session, tenant_id).create(user)


def replace(
    session: Session, tenant_id: str, user_id: str, wanted: Any, if_match: str | None
) -> Any:
    """RFC 7644 §3.5.1: read-only attributes keep their values, immutable ones must match."""
    store = UserStore(session, tenant_id)
    current = _found(store, user_id)
    check_if_match(if_match, current)
    try:
        changed = wanted.replace(current)
    except (ValidationError, SCIMException) as exc:
        raise scim_error(exc) from exc
    if not changed:
        return current
    return store.replace(user_id, wanted)


def patch(
    session: Session, tenant_id: str, user_id: str, operations: PatchOp, if_match: str | None
) -> Any:
    """RFC 7644 §3.5.2: every operation applies, or none does."""
    store = UserStore(session, tenant_id)
    user = _found(store, user_id)
    check_if_match(if_match, user)
    if not apply_patch(operations, user):
        return user
    return store.replace(user_id, user)


def delete(session: Session, tenant_id: str, user_id: str, if_match: str | None) -> None:
    store = UserStore(session, tenant_id)
    check_if_match(if_match, _found(store, user_id))
    store.delete(user_id)


def _db(request: Request) -> Database:
    return request.app.state.db


def _tenant(request: Request) -> str:
    return request.state.tenant_id


async def get_endpoint(request: Request) -> Response:
    params = response_parameters(request, UserResource)
    user_id = request.path_params["id"]
    with _db(request).read() as session:
        user = UserStore(session, _tenant(request)).read(user_id)
    if user is None:
        raise ScimError(404, f"User {user_id} not found")
    return not_modified(request, user) or resource_response(
        request, user, ENDPOINT, params, Context.RESOURCE_QUERY_RESPONSE
    )


async def patch_endpoint(request: Request) -> Response:
    params = response_parameters(request, UserResource)
    operations = parse_patch(await read_json(request), UserResource)
    with write_transaction(request, f"{request.method} /Users") as session:
        user = patch(
            session,
            _tenant(request),
            request.path_params["id"],
            operations,
            request.headers.get("if-match"),
        )
    return resource_response(request, user, ENDPOINT, params, Context.RESOURCE_PATCH_RESPONSE)


async def list_endpoint(request: Request) -> Response:
    """RFC 7644 §3.4.2: no match is a 200 with an empty list, never a 404."""
    return list_answer(request, search_from_query(request, UserResource), query_users, ENDPOINT)


async def search_endpoint(request: Request) -> Response:
    """RFC 7644 §3.4.3: POST /Users/.search."""
    return list_answer(
        request, search_from_body(await read_json(request), UserResource), query_users, ENDPOINT
    )


create_endpoint = endpoints.create_endpoint(UserResource, ENDPOINT, create)
replace_endpoint = endpoints.replace_endpoint(UserResource, ENDPOINT, replace)
delete_endpoint = endpoints.delete_endpoint(ENDPOINT, delete)
