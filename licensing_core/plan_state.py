"""Who gets which seats: requested versus granted plans per associate, and the
queue of users waiting for seats.

The directory is the source of truth: when it asks for plans that have no
free seat, the request is recorded and the associate is marked *pending*
with the reason, instead of the write failing. Whenever seats free up,
pending associates are served first waiting, first served.

A :class:`PlanBook` decides a whole transaction's changes in memory and
writes them in a fixed number of statements (:mod:`licensing_core.links`),
whatever the number of associates and implied licenses:

1. releases: each associate gives back the links its request no longer needs;
2. grants, in queue order (pending since, then associate id), each plan with
   all of its modules or none (an implied license shared by two plans stays
   while either stays); when releases freed seats, the waiting queue takes
   part too, oldest first, ahead of newer requests;
3. a plan refused (no seat, module missing or invalid, set read-only) leaves
   nothing of it behind, and the seats that frees go round again.

Read-only (past the set's stop date) stops grants only: releases always go
through, so an identity provider can always offboard.

The caller must hold the tenant's plan lock
(:func:`licensing_core.tenants.lock_plans`): the catalog, the seats in use
(counted from the links the first time a grant needs them) and the holdings
read here are then exact until the transaction ends.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from licensing_core import links
from licensing_core.catalog import LicenseCatalog, Module, load_catalog
from licensing_core.counting import seats_in_use
from licensing_core.errors import LicensingError, SeatShortage
from licensing_core.holdings import Holding, pending_queue, read_holdings
from licensing_core.identities import Identify, Identity, associate_identities
from licensing_core.links import Grant, Release
from licensing_core.plans import NO_SELECTION, Combination, Plan
from licensing_core.signing import KeyRing
from licensing_core.tables import LICENSED, NO_PLAN, PENDING, AssociatePlan, PlanStateLog

DELETED = "deleted"


@dataclass(frozen=True)
class PlanRefusal:
    """A plan that could not be granted, and why."""

    plan: Plan
    reason: str
    module_name: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one associate ends the transaction with."""

    assoc_id: int
    requested: Combination
    granted: Combination
    state: str
    refused: tuple[PlanRefusal, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    # What the associate had before: granted combination name, state and
    # (pending) reason.
    granted_before: str = ""
    state_before: str = NO_PLAN
    reason_before: str = ""

    @property
    def complete(self) -> bool:
        return not self.refused

    @property
    def changed(self) -> bool:
        """Whether links were granted or released."""
        return bool(self.added or self.removed)

    @property
    def moved(self) -> bool:
        """Whether the associate's licenses, granted plans, state or the reason
        it waits changed."""
        return (
            self.changed
            or self.granted.name != self.granted_before
            or self.state != self.state_before
            or self.reason[:255] != self.reason_before
        )

    @property
    def reason(self) -> str:
        return "; ".join(f"{r.plan.name}: {r.reason}" for r in self.refused)

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed by ``later`` (the same associate, evaluated
        again in the same transaction): ``later``'s result from this one's start."""
        added = (set(self.added) - set(later.removed)) | set(later.added)
        removed = (set(self.removed) - set(later.added)) | set(later.removed)
        return dataclasses.replace(
            later,
            added=tuple(sorted(added - removed)),
            removed=tuple(sorted(removed - added)),
            granted_before=self.granted_before,
            state_before=self.state_before,
            reason_before=self.reason_before,
        )


def merge_outcomes(into: dict[int, Outcome], later: Mapping[int, Outcome]) -> None:
    """Add ``later`` outcomes to ``into``; an associate evaluated twice in one
    transaction keeps where it started (:meth:`Outcome.then`)."""
    for assoc_id, outcome in later.items():
        first = into.get(assoc_id)
        into[assoc_id] = outcome if first is None else first.then(outcome)


@dataclass
class _Work:
    """One associate's change in progress."""

    holding: Holding
    want: Combination
    # When it joined the waiting queue (None: it joins now, at the book's stamp).
    queued_at: datetime | None
    forget: bool = False
    held: set[int] = field(default_factory=set)
    granted: list[Plan] = field(default_factory=list)
    refused: dict[Plan, PlanRefusal] = field(default_factory=dict)
    # Plans refused only for want of a seat: worth another try when seats free up.
    short: set[Plan] = field(default_factory=set)

    @property
    def assoc_id(self) -> int:
        return self.holding.associate_id


@dataclass
class _Records:
    """The plan-state rows one apply writes."""

    upserts: list[dict]
    logs: list[dict]
    dropped: list[int]


class PlanBook:
    """Decides and records plan changes of one tenant within the caller's transaction."""

    def __init__(
        self,
        session: Session,
        tenant_id: str,
        *,
        at: datetime,
        cause: str,
        keyring: KeyRing,
        identify: Identify | None = None,
    ) -> None:
        """``identify`` names the associates whose links or plan state change,
        for the ledger and log rows (:mod:`licensing_core.identities`); by
        default their associate rows do."""
        self.session = session
        self.tenant_id = tenant_id
        self.at = at
        self.cause = cause
        self.keyring = keyring
        self.identify = identify or partial(associate_identities, session, tenant_id)
        self._catalog: LicenseCatalog | None = None
        # Seats in use per restricted module when first counted, and this
        # book's net change since (grants +, releases -).
        self._in_use: dict[int, int] | None = None
        self._moved: Counter[int] = Counter()
        self._last_ids: dict[str, int] | None = None
        self._releases: list[Release] = []
        self._grants: list[Grant] = []

    @property
    def catalog(self) -> LicenseCatalog:
        """The tenant's catalog, read when first needed (one query, under the
        plan lock). From then on the book stamps its rows no earlier than the
        latest moment the tenant's ledger or plan-state log records: a
        transaction that started earlier but got the plan lock later must not
        record its changes as if they came first, or the history (and every
        report replaying it in time order) would put them in the wrong order."""
        if self._catalog is None:
            self._catalog = load_catalog(self.session, self.tenant_id, self.keyring)
            latest = self._catalog.last_ids.at
            if latest is not None and latest > self.at:
                self.at = latest
        return self._catalog

    def _free(self, module: Module) -> int | None:
        """Seats of ``module`` left as this book's changes leave them (None:
        unrestricted); the first call counts every restricted module's links."""
        if module.unrestricted:
            return None
        if self._in_use is None:
            restricted = [m.id for m in self.catalog.modules if not m.unrestricted]
            self._in_use = seats_in_use(self.session, self.tenant_id, restricted)
        return module.license_number - self._in_use.get(module.id, 0) - self._moved[module.id]

    def _full(self, module: Module) -> bool:
        free = self._free(module)
        return free is not None and free <= 0

    def _number(self, kind: str, count: int) -> int:
        """The first of ``count`` new ids of ``kind`` (link, ledger, log) for the tenant."""
        if self._last_ids is None:
            last = self.catalog.last_ids
            self._last_ids = {"link": last.link, "ledger": last.ledger, "log": last.log}
        first = self._last_ids[kind] + 1
        self._last_ids[kind] += count
        return first

    # ------------------------------------------------------------------ public

    def apply(
        self,
        requests: Mapping[int, Combination],
        *,
        forget: Iterable[int] = (),
        serve_queue: bool = False,
    ) -> dict[int, Outcome]:
        """Give each associate of ``requests`` the plans asked for, as far as seats allow.

        An associate whose request is unchanged and who is not waiting is left
        alone (one read). ``forget``: associates about to be deleted: every
        link is released and the plan state dropped. ``serve_queue``: offer
        seats to the waiting queue even if nothing was released here (after
        a license import or on reconcile).

        :returns: the outcome of every associate whose plans were evaluated,
            queued ones served on the way included.
        """
        forgotten = set(forget)
        holdings = read_holdings(self.session, self.tenant_id, [*requests, *forgotten])
        work: dict[int, _Work] = {}
        for assoc_id in sorted(requests):
            holding, want = holdings[assoc_id], requests[assoc_id]
            if assoc_id in forgotten:
                continue
            if (
                holding.requested == want.name
                and holding.state != PENDING
                and not self._holds_failing(holding)
            ):
                continue  # licensed already, or nothing asked and nothing held
            work[assoc_id] = self._work(holding, want)
        for assoc_id in sorted(forgotten):
            work[assoc_id] = self._work(holdings[assoc_id], NO_SELECTION, forget=True)
        if not work and not serve_queue:
            return {}

        freed = False
        for item in work.values():
            target = self.catalog.modules_of(item.want)
            freed |= self._release(item, [m for m in item.held if m not in target])
        someone_waits = self.catalog.waiting > 0 or serve_queue
        if (freed or serve_queue) and someone_waits and self.catalog.read_only(self.at) is None:
            for holding in pending_queue(self.session, self.tenant_id):
                if holding.associate_id not in work:
                    want = Combination.parse(holding.requested)
                    work[holding.associate_id] = self._work(holding, want)
        self._grant_in_queue_order(list(work.values()))
        outcomes = {item.assoc_id: self._outcome(item) for item in work.values()}
        records = self._records(work, outcomes)
        identities = self._identities(records)
        links.write(
            self.session,
            self.tenant_id,
            self._releases,
            self._grants,
            at=self.at,
            cause=self.cause,
            number=self._number,
            identities=identities,
        )
        self._write(records, identities)
        self._releases, self._grants = [], []
        return outcomes

    def serve_queue(self) -> dict[int, Outcome]:
        """Offer seats to every waiting associate, oldest first."""
        return self.apply({}, serve_queue=True)

    # ----------------------------------------------------------------- deciding

    def _work(self, holding: Holding, want: Combination, forget: bool = False) -> _Work:
        waiting = holding.state == PENDING and holding.pending_since is not None
        queued_at = holding.pending_since if waiting else None
        return _Work(holding, want, queued_at, forget, held=set(holding.links))

    def _holds_failing(self, holding: Holding) -> bool:
        """Whether ``holding`` links a license row that fails verification: the
        license stopped working, so it is released (and the plan waits) the
        next time the holder is recomputed (docs/licensing.md §5)."""
        return any(
            (module := self._module(module_id)) is not None and module.invalid
            for module_id in holding.links
        )

    def _module(self, module_id: int) -> Module | None:
        return self.catalog.by_id.get(module_id)

    def _release(self, item: _Work, module_ids: Iterable[int]) -> bool:
        """Give back these links of ``item``; True when a seat was freed."""
        freed = False
        for module_id in sorted(module_ids):
            module = self._module(module_id)
            if module is None:
                continue  # a link to a row that is not a user license: left to check
            item.held.discard(module_id)
            self._releases.append(Release(module, item.assoc_id, item.holding.links[module_id]))
            self._moved[module_id] -= links.SEAT
            freed |= not module.unrestricted
        return freed

    def _grant_in_queue_order(self, items: list[_Work]) -> None:
        queue = sorted(items, key=lambda item: (item.queued_at or self.at, item.assoc_id))
        waiting = [item for item in queue if not item.forget]
        while waiting:
            for item in waiting:
                self._grant(item)
            freed = False
            for item in waiting:
                keep = self.catalog.modules_of(item.granted)
                freed |= self._release(item, [m for m in item.held if m not in keep])
            # Seats freed by refused plans go round again, oldest first.
            waiting = [item for item in waiting if freed and item.short]

    def _grant(self, item: _Work) -> None:
        stopped = self.catalog.read_only(self.at)
        for plan in item.want:
            if plan in item.granted:
                continue
            try:
                required = self.catalog.required(plan)
                missing = [m for m in required if m.id not in item.held]
                if missing and stopped is not None:
                    raise stopped
                short = next((m for m in missing if self._full(m)), None)
                if short is not None:
                    item.short.add(plan)
                    raise SeatShortage(short.name, links.SEAT, 0)
            except LicensingError as exc:
                module_name = getattr(exc, "module_name", plan.module_name)
                item.refused[plan] = PlanRefusal(plan, str(exc), module_name)
                continue
            for module in missing:
                self._moved[module.id] += links.SEAT
                self._grants.append(Grant(module, item.assoc_id))
                item.held.add(module.id)
            item.refused.pop(plan, None)
            item.short.discard(plan)
            item.granted.append(plan)

    def _outcome(self, item: _Work) -> Outcome:
        before = {self._name(m) for m in item.holding.links}
        after = {self._name(m) for m in item.held}
        refused = tuple(item.refused[p] for p in item.want if p in item.refused)
        state = NO_PLAN if item.want.is_empty else PENDING if refused else LICENSED
        return Outcome(
            assoc_id=item.assoc_id,
            requested=item.want,
            granted=Combination.of(item.granted),
            state=state,
            refused=refused,
            added=tuple(sorted(after - before)),
            removed=tuple(sorted(before - after)),
            granted_before=item.holding.granted,
            state_before=item.holding.state,
            reason_before=item.holding.reason,
        )

    def _name(self, module_id: int) -> str:
        module = self._module(module_id)
        return module.name if module is not None else f"#{module_id}"

    # ---------------------------------------------------------------- recording

    def _records(self, work: dict[int, _Work], outcomes: dict[int, Outcome]) -> _Records:
        upserts: list[dict] = []
        logs: list[dict] = []
        dropped: list[int] = []
        for assoc_id, item in work.items():
            holding, outcome = item.holding, outcomes[assoc_id]
            if item.forget:
                if holding.stored:
                    dropped.append(assoc_id)
                if holding.state != NO_PLAN:
                    logs.append(self._log_row(assoc_id, NO_PLAN, "", DELETED))
                continue
            pending_since = None
            if outcome.state == PENDING:
                pending_since = (item.queued_at if holding.state == PENDING else None) or self.at
            row = {
                "requested": outcome.requested.name,
                "granted": outcome.granted.name,
                "state": outcome.state,
                "reason": outcome.reason[:255],
                "pending_since": pending_since,
            }
            stored = {
                "requested": holding.requested,
                "granted": holding.granted,
                "state": holding.state,
                "reason": holding.reason,
                "pending_since": holding.pending_since,
            }
            if row == stored:
                continue  # an empty request of an associate without a row lands here too
            upserts.append(
                {
                    "tenant_id": self.tenant_id,
                    "associate_id": assoc_id,
                    **row,
                    "version": holding.version + 1,
                    "updated": self.at,
                }
            )
            seen = (holding.state, holding.requested, holding.reason)
            if seen != (row["state"], row["requested"], row["reason"]):
                logs.append(self._log_row(assoc_id, outcome.state, row["requested"], row["reason"]))
        return _Records(upserts, logs, dropped)

    def _identities(self, records: _Records) -> Mapping[int, Identity]:
        """Who each associate whose links or logged state change is, one lookup."""
        involved = {change.assoc_id for change in (*self._releases, *self._grants)}
        involved |= {log["associate_id"] for log in records.logs}
        if not involved:
            return {}
        return self.identify(sorted(involved))

    def _write(self, records: _Records, identities: Mapping[int, Identity]) -> None:
        if records.dropped:
            self.session.execute(
                delete(AssociatePlan).where(
                    AssociatePlan.tenant_id == self.tenant_id,
                    AssociatePlan.associate_id.in_(records.dropped),
                )
            )
        if records.upserts:
            self._upsert(records.upserts)
        if records.logs:
            # Appended, never updated: usage reports replay it for past periods.
            first = self._number("log", len(records.logs))
            nobody = Identity("")
            for i, log in enumerate(records.logs):
                identity = identities.get(log["associate_id"], nobody)
                log.update(log_id=first + i, userName=identity.user_name, scim_id=identity.scim_id)
            self.session.execute(insert(PlanStateLog.__table__), records.logs)

    def _upsert(self, rows: list[dict]) -> None:
        dialect = self.session.get_bind().dialect.name
        table = AssociatePlan.__table__
        statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        columns = ("requested", "granted", "state", "reason", "pending_since", "version", "updated")
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.associate_id],
            set_={name: statement.excluded[name] for name in columns},
        )
        self.session.execute(statement, rows)

    def _log_row(self, assoc_id: int, state: str, requested: str, reason: str) -> dict:
        return {
            "tenant_id": self.tenant_id,
            "at": self.at,
            "associate_id": assoc_id,
            "state": state,
            "requested": requested,
            "reason": reason[:255],
        }
