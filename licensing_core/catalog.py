"""A tenant's license catalog for one transaction: every user license with its
seats, what each plan requires, and whether the set is read-only.

Read in one query (the tenant row, its modulelicense rows joined with their
owner, the size of the waiting queue and the highest link, ledger and log
ids) under the tenant's plan lock (:func:`licensing_core.tenants.lock_plans`),
so what it holds stays exact for the rest of the transaction: only
plan-lock holders change it. Seats in use are not part of it: they are
counted from the links when a grant needs them
(:data:`licensing_core.counting.IN_USE`). Every row is verified against the
trusted keys before use; a row that fails is listed with the reason and
never granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensing_core.errors import (
    InvalidSetInfo,
    LicenseExpired,
    LicenseInvalid,
    LicensingError,
    UnknownModule,
)
from licensing_core.license_status import stop_date
from licensing_core.plans import Plan
from licensing_core.setinfo import parse_set_info
from licensing_core.signing import KeyRing
from licensing_core.tables import (
    PENDING,
    USER_LICENSE,
    USER_PLAN_FLAG,
    AssociatePlan,
    LedgerEntry,
    LicenseAssocLink,
    ModuleLicense,
    ModuleOwner,
    PlanStateLog,
    Tenant,
)
from licensing_core.verification import (
    MODULE_COLUMNS,
    OWNER_COLUMNS,
    TenantVerification,
    split_set_rows,
    verify_rows,
)


@dataclass(frozen=True)
class Module:
    """One user-license row as assignment sees it."""

    id: int
    name: str
    is_plan: bool
    license_number: int
    unrestricted: bool
    extra_info: str
    sort_order: int = 0
    # Why the row does not work ("" when its signatures hold).
    invalid: str = ""


@dataclass(frozen=True)
class LastIds:
    """The tenant's highest licenseassoclink, license_ledger and plan_state_log
    ids when the catalog was read: a transaction numbers its new rows on from
    them (every primary key is ``(tenant_id, id)``); and ``at``, the latest
    moment its ledger or plan-state log records (None: neither has a row)."""

    link: int = 0
    ledger: int = 0
    log: int = 0
    at: datetime | None = None


@dataclass
class LicenseCatalog:
    """A tenant's user licenses, what each plan requires, and the set's stop date."""

    modules: list[Module]
    verification: TenantVerification | None = None
    # After this moment licenses are read-only: no grant, releases only.
    stop: datetime | None = None
    # How many associates wait for seats (so a release that frees one knows
    # whether the queue is worth reading).
    waiting: int = 0
    last_ids: LastIds = LastIds()
    by_name: dict[str, Module] = field(init=False)
    by_id: dict[int, Module] = field(init=False)

    def __post_init__(self) -> None:
        # With several owners or versions of one module name, the first row wins.
        self.by_name = {}
        for module in self.modules:
            self.by_name.setdefault(module.name, module)
        self.by_id = {module.id: module for module in self.modules}

    def read_only(self, at: datetime) -> LicenseExpired | None:
        """The error a grant at ``at`` meets, or None while grants are allowed."""
        return LicenseExpired(self.stop) if self.stop is not None and at > self.stop else None

    def required(self, plan: Plan) -> list[Module]:
        """The plan's module and the modules its ``set=`` implies.

        :raises UnknownModule: the set lacks one of them.
        :raises InvalidSetInfo: the plan row's ``set=`` is malformed.
        :raises LicenseInvalid: one of them fails its signature.
        """
        plan_module = self.by_name.get(plan.module_name)
        if plan_module is not None and plan_module.invalid:
            raise LicenseInvalid(plan_module.name, plan_module.invalid)
        if plan_module is None or not plan_module.is_plan:
            raise UnknownModule(plan.module_name)
        names = parse_set_info(plan_module.extra_info)
        missing = [name for name in names if name not in self.by_name]
        if missing:
            raise UnknownModule(missing[0])
        required = [plan_module, *(self.by_name[name] for name in names)]
        for module in required:
            if module.invalid:
                raise LicenseInvalid(module.name, module.invalid)
        return required

    def try_required(self, plan: Plan) -> list[Module] | None:
        """:meth:`required`, or None when the plan cannot be granted at all."""
        try:
            return self.required(plan)
        except (UnknownModule, InvalidSetInfo, LicenseInvalid):
            return None

    def modules_of(self, plans: Iterable[Plan]) -> set[int]:
        """Ids of every module the grantable ones of ``plans`` require."""
        return {m.id for plan in plans for m in self.try_required(plan) or ()}

    def refusal(self, plan: Plan) -> LicensingError | None:
        """Why ``plan`` can never be granted from this set (seats aside), or None."""
        try:
            self.required(plan)
        except LicensingError as exc:
            return exc
        return None


_OWNER = [getattr(ModuleOwner, c).label(f"o_{c}") for c in OWNER_COLUMNS]
_MODULE = [getattr(ModuleLicense, c).label(c) for c in MODULE_COLUMNS]


def _of_tenant(aggregate, *conditions):
    return select(aggregate).where(*conditions).scalar_subquery()


_TENANT_FIGURES = [
    _of_tenant(
        func.count(), AssociatePlan.tenant_id == Tenant.tenant_id, AssociatePlan.state == PENDING
    ).label("waiting"),
    _of_tenant(func.max(LicenseAssocLink.id), LicenseAssocLink.tenant_id == Tenant.tenant_id).label(
        "last_link"
    ),
    _of_tenant(func.max(LedgerEntry.id), LedgerEntry.tenant_id == Tenant.tenant_id).label(
        "last_ledger"
    ),
    _of_tenant(func.max(PlanStateLog.id), PlanStateLog.tenant_id == Tenant.tenant_id).label(
        "last_log"
    ),
    _of_tenant(func.max(LedgerEntry.at), LedgerEntry.tenant_id == Tenant.tenant_id).label(
        "last_ledger_at"
    ),
    _of_tenant(func.max(PlanStateLog.at), PlanStateLog.tenant_id == Tenant.tenant_id).label(
        "last_log_at"
    ),
]
# Built once: every recompute runs it. A tenant without a set still gives a
# row (outer joins), as do owners without modules.
_ROWS = (
    select(*_TENANT_FIGURES, *_OWNER, *_MODULE)
    .select_from(Tenant)
    .outerjoin(ModuleOwner, ModuleOwner.tenant_id == Tenant.tenant_id)
    .outerjoin(
        ModuleLicense,
        (ModuleLicense.tenant_id == ModuleOwner.tenant_id)
        & (ModuleLicense.module_owner_id == ModuleOwner.id),
    )
    .order_by(ModuleOwner.id, ModuleLicense.id)
)


def load_catalog(session: Session, tenant_id: str, keyring: KeyRing) -> LicenseCatalog:
    """The tenant's catalog, verified; call it holding the plan lock."""
    rows = session.connection().execute(_ROWS.where(Tenant.tenant_id == tenant_id)).all()
    owners, modules = split_set_rows(rows)
    verification = verify_rows(owners, modules, keyring)
    stops = [stop for stop in map(stop_date, owners) if stop is not None]
    return LicenseCatalog(
        [
            Module(
                id=row.id,
                name=row.module_name,
                is_plan=bool(row.extra_flags & USER_PLAN_FLAG),
                license_number=row.license_number,
                unrestricted=row.unrestricted,
                extra_info=row.extra_info,
                sort_order=row.sort_order,
                invalid=verification.row_problems.get(row.id, ""),
            )
            for row in modules
            if row.license_type == USER_LICENSE
        ],
        verification,
        min(stops) if stops else None,
        rows[0].waiting if rows else 0,
        _last_ids(rows[0]) if rows else LastIds(),
    )


def _last_ids(row) -> LastIds:
    stamps = [at for at in (row.last_ledger_at, row.last_log_at) if at is not None]
    return LastIds(
        *(getattr(row, f"last_{kind}") or 0 for kind in ("link", "ledger", "log")),
        at=max(stamps, default=None),
    )
