"""Bearer tokens: issue, list, revoke, authenticate.

A tenant's token reaches that tenant's SCIM API only; an operator token
(stored with no tenant, passed around here as ``tenant_id=None``) reaches
the admin API of every tenant and no SCIM API.

A token is ``scimsrv_`` and 256 random bits (``secrets.token_urlsafe(32)``),
shown once when issued; the database keeps only its SHA-256, a short display
prefix and a label. Functions take a Session and leave the transaction to the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from licensing_core.errors import UnknownTenant
from licensing_core.tables import Tenant
from scimsrv.storage.tables import ApiToken

# A fixed marker, so a token never begins with "-" (command lines would read it
# as an option) and secret scanners can recognise a leaked one.
MARKER = "scimsrv_"
# What `token list` shows: the marker and the first 8 random characters.
PREFIX_LENGTH = len(MARKER) + 8


class UnknownToken(LookupError):
    """No live token of the tenant matches the given prefix or id."""


class AmbiguousToken(ValueError):
    """More than one live token of the tenant matches the given prefix."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: everything but the secret."""

    id: int
    prefix: str
    label: str
    created: datetime
    revoked: datetime | None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def hash_token(secret: str) -> str:
    """Hex SHA-256 of a presented token: what the database stores and is searched by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _owner(tenant_id: str | None):
    """The condition selecting tokens of ``tenant_id`` (operator tokens for None)."""
    return ApiToken.tenant_id.is_(None) if tenant_id is None else ApiToken.tenant_id == tenant_id


def issue(
    session: Session, tenant_id: str | None, label: str = "", at: datetime | None = None
) -> str:
    """Create a token for ``tenant_id`` (None: an operator token) and return its
    secret (the only time it is seen)."""
    if tenant_id is not None and session.get(Tenant, tenant_id) is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    secret = MARKER + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            tenant_id=tenant_id,
            token_hash=hash_token(secret),
            prefix=secret[:PREFIX_LENGTH],
            label=label,
            created=at or _now(),
        )
    )
    session.flush()
    return secret


def list_tokens(session: Session, tenant_id: str | None) -> list[TokenInfo]:
    """The tenant's (or the operators') tokens, oldest first, revoked ones included."""
    rows = session.scalars(select(ApiToken).where(_owner(tenant_id)).order_by(ApiToken.id))
    return [TokenInfo(t.id, t.prefix, t.label, t.created, t.revoked) for t in rows]


def revoke(
    session: Session, tenant_id: str | None, key: str | int, at: datetime | None = None
) -> TokenInfo:
    """Revoke the tenant's live token whose prefix (or id) is ``key``.

    A prefix is matched first; a key of digits also matches the token id, as
    ``token list`` shows both. Tokens of other tenants are never matched.
    """
    key_text = str(key)
    condition = ApiToken.prefix == key_text
    if key_text.isdigit():
        condition = or_(condition, ApiToken.id == int(key_text))
    matches = list(
        session.scalars(
            select(ApiToken).where(_owner(tenant_id), ApiToken.revoked.is_(None), condition)
        )
    )
    if not matches:
        owner = "operators have" if tenant_id is None else f"tenant {tenant_id!r} has"
        raise UnknownToken(f"{owner} no live token {key_text!r}")
    if len(matches) > 1:
        raise AmbiguousToken(f"{key_text!r} matches {len(matches)} tokens; use the token id")
    token = matches[0]
    token.revoked = at or _now()
    session.flush()
    return TokenInfo(token.id, token.prefix, token.label, token.created, token.revoked)


# Built once: every request runs it, only the digest changes.
_BY_HASH = select(ApiToken.token_hash, ApiToken.tenant_id, ApiToken.revoked).where(
    ApiToken.token_hash == bindparam("digest")
)


def authenticate(session: Session, tenant_id: str | None, presented: str) -> bool:
    """Whether ``presented`` is a live token of ``tenant_id`` (None: an operator
    token): one lookup on the unique hash.

    The hash comparison uses ``hmac.compare_digest`` so a near miss takes as
    long as a far one.
    """
    if not presented:
        return False
    digest = hash_token(presented)
    row = session.connection().execute(_BY_HASH, {"digest": digest}).first()
    if row is None:
        return False
    return (
        hmac.compare_digest(row.token_hash, digest)
        and row.tenant_id == tenant_id
        and row.revoked is None
    )


def authenticate_operator(session: Session, presented: str) -> bool:
    """Whether ``presented`` is a live operator token."""
    return authenticate(session, None, presented)
