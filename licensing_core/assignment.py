"""The assignment engine: give one associate exactly the links a plan set requires.

A plan requires its own module (a user plan, extraFlags=1) and the hidden
user licenses its ``set=`` list implies. For a target set of plans the engine
releases what is no longer required, then grants each missing plan with all
of its modules or none of them; an implied license shared by two plans stays
while either plan stays. A plan that cannot be granted is reported with the
reason, and nothing of it is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from licensing_core import license_status, links
from licensing_core.errors import (
    InvalidSetInfo,
    LicenseExpired,
    LicenseInvalid,
    LicensingError,
    UnknownModule,
)
from licensing_core.links import HeldLink, Module
from licensing_core.plans import NO_SELECTION, Combination, Plan, plan_for_module
from licensing_core.setinfo import parse_set_info


@dataclass(frozen=True)
class PlanRefusal:
    """A plan that could not be granted, and why."""

    plan: Plan
    reason: str
    module_name: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    """What one ``assign`` call did."""

    assoc_id: int
    requested: Combination
    granted: Combination
    refused: tuple[PlanRefusal, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.refused

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass
class LicenseCatalog:
    """A tenant's user licenses for one transaction, with each plan's requirements."""

    modules: list[Module]
    by_name: dict[str, Module] = field(init=False)

    def __post_init__(self) -> None:
        # With several owners or versions of one module name, the first row wins.
        self.by_name = {}
        for module in self.modules:
            self.by_name.setdefault(module.name, module)

    def required(self, plan: Plan) -> list[Module]:
        """The plan's module and the modules it implies; raises a LicensingError
        when the license set lacks one of them, its ``set=`` is malformed or one
        of them fails its signature (LicenseInvalid)."""
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
        try:
            return self.required(plan)
        except (UnknownModule, InvalidSetInfo, LicenseInvalid):
            return None


class Assigner:
    """Applies plan sets to associates of one tenant within the caller's transaction.

    Constructing it row-locks the tenant's user licenses until the transaction
    ends, so build it only when links may change, and once per transaction.
    """

    def __init__(self, session: Session, tenant_id: str, *, at: datetime, cause: str = "") -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.at = at
        self.cause = cause
        self.catalog = LicenseCatalog(links.lock_user_licenses(session, tenant_id))
        # Past the set's stop date every grant and release is refused (read-only).
        self.expired = license_status.expired(session, tenant_id, at)

    def held(self, assoc_id: int) -> dict[int, HeldLink]:
        return links.held_links(self.session, self.tenant_id, assoc_id, self.catalog.modules)

    def held_plans(self, assoc_id: int) -> Combination:
        plans = (plan_for_module(link.module.name) for link in self.held(assoc_id).values())
        return Combination.of(p for p in plans if p is not None)

    def assign(self, assoc_id: int, target: Combination) -> AssignmentResult:
        """Make ``assoc_id`` hold exactly the links of ``target`` (as far as seats allow)."""
        held = self.held(assoc_id)
        before = {link.module.name for link in held.values()}

        wanted: set[int] = set()
        for plan in target:
            wanted.update(m.id for m in self.catalog.try_required(plan) or [])
        self._release(assoc_id, held, keep=wanted)

        granted: list[Plan] = []
        refused: list[PlanRefusal] = []
        held_ids = set(held)
        for plan in target:
            try:
                required = self.catalog.required(plan)
                missing = [m for m in required if m.id not in held_ids]
                if missing and self.expired:
                    raise self.expired
                links.grant(
                    self.session, self.tenant_id, assoc_id, missing, at=self.at, cause=self.cause
                )
            except LicenseExpired:
                raise
            except LicensingError as exc:
                module_name = getattr(exc, "module_name", plan.module_name)
                refused.append(PlanRefusal(plan, str(exc), module_name))
                continue
            granted.append(plan)
            held_ids.update(m.id for m in missing)

        if refused:
            keep: set[int] = set()
            for plan in granted:
                keep.update(m.id for m in self.catalog.required(plan))
            self._release(assoc_id, self.held(assoc_id), keep=keep)

        after = {link.module.name for link in self.held(assoc_id).values()}
        return AssignmentResult(
            assoc_id=assoc_id,
            requested=target,
            granted=Combination.of(granted),
            refused=tuple(refused),
            added=tuple(sorted(after - before)),
            removed=tuple(sorted(before - after)),
        )

    def release_all(self, assoc_id: int) -> AssignmentResult:
        """Remove every user license ``assoc_id`` holds (retirement, deletion)."""
        return self.assign(assoc_id, NO_SELECTION)

    def _release(self, assoc_id: int, held: dict[int, HeldLink], keep: set[int]) -> None:
        stale = [link for module_id, link in held.items() if module_id not in keep]
        if stale and self.expired:
            raise self.expired
        links.release(self.session, self.tenant_id, assoc_id, stale, at=self.at, cause=self.cause)
        for link in stale:
            del held[link.module.id]
