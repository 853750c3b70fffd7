"""scimsrv's own tables, on the same metadata as the licensing core's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import scimsrv.scim_tables  # noqa: F401
from licensing_core.tables import Base

metadata = Base.metadata


class ApiToken(Base):
    """A tenant's bearer token, stored only as the SHA-256 of its secret.

    Tokens are 256-bit random strings, so a fast hash is enough: there is
    nothing to brute-force. ``prefix`` (the first characters) lets an
    operator tell tokens apart in ``token list`` without revealing them.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column("token_id", Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("token_hash"),
        UniqueConstraint("tenant_id", "token_id"),
    )
