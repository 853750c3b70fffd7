"""scimsrv's own tables, on the same metadata as the licensing core's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import scimsrv.scim_tables  # noqa: F401
from licensing_core.tables import Base

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

    id: Mapped[int] = mapped_column("rule_id", Integer, primary_key=True)
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
        UniqueConstraint("tenant_id", "rule_id"),
        Index("ix_plan_rule_tenant_position", "tenant_id", "position"),
        CheckConstraint(
            "scope IN ('all', 'in-group', 'not-in-group', 'has-role', 'not-has-role')",
            name="scope",
        ),
        CheckConstraint("target_by IN ('displayName', 'externalId')", name="target_by"),
        CheckConstraint("mode IN ('always', 'if-not-set')", name="mode"),
    )
