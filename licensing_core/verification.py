"""Verify a tenant's stored license rows against the trusted keys, before they are used.

A row works only when its own signature and its owner's signature both hold
(:mod:`licensing_core.signing`); a touched row stops working, a touched owner
row stops the whole set. The verdict on a set is cached by the exact values
of its rows (a set that did not change is not hashed again), and each
signature's verdict by digest in :mod:`licensing_core.signing`, so checking
on every use costs one query and a tuple hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from licensing_core.signing import KeyRing, SetVerification, verify_set
from licensing_core.tables import ModuleLicense, ModuleOwner

_CACHE_LIMIT = 1_000
NO_SET = "license invalid: the tenant has no license set"
_verdicts: dict[tuple, TenantVerification] = {}


@dataclass(frozen=True)
class TenantVerification:
    """The verdict on every owner of a tenant and, by module id, why a row fails."""

    sets: tuple[SetVerification, ...]
    row_problems: dict[int, str] = field(default_factory=dict)
    # moduleName of each failing row, by module id.
    row_names: dict[int, str] = field(default_factory=dict)

    def problems_by_module(self) -> dict[str, str]:
        """Why each failing row does not work, by moduleName."""
        return {self.row_names[i]: problem for i, problem in self.row_problems.items()}

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
            return [NO_SET]
        return [line for s in self.sets for line in s.messages()]

    def summary(self) -> str:
        """Why the tenant's licenses fail, in one line ("" when every one holds)."""
        if not self.sets:
            return NO_SET
        return next((s.summary() for s in self.sets if not s.valid), "")


# The columns a verdict depends on, in a fixed order (the cache key).
OWNER_COLUMNS = (
    "id",
    "owner_name",
    "owner_description",
    "company_name",
    "serial_number",
    "extra_flags",
    "extra_info",
    "expiration",
    "grace_to",
    "maintenance_to",
    "admin_warning_date",
    "next_check_date",
    "signature",
)
MODULE_COLUMNS = (
    "id",
    "module_owner_id",
    "module_name",
    "module_description",
    "module_version",
    "license_type",
    "license_number",
    "unrestricted",
    "hidden",
    "extra_flags",
    "extra_info",
    "sort_order",
    "prerequisite_module",
    "signature",
)


def verify_rows(owners: Sequence[Any], rows: Sequence[Any], keyring: KeyRing) -> TenantVerification:
    """The verdict on ``owners`` (ModuleOwner-like) and their ``rows``
    (ModuleLicense-like, any order): attribute access by the model's names."""
    key = (
        frozenset(keyring.keys),
        keyring.test_key_trusted,
        tuple(tuple(getattr(o, c) for c in OWNER_COLUMNS) for o in owners),
        tuple(tuple(getattr(r, c) for c in MODULE_COLUMNS) for r in rows),
    )
    found = _verdicts.get(key)
    if found is not None:
        return found
    ordered = sorted(rows, key=lambda r: (r.sort_order, r.id))
    sets = []
    problems: dict[int, str] = {}
    for owner in sorted(owners, key=lambda o: o.id):
        own = [row for row in ordered if row.module_owner_id == owner.id]
        verdict = verify_set(owner, own, keyring)
        sets.append(verdict)
        for index, row in enumerate(own):
            problem = verdict.row_problem(index)
            if problem:
                problems[row.id] = problem
    names = {row.id: row.module_name for row in rows if row.id in problems}
    result = TenantVerification(tuple(sets), problems, names)
    if len(_verdicts) >= _CACHE_LIMIT:
        _verdicts.clear()
    _verdicts[key] = result
    return result


def labelled(table: Any, names: Sequence[str]) -> list:
    """``table``'s columns ``names`` labelled with their attribute names."""
    return [getattr(table, name).label(name) for name in names]


# Every owner with its rows (owners without rows too), one query.
_SET = (
    select(
        *[getattr(ModuleOwner, c).label(f"o_{c}") for c in OWNER_COLUMNS],
        *labelled(ModuleLicense, MODULE_COLUMNS),
    )
    .select_from(ModuleOwner)
    .outerjoin(
        ModuleLicense,
        (ModuleLicense.tenant_id == ModuleOwner.tenant_id)
        & (ModuleLicense.module_owner_id == ModuleOwner.id),
    )
    .where(ModuleOwner.tenant_id == bindparam("tenant_id"))
)


@dataclass(frozen=True)
class _Owner:
    id: int
    owner_name: str
    owner_description: str
    company_name: str
    serial_number: str
    extra_flags: int
    extra_info: str
    expiration: Any
    grace_to: Any
    maintenance_to: Any
    admin_warning_date: Any
    next_check_date: Any
    signature: str


def split_set_rows(rows: Sequence[Any]) -> tuple[list[_Owner], list[Any]]:
    """Owners (``o_``-prefixed columns) and module rows of an owner-outer-join-module result."""
    owners: dict[int, _Owner] = {}
    modules = []
    for row in rows:
        if row.o_id is not None and row.o_id not in owners:
            owners[row.o_id] = _Owner(*(getattr(row, f"o_{c}") for c in OWNER_COLUMNS))
        if row.id is not None:
            modules.append(row)
    return list(owners.values()), modules


def verify_tenant(session: Session, tenant_id: str, keyring: KeyRing) -> TenantVerification:
    """Check every owner and modulelicense row of ``tenant_id``; one query."""
    rows = session.connection().execute(_SET, {"tenant_id": tenant_id}).all()
    return verify_rows(*split_set_rows(rows), keyring)
