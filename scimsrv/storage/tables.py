"""scimsrv's own tables, on the licensing core's metadata: SCIM users, groups and
group memberships, API tokens, plan rules and the audit log.

Attributes that filters hit on every provisioning cycle (``id``,
``userName``, ``externalId``, ``displayName``, ``active``, ``meta`` dates)
are columns with tenant-leading indexes; every other attribute stays in
``doc``, the rest of the resource as JSON (JSONB on PostgreSQL), keyed by
the canonical SCIM attribute names so filters can address it
(:mod:`scimsrv.storage.filters`). Memberships are rows, never a JSON list, so a
member change costs the same in any group size. All timestamps are naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from licensing_core.tables import Base, next_id

Document = JSON().with_variant(JSONB(), "postgresql")

# uuid4 in its canonical 36-character form.
ScimId = String(36)


class ScimUser(Base):
    """A SCIM User (RFC 7643 §4.1); each one is exactly one CRM associate.

    ``user_name_ci`` is ``userName.casefold()``: userName is not caseExact,
    so uniqueness and ``eq`` lookups use this column and its index.
    """

    __tablename__ = "scim_user"

    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenant.tenant_id", ondelete="CASCADE")
    )
    id: Mapped[str] = mapped_column("scim_user_id", ScimId)
    associate_id: Mapped[int] = mapped_column(Integer)
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_ci: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # None when unassigned (a PATCH removed it); only False retires the user.
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_modified: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "scim_user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "associate_id"],
            ["associate.tenant_id", "associate.associate_id"],
        ),
        UniqueConstraint("tenant_id", "user_name_ci"),
        UniqueConstraint("tenant_id", "associate_id"),
        Index("ix_scim_user_tenant_external_id", "tenant_id", "external_id"),
        Index("ix_scim_user_tenant_created", "tenant_id", "created"),
        Index("ix_scim_user_tenant_last_modified", "tenant_id", "last_modified"),
    )


class ScimGroup(Base):
    """A SCIM Group (RFC 7643 §4.2); ``display_name_ci`` (casefolded) serves
    Entra's ``displayName eq``. Names need not be unique (RFC 7643 §4.2
    advertises uniqueness ``none``)."""

    __tablename__ = "scim_group"

    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenant.tenant_id", ondelete="CASCADE")
    )
    id: Mapped[str] = mapped_column("scim_group_id", ScimId)
    display_name: Mapped[str] = mapped_column(String(255))
    display_name_ci: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    doc: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_modified: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "scim_group_id"),
        # Not unique: Entra ID lets two groups share a displayName.
        Index("ix_scim_group_tenant_display_name_ci", "tenant_id", "display_name_ci"),
        Index("ix_scim_group_tenant_external_id", "tenant_id", "external_id"),
        Index("ix_scim_group_tenant_created", "tenant_id", "created"),
        Index("ix_scim_group_tenant_last_modified", "tenant_id", "last_modified"),
    )


class GroupMember(Base):
    """One user in one group. The primary key serves "is U in G" and the
    ``(tenant_id, user_id, group_id)`` index serves "U's groups"."""

    __tablename__ = "group_member"

    tenant_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(ScimId)
    user_id: Mapped[str] = mapped_column(ScimId)
    # The member's "display" as the client sent it; the user's name when None.
    display: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "group_id", "user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["scim_group.tenant_id", "scim_group.scim_group_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["scim_user.tenant_id", "scim_user.scim_user_id"],
            ondelete="CASCADE",
        ),
        # Covering (group_id too): "U's groups" is an index-only lookup, and
        # SQLite, which has no statistics unless someone runs ANALYZE, picks
        # it over scanning every membership of the tenant.
        Index("ix_group_member_tenant_user", "tenant_id", "user_id", "group_id"),
    )


metadata = Base.metadata


class ApiToken(Base):
    """A bearer token, stored only as the SHA-256 of its secret: a tenant's
    (SCIM API of that tenant) or, with no tenant, an operator's (admin API).

    Tokens are 256-bit random strings, so a fast hash is enough: there is
    nothing to brute-force. ``prefix`` (the first characters) lets an
    operator tell tokens apart in ``token list`` without revealing them.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column("token_id", Integer, primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenant.tenant_id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("token_hash"),
        UniqueConstraint("tenant_id", "token_id"),
    )


# Rule scopes: which users a plan rule applies to.
SCOPE_ALL = "all"
SCOPE_IN_GROUP = "in-group"
SCOPE_NOT_IN_GROUP = "not-in-group"
SCOPE_HAS_ROLE = "has-role"
SCOPE_NOT_HAS_ROLE = "not-has-role"
SCOPES = (SCOPE_ALL, SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP, SCOPE_HAS_ROLE, SCOPE_NOT_HAS_ROLE)

# How a group is named in a rule.
BY_DISPLAY_NAME = "displayName"
BY_EXTERNAL_ID = "externalId"

# Rule modes.
ALWAYS = "always"
IF_NOT_SET = "if-not-set"


class PlanRule(Base):
    """One ordered group-to-plan rule of a tenant (see :mod:`scimsrv.plan_rules`)."""

    __tablename__ = "plan_rule"

    id: Mapped[int] = mapped_column("rule_id", Integer, default=next_id("plan_rule"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(255), default="")
    target_by: Mapped[str] = mapped_column(String(16), default=BY_DISPLAY_NAME)
    plans: Mapped[str] = mapped_column(String(160), default="")
    mode: Mapped[str] = mapped_column(String(12), default=ALWAYS)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "rule_id"),
        Index("ix_plan_rule_tenant_position", "tenant_id", "position"),
        CheckConstraint(
            "scope IN ('all', 'in-group', 'not-in-group', 'has-role', 'not-has-role')",
            name="scope",
        ),
        CheckConstraint("target_by IN ('displayName', 'externalId')", name="target_by"),
        CheckConstraint("mode IN ('always', 'if-not-set')", name="mode"),
    )


class AuditEntry(Base):
    """One write of a tenant, appended in the write's own transaction: when, who
    (``actor``), the request (``request``: method, path, request id, bulk
    operation; or the command), the refusal (``status``, ``error``) if it was
    refused, and what changed (``changes``). ``user_keys`` lists the SCIM ids
    and casefolded userNames of the users an entry concerns, for the user filter.

    Append-only: no code path updates a row (a trigger refuses it), and only
    retention deletes (docs/audit-log.md). No foreign key to the tenant, so a
    tenant's log outlives it, as the ledger does.
    """

    __tablename__ = "audit_log"

    tenant_id: Mapped[str] = mapped_column(String(64))
    # Numbered by an identity on PostgreSQL (in insertion order, across
    # tenants), by the tenant's highest number + 1 on SQLite (one writer).
    id: Mapped[int] = mapped_column("entry_id", BigInteger, Identity())
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(Document)
    status: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(String(1024))
    changes: Mapped[dict[str, Any]] = mapped_column(Document)
    user_keys: Mapped[list[str]] = mapped_column(Document)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "entry_id"),
        Index("ix_audit_log_tenant_at", "tenant_id", "at"),
    )
