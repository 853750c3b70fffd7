"""The SCIM resource models this service reads and writes, and the policy it reads them under.

The core User and Group of RFC 7643 §4 through scim2-models, with two local
choices: a User carries the enterprise extension (RFC 7643 §4.3), and an
e-mail value is any string rather than a deliverable address, because IdPs
send directory addresses such as ``user@corp.local`` that a mail validator
refuses.
"""

from __future__ import annotations

from typing import Annotated

import scim2_models
from pydantic import Field
from scim2_models import EnterpriseUser, Group, Reference, Required, ScimPolicy


class Email(scim2_models.Email):
    value: str | None = None


class Manager(scim2_models.Manager):
    # RFC 7643 §4.3 marks $ref required; Entra ID and Okta send the id alone.
    ref: Annotated[Reference["User"] | None, Required.false] = Field(  # noqa: F821, UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class Enterprise(EnterpriseUser):
    manager: Manager | None = None


class _User(scim2_models.User):
    emails: list[Email] | None = None


UserResource = _User[Enterprise]
GroupResource = Group

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# Entra ID lists this schema on the Groups it creates; it defines no attributes.
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
IGNORED_SCHEMAS = frozenset({ENTRA_GROUP_SCHEMA})

# What Entra ID and Okta send, accepted as DESIGN §4 requires: a remove whose
# value lists the members to remove, and an add or replace on a filtered path
# with no match (``emails[type eq "work"].value``) creating that entry.
# Undeclared attributes are still refused: a typo must not be dropped silently.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.forbid,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
