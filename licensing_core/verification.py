"""Verify a tenant's stored license rows against the trusted keys, before they are used.

A row works only when its own signature and its owner's signature both hold
(:mod:`licensing_core.signing`); a touched row stops working, a touched owner
row stops the whole set. Results per signature are cached by digest there,
so checking on every use costs two queries and some hashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.signing import KeyRing, SetVerification, verify_set
from licensing_core.tables import ModuleLicense, ModuleOwner


@dataclass(frozen=True)
class TenantVerification:
    """The verdict on every owner of a tenant and, by module id, why a row fails."""

    sets: tuple[SetVerification, ...]
    row_problems: dict[int, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return bool(self.sets) and all(s.valid for s in self.sets)

    @property
    def test_key_used(self) -> bool:
        return any(s.test_key_used for s in self.sets)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset().union(*(s.key_ids for s in self.sets))

    def messages(self) -> list[str]:
        if not self.sets:
            return ["license invalid: the tenant has no license set"]
        return [line for s in self.sets for line in s.messages()]


def verify_tenant(
    session: Session, tenant_id: str, keyring: KeyRing | None = None
) -> TenantVerification:
    """Check every owner and modulelicense row of ``tenant_id``."""
    owners = session.execute(
        select(ModuleOwner).where(ModuleOwner.tenant_id == tenant_id).order_by(ModuleOwner.id)
    ).scalars()
    rows = list(
        session.execute(
            select(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id)
            .order_by(ModuleLicense.sort_order, ModuleLicense.id)
        ).scalars()
    )
    sets = []
    problems: dict[int, str] = {}
    for owner in owners:
        own = [row for row in rows if row.module_owner_id == owner.id]
        verdict = verify_set(owner, own, keyring)
        sets.append(verdict)
        for index, row in enumerate(own):
            problem = verdict.row_problem(index)
            if problem:
                problems[row.id] = problem
    return TenantVerification(tuple(sets), problems)
