"""The SCIM resource models this service reads and writes, and the policy it reads them under.

The core User and Group of RFC 7643 §4 through scim2-models, with three local
choices: a User carries the enterprise extension (RFC 7643 §4.3) and the
read-only licensing extension (the plans and licenses the CRM gave the user);
an e-mail value is any string rather than a deliverable address, because IdPs
send directory addresses such as ``user@corp.local`` that a mail validator
refuses. Storage, filters, endpoints and discovery all use these models.
"""

from __future__ import annotations

from typing import Annotated

import scim2_models
from pydantic import Field
from scim2_models import (
    URN,
    EnterpriseUser,
    Extension,
    Group,
    Mutability,
    Reference,
    Required,
    ScimPolicy,
)

from scimsrv.scim.urns import ENTRA_GROUP_SCHEMA, LICENSING_SCHEMA


class Email(scim2_models.Email):
    value: str | None = None


class Manager(scim2_models.Manager):
    # RFC 7643 §4.3 marks $ref required; Entra ID and Okta send the id alone.
    ref: Annotated[Reference["User"] | None, Required.false] = Field(  # noqa: F821, UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class Enterprise(EnterpriseUser):
    manager: Manager | None = None


class Licensing(Extension):
    """What the CRM made of the user's groups and roles (read-only, RFC 7643 §7).

    ``state`` is ``licensed`` (holds every plan asked for), ``pending``
    (waiting for seats; ``reason`` says which plan and why) or ``none``.
    """

    __schema__ = URN(LICENSING_SCHEMA)

    plan_combination: Annotated[str | None, Mutability.read_only] = None
    """The plans granted, as the CRM displays them: ``Sales-Premium + Service-Essentials``."""

    requested_plans: Annotated[str | None, Mutability.read_only] = None
    """The plans the user's groups, roles and the tenant's rules ask for."""

    base_plans: Annotated[list[str] | None, Mutability.read_only] = None
    """The granted base plans, e.g. ``["Sales-Premium", "Service-Essentials"]``."""

    licenses: Annotated[list[str] | None, Mutability.read_only] = None
    """Code names of every license held: plan modules and the hidden licenses they imply."""

    state: Annotated[str | None, Mutability.read_only] = None
    """``licensed``, ``pending`` or ``none``."""

    reason: Annotated[str | None, Mutability.read_only] = None
    """Why a requested plan is not granted (pending users only)."""


class _User(scim2_models.User):
    emails: list[Email] | None = None


UserResource = _User[Enterprise | Licensing]
GroupResource = Group

IGNORED_SCHEMAS = frozenset({ENTRA_GROUP_SCHEMA})

# What Entra ID and Okta send, accepted as docs/identity-providers.md describes: a remove whose
# value lists the members to remove, and an add or replace on a filtered path
# with no match (``emails[type eq "work"].value``) creating that entry.
# Undeclared attributes are still refused: a typo must not be dropped silently.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.forbid,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
