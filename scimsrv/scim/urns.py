"""Every schema URN and endpoint name the service speaks, in one place (RFC
7643 §3, §8.7; RFC 7644 §3)."""

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# The read-only extension that shows what the CRM made of a user's groups.
LICENSING_SCHEMA = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
# Entra ID lists this schema on the Groups it creates; it defines no attributes.
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# The endpoints below a tenant's base URL (RFC 7644 §3.2), in their canonical case.
ENDPOINTS = ("Users", "Groups", "Bulk", "ServiceProviderConfig", "ResourceTypes", "Schemas")
_CANONICAL = {name.lower(): name for name in ENDPOINTS}


def endpoint_name(text: str) -> str | None:
    """The endpoint ``text`` names whatever its case (several clients send
    ``users``), in its canonical case; None when it names none."""
    return _CANONICAL.get(text.lower())
