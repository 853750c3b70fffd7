"""Bearer tokens: issue, list, revoke, authenticate.

A tenant's token reaches that tenant's SCIM API only; an operator token
(stored with no tenant, passed around here as ``tenant_id=None``) reaches
the admin API of every tenant and no SCIM API.

A token is ``scimsrv_`` and 256 random bits (``secrets.token_urlsafe(32)``),
shown once when issued; the database keeps only its SHA-256 (a fast hash is
enough: there is nothing to brute-force), a short display prefix and a
label. The check runs inside each request's own transaction, so a revoked
token fails at once, on every worker, with no cache to invalidate.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from licensing_core.tenants import get_tenant, live_tenant
from licensing_core.text import storable
from scimsrv.scim.errors import ScimError
from scimsrv.storage.protocol import Storage

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


def hash_token(secret: str) -> str:
    """Hex SHA-256 of a presented token: what the database stores and is searched by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(tx, tenant_id: str | None, label: str = "") -> str:
    """Create a token for ``tenant_id`` (None: an operator token) and return its
    secret (the only time it is seen).

    :raises UnknownTenant, TenantDeleted: no such tenant, or a deleted one.
    :raises InvalidText: a label no database can store (docs/limits.md).
    """
    if tenant_id is not None:
        live_tenant(tx.session, tenant_id)
    storable("the token label", label)
    secret = MARKER + secrets.token_urlsafe(32)
    tx.storage.tokens.insert(tenant_id, hash_token(secret), secret[:PREFIX_LENGTH], label, tx.at)
    tx.journal.detail("token", {"issued": secret[:PREFIX_LENGTH], "label": label})
    return secret


def list_tokens(tx, tenant_id: str | None) -> list[TokenInfo]:
    """The tenant's (or the operators') tokens, oldest first, revoked ones included."""
    if tenant_id is not None:
        get_tenant(tx.session, tenant_id)
    return [TokenInfo(*row) for row in tx.storage.tokens.listed(tenant_id)]


def revoke(tx, tenant_id: str | None, key: str | int) -> TokenInfo:
    """Revoke the tenant's live token whose prefix (or id) is ``key``.

    A prefix is matched first; a key of digits also matches the token id, as
    ``token list`` shows both. Tokens of other tenants are never matched.

    :raises UnknownToken, AmbiguousToken: no match, or more than one.
    """
    if tenant_id is not None:
        get_tenant(tx.session, tenant_id)
    key_text = str(key)
    matches = tx.storage.tokens.live_matching(tenant_id, key_text)
    if not matches:
        owner = "operators have" if tenant_id is None else f"tenant {tenant_id!r} has"
        raise UnknownToken(f"{owner} no live token {key_text!r}")
    if len(matches) > 1:
        raise AmbiguousToken(f"{key_text!r} matches {len(matches)} tokens; use the token id")
    token = matches[0]
    tx.storage.tokens.revoke(token.id, tx.at)
    tx.journal.detail("token", {"revoked": token.prefix, "id": token.id, "label": token.label})
    return TokenInfo(token.id, token.prefix, token.label, token.created, tx.at)


def authenticate(
    storage: Storage, tenant_id: str | None, presented: str, *, write: bool = False
) -> str | None:
    """Who ``presented`` is when it is a live token of ``tenant_id`` (None: an
    operator token), else None: one lookup on the unique hash, compared in
    constant time. Who: ``token <prefix>`` and its label, as logs and
    histories name the actor of a change. A ``write`` with a tenant's token
    enters the tenant's gate in the same statement
    (:func:`licensing_core.tenants.gate`).

    :raises ScimError: 403 when the token is good but its tenant is suspended
        (RFC 7644 §3.12: not permitted); only a caller with a good token learns it.
    """
    if not presented:
        return None
    digest = hash_token(presented)
    row = storage.tokens.by_hash(digest, gated=write and tenant_id is not None)
    if row is None:
        return None
    live = (
        hmac.compare_digest(row.token_hash, digest)
        and row.tenant_id == tenant_id
        and row.revoked is None
    )
    if not live:
        return None
    if row.suspended is not None:
        raise ScimError(
            403,
            f"tenant {tenant_id!r} is suspended: its SCIM API is closed until an operator "
            "resumes it",
        )
    return f"token {row.prefix}" + (f" ({row.label})" if row.label else "")
