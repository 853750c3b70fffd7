"""Bearer tokens: 256-bit secrets shown once, stored hashed, revocable, tenant-bound."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from licensing_core.errors import UnknownTenant
from licensing_core.tables import Tenant
from scimsrv.services import tokens
from scimsrv.storage.tables import ApiToken
from tests.use_cases import tx_of


def add_tenant(db, tenant_id: str) -> None:
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime.now(UTC).replace(tzinfo=None)))


@pytest.fixture
def tenant(db, tenant_id) -> str:
    add_tenant(db, tenant_id)
    return tenant_id


def test_issued_token_has_256_bits_and_is_stored_only_as_its_sha256(db, tenant):
    with db.write() as session:
        secret = tokens.issue(tx_of(session), tenant, label="entra")
    assert len(secret) >= 43  # token_urlsafe(32): 32 random bytes
    with db.read() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.tenant_id == tenant)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.token_hash != secret
    assert secret not in (row.token_hash, row.prefix, row.label)
    assert row.prefix == secret[: tokens.PREFIX_LENGTH]
    assert row.label == "entra"


def test_two_issued_tokens_differ(db, tenant):
    with db.write() as session:
        first = tokens.issue(tx_of(session), tenant)
        second = tokens.issue(tx_of(session), tenant)
    assert first != second


def test_issue_for_unknown_tenant_is_refused(db, tenant_id):
    with pytest.raises(UnknownTenant), db.write() as session:
        tokens.issue(tx_of(session), tenant_id)


def test_issued_token_authenticates_for_its_tenant(db, tenant):
    with db.write() as session:
        secret = tokens.issue(tx_of(session), tenant)
    with db.read() as session:
        assert tokens.authenticate(tx_of(session).storage, tenant, secret)


@pytest.mark.parametrize("presented", ["", "nope", "x" * 43])
def test_unknown_token_does_not_authenticate(db, tenant, presented):
    with db.write() as session:
        tokens.issue(tx_of(session), tenant)
    with db.read() as session:
        assert not tokens.authenticate(tx_of(session).storage, tenant, presented)


def test_token_of_another_tenant_does_not_authenticate(db, tenant):
    other = f"{tenant}-b"
    add_tenant(db, other)
    with db.write() as session:
        secret = tokens.issue(tx_of(session), tenant)
    with db.read() as session:
        assert not tokens.authenticate(tx_of(session).storage, other, secret)
        assert not tokens.authenticate(tx_of(session).storage, "no-such-tenant", secret)


def test_revoked_token_does_not_authenticate(db, tenant):
    with db.write() as session:
        secret = tokens.issue(tx_of(session), tenant)
        kept = tokens.issue(tx_of(session), tenant)
    with db.write() as session:
        tokens.revoke(tx_of(session), tenant, secret[: tokens.PREFIX_LENGTH])
    with db.read() as session:
        assert not tokens.authenticate(tx_of(session).storage, tenant, secret)
        assert tokens.authenticate(tx_of(session).storage, tenant, kept)


def test_token_can_be_revoked_by_id(db, tenant):
    with db.write() as session:
        secret = tokens.issue(tx_of(session), tenant)
    with db.read() as session:
        [info] = tokens.list_tokens(tx_of(session), tenant)
    with db.write() as session:
        revoked = tokens.revoke(tx_of(session), tenant, info.id)
    assert revoked.id == info.id
    assert revoked.revoked is not None
    with db.read() as session:
        assert not tokens.authenticate(tx_of(session).storage, tenant, secret)


def test_revoke_never_reaches_another_tenants_token(db, tenant):
    other = f"{tenant}-b"
    add_tenant(db, other)
    with db.write() as session:
        secret = tokens.issue(tx_of(session), other)
    with pytest.raises(tokens.UnknownToken), db.write() as session:
        tokens.revoke(tx_of(session), tenant, secret[: tokens.PREFIX_LENGTH])
    with db.read() as session:
        assert tokens.authenticate(tx_of(session).storage, other, secret)


def test_revoking_an_already_revoked_token_is_an_error(db, tenant):
    with db.write() as session:
        prefix = tokens.issue(tx_of(session), tenant)[: tokens.PREFIX_LENGTH]
    with db.write() as session:
        tokens.revoke(tx_of(session), tenant, prefix)
    with pytest.raises(tokens.UnknownToken), db.write() as session:
        tokens.revoke(tx_of(session), tenant, prefix)


def test_list_shows_prefix_label_and_state_but_never_the_secret(db, tenant):
    at = datetime(2026, 1, 2, 3, 4, 5)
    with db.write() as session:
        first = tokens.issue(tx_of(session, at=at), tenant, label="entra")
        second = tokens.issue(tx_of(session, at=at), tenant, label="okta")
    with db.write() as session:
        tokens.revoke(tx_of(session, at=at), tenant, first[: tokens.PREFIX_LENGTH])
    with db.read() as session:
        listed = tokens.list_tokens(tx_of(session), tenant)
    assert [(t.prefix, t.label, t.created, t.revoked) for t in listed] == [
        (first[: tokens.PREFIX_LENGTH], "entra", at, at),
        (second[: tokens.PREFIX_LENGTH], "okta", at, None),
    ]
    for info in listed:
        assert first not in repr(info) and second not in repr(info)


def test_tokens_carry_a_fixed_marker_and_never_start_with_a_dash(db, tenant_id):
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime(2026, 1, 1)))
        session.flush()
        secrets_issued = [tokens.issue(tx_of(session), tenant_id) for _ in range(200)]
    assert all(s.startswith(tokens.MARKER) for s in secrets_issued)
    assert len({s[: tokens.PREFIX_LENGTH] for s in secrets_issued}) > 190
