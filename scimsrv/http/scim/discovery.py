"""Service discovery endpoints (RFC 7644 §4; RFC 7643 §5-§7).

``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` describe
what this service really does: the schemas are generated from the very
scim2-models classes the resource endpoints parse with
(:mod:`scimsrv.scim.schemas`), so they cannot drift apart.

RFC 7644 §4 lets a service answer these anonymously; we choose not to: like
everything under a tenant base URL they sit behind the tenant's bearer token
(:mod:`scimsrv.http.auth`), so an unauthenticated caller cannot even learn that a
tenant exists.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    ListResponse,
    Pagination,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)
from scim2_models.resources.resource_type import SchemaExtension
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimsrv.http.bodies import MAX_PAYLOAD_BYTES, scim_response, tenant_base_url
from scimsrv.http.scim.bulk import MAX_OPERATIONS as BULK_MAX_OPERATIONS
from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    LICENSING_SCHEMA,
    USER_SCHEMA,
    GroupResource,
    UserResource,
)
from scimsrv.scim.search import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# Cursors are stateless keyset positions (scimsrv.storage.listing) that never
# expire, so promising an hour is true.
CURSOR_TIMEOUT_SECONDS = 3600

# The schema Entra ID lists on its Groups (resources.models.ENTRA_GROUP_SCHEMA)
# defines no attribute: the resource endpoints accept it as an alias of the
# core Group schema, and it is deliberately advertised nowhere here.

SERVICE_PROVIDER_CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(
        supported=True, max_operations=BULK_MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD_BYTES
    ),
    filter=Filter(supported=True, max_results=MAX_PAGE_SIZE),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=True),
    etag=ETag(supported=True),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="OAuth Bearer Token",
            description="A per-tenant bearer token issued with `scimsrv token issue`.",
            spec_uri="https://www.rfc-editor.org/info/rfc6750",
            primary=True,
        )
    ],
    # RFC 9865: cursor pagination next to RFC 7644 index pagination.
    pagination=Pagination(
        cursor=True,
        index=True,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=MAX_PAGE_SIZE,
        cursor_timeout=CURSOR_TIMEOUT_SECONDS,
    ),
)

USER_RESOURCE_TYPE = ResourceType(
    id="User",
    name="User",
    description="User Account",
    endpoint="/Users",
    schema_=USER_SCHEMA,
    schema_extensions=[
        SchemaExtension(schema_=ENTERPRISE_SCHEMA, required=False),
        SchemaExtension(schema_=LICENSING_SCHEMA, required=False),
    ],
)
GROUP_RESOURCE_TYPE = ResourceType(
    id="Group",
    name="Group",
    description="Group",
    endpoint="/Groups",
    schema_=GROUP_SCHEMA,
    schema_extensions=[],
)
RESOURCE_TYPES = (USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE)


def _schema_of(model: Any, name: str, description: str) -> Schema:
    """The schema of a model we parse with, under its RFC 7643 §8.7.1 name."""
    schema = model.to_schema()
    schema.name = name
    schema.description = description
    return schema


EXTENSION_NAMES = {
    ENTERPRISE_SCHEMA: ("EnterpriseUser", "Enterprise User"),
    LICENSING_SCHEMA: ("Licensing", "The CRM plans and licenses of the user (read-only)"),
}

SCHEMAS = (
    _schema_of(UserResource, "User", "User Account"),
    *(
        _schema_of(extension, *EXTENSION_NAMES[extension.__schema__])
        for extension in UserResource.__scim_extension_metadata__
    ),
    _schema_of(GroupResource, "Group", "Group"),
)


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


# Everything below is static; only meta.location depends on the request.
_CONFIG = _dump(SERVICE_PROVIDER_CONFIG)
_RESOURCE_TYPES = {str(rt.name): _dump(rt) for rt in RESOURCE_TYPES}
_SCHEMAS = {str(schema.id).casefold(): _dump(schema) for schema in SCHEMAS}


def _located(body: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    """A copy of ``body`` whose meta names its type and absolute location (RFC 7643 §3.1)."""
    return {**body, "meta": {"resourceType": resource_type, "location": location}}


def _list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [str(ListResponse.__schema__)],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _refuse_filter(request: Request) -> None:
    # RFC 7644 §4: a filter on a discovery endpoint SHOULD get 403, so that a
    # client cannot believe its conditions were applied.
    if "filter" in request.query_params:
        raise ScimError(403, "filtering is not supported on discovery endpoints")


def _resource_type(request: Request, name: str) -> dict[str, Any]:
    return _located(
        _RESOURCE_TYPES[name], "ResourceType", f"{tenant_base_url(request)}/ResourceTypes/{name}"
    )


def _schema(request: Request, key: str) -> dict[str, Any]:
    body = _SCHEMAS[key]
    return _located(body, "Schema", f"{tenant_base_url(request)}/Schemas/{body['id']}")


async def service_provider_config(request: Request) -> Response:
    """RFC 7644 §4 / RFC 7643 §5: what the service supports."""
    _refuse_filter(request)
    location = f"{tenant_base_url(request)}/ServiceProviderConfig"
    return scim_response(_located(_CONFIG, "ServiceProviderConfig", location))


async def resource_types(request: Request) -> Response:
    """RFC 7644 §4 / RFC 7643 §6: every resource type, as a ListResponse."""
    _refuse_filter(request)
    return scim_response(_list_response([_resource_type(request, n) for n in _RESOURCE_TYPES]))


async def resource_type(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _RESOURCE_TYPES:
        raise ScimError(404, f"no resource type {name!r}")
    return scim_response(_resource_type(request, name))


async def schemas(request: Request) -> Response:
    """RFC 7644 §4 / RFC 7643 §7: every schema, as a ListResponse."""
    _refuse_filter(request)
    return scim_response(_list_response([_schema(request, key) for key in _SCHEMAS]))


async def schema(request: Request) -> Response:
    urn = request.path_params["urn"]
    # URNs compare case-insensitively in their namespace part (RFC 8141 §3).
    if urn.casefold() not in _SCHEMAS:
        raise ScimError(404, f"no schema {urn!r}")
    return scim_response(_schema(request, urn.casefold()))


def discovery_routes() -> list[BaseRoute]:
    """Read-only routes relative to the tenant base; other methods answer 405."""
    return [
        Route("/ServiceProviderConfig", service_provider_config, methods=["GET"]),
        Route("/ResourceTypes", resource_types, methods=["GET"]),
        Route("/ResourceTypes/{name}", resource_type, methods=["GET"]),
        Route("/Schemas", schemas, methods=["GET"]),
        Route("/Schemas/{urn}", schema, methods=["GET"]),
    ]
