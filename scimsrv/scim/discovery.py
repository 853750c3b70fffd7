"""The discovery documents (RFC 7644 §4; RFC 7643 §5-§7): what this service
really does.

The schemas are generated from the very scim2-models classes the resource
endpoints parse with (:mod:`scimsrv.scim.schemas`), so they cannot drift
apart. Everything is static but each document's ``meta.location``, which
depends on the base URL the client used.

The schema Entra ID lists on its Groups (``ENTRA_GROUP_SCHEMA``) defines no
attribute: the resource endpoints accept it as an alias of the core Group
schema, and it is deliberately advertised nowhere here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Mutability,
    Pagination,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)
from scim2_models.resources.resource_type import SchemaExtension

from scimsrv.scim.bulk import MAX_OPERATIONS, MAX_PAYLOAD_BYTES
from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.scim.search import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from scimsrv.scim.urns import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    LICENSING_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
)
from scimsrv.scim.values import COLUMN_LENGTH, MAX_VALUES

# Cursors are stateless keyset positions (scimsrv.storage.listing) that never
# expire, so promising an hour is true.
CURSOR_TIMEOUT_SECONDS = 3600

SERVICE_PROVIDER_CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD_BYTES),
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


# Attributes kept in columns: RFC 7643 has no maxLength, so the limit is said
# in their description (scimsrv.scim.values); names also kept casefolded
# meet it after case folding too.
_BOUNDED = {"username", "externalid", "displayname"}
_FOLDED = {("User", "userName"), ("Group", "displayName")}
_FOLDING_NOTE = " (also after case folding: ß counts as ss)"
# The multi-valued attribute a client writes without the MAX_VALUES cap.
_UNCOUNTED = "members"
_GROUP_NOTE = " Names need not be unique: two groups may share one."


def _schema_of(model: Any, name: str, description: str) -> Schema:
    """The schema of a model we parse with, under its RFC 7643 §8.7.1 name, the
    limits of this service said in the attributes' descriptions."""
    schema = model.to_schema()
    schema.name = name
    schema.description = description
    for attribute in schema.attributes or ():
        if attribute.name.lower() in _BOUNDED:
            folding = _FOLDING_NOTE if (name, attribute.name) in _FOLDED else ""
            attribute.description = (
                f"{(attribute.description or '').strip()} "
                f"At most {COLUMN_LENGTH} characters{folding}."
            )
        written = attribute.mutability != Mutability.read_only
        if attribute.multi_valued and written and attribute.name != _UNCOUNTED:
            attribute.description = (
                f"{(attribute.description or '').strip()} At most {MAX_VALUES} values."
            )
        if name == "Group" and attribute.name == "displayName":
            attribute.description += _GROUP_NOTE
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
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def service_provider_config(base_url: str) -> dict[str, Any]:
    """RFC 7643 §5: what the service supports."""
    return _located(_CONFIG, "ServiceProviderConfig", f"{base_url}/ServiceProviderConfig")


def resource_type(base_url: str, name: str) -> dict[str, Any]:
    """RFC 7643 §6; 404 for an unknown name."""
    if name not in _RESOURCE_TYPES:
        raise ScimError(404, f"no resource type {name!r}")
    return _located(_RESOURCE_TYPES[name], "ResourceType", f"{base_url}/ResourceTypes/{name}")


def resource_types(base_url: str) -> dict[str, Any]:
    """Every resource type, as a ListResponse."""
    return _list_response([resource_type(base_url, name) for name in _RESOURCE_TYPES])


def schema(base_url: str, urn: str) -> dict[str, Any]:
    """RFC 7643 §7; URNs compare case-insensitively in their namespace part (RFC 8141 §3)."""
    body = _SCHEMAS.get(urn.casefold())
    if body is None:
        raise ScimError(404, f"no schema {urn!r}")
    return _located(body, "Schema", f"{base_url}/Schemas/{body['id']}")


def schemas(base_url: str) -> dict[str, Any]:
    """Every schema, as a ListResponse."""
    return _list_response([schema(base_url, key) for key in _SCHEMAS])


def refuse_filter(query: Mapping[str, str]) -> None:
    """RFC 7644 §4: a filter on a discovery endpoint SHOULD get 403, so that a
    client cannot believe its conditions were applied."""
    if "filter" in query:
        raise ScimError(403, "filtering is not supported on discovery endpoints")
