"""Bearer token rows (api_token): only each secret's SHA-256, a display
prefix and a label are stored. ``tenant_id`` None marks an operator token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from licensing_core.tables import Tenant
from licensing_core.tenants import gate
from scimsrv.storage.rows import labelled
from scimsrv.storage.tables import ApiToken

INFO_COLUMNS = ("id", "prefix", "label", "created", "revoked")

# Built once: every request runs it, only the digest changes.
_BY_HASH = (
    select(
        ApiToken.token_hash,
        ApiToken.tenant_id,
        ApiToken.revoked,
        ApiToken.prefix,
        ApiToken.label,
        Tenant.suspended,
    )
    .outerjoin(Tenant, Tenant.tenant_id == ApiToken.tenant_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)
# The same, entering the gate of the tenant the request names (PostgreSQL).
_BY_HASH_GATED = _BY_HASH.add_columns(
    gate(bindparam("gate", type_=String), shared=True).label("gated")
)


def _owner(tenant_id: str | None):
    """The condition selecting tokens of ``tenant_id`` (operator tokens for None)."""
    return ApiToken.tenant_id.is_(None) if tenant_id is None else ApiToken.tenant_id == tenant_id


def by_hash(session: Session, digest: str, gate_of: str | None = None):
    """The token row with this SHA-256 (``token_hash``, ``tenant_id``,
    ``revoked``, ``prefix``, ``label``, and ``suspended``: when its tenant was
    suspended, None for an active tenant or an operator token), or None.

    ``gate_of``: a tenant whose gate the same statement enters, shared, when
    the token is found (PostgreSQL; :func:`licensing_core.tenants.gate`).
    """
    connection = session.connection()
    if gate_of is not None and connection.dialect.name == "postgresql":
        return connection.execute(_BY_HASH_GATED, {"digest": digest, "gate": gate_of}).first()
    return connection.execute(_BY_HASH, {"digest": digest}).first()


def insert_token(
    session: Session, tenant_id: str | None, digest: str, prefix: str, label: str, at: datetime
) -> None:
    session.execute(
        insert(ApiToken).values(
            tenant_id=tenant_id, token_hash=digest, prefix=prefix, label=label, created=at
        )
    )


def list_tokens(session: Session, tenant_id: str | None) -> list:
    """The owner's tokens (rows with :data:`INFO_COLUMNS`), oldest first."""
    return session.execute(
        select(*labelled(ApiToken, INFO_COLUMNS)).where(_owner(tenant_id)).order_by(ApiToken.id)
    ).all()


def live_matching(session: Session, tenant_id: str | None, key: str) -> list:
    """The owner's live tokens whose prefix is ``key`` (or, for digits, whose id is)."""
    condition = ApiToken.prefix == key
    if key.isdigit():
        condition = or_(condition, ApiToken.id == int(key))
    return session.execute(
        select(*labelled(ApiToken, INFO_COLUMNS)).where(
            _owner(tenant_id), ApiToken.revoked.is_(None), condition
        )
    ).all()


def mark_revoked(session: Session, token_id: int, at: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked=at))
