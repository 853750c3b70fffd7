"""Differential tests: random provisioning histories, driven through the SCIM store and
the provisioner with a controlled clock, reported from the ledger, must equal an
independent recount.

The recount never reads the ledger or the state log. With unrestricted seats it
models who holds what from the operations alone (a user in plan-named groups
holds, per solution, the highest tier among them, while active). With scarce
seats it snapshots the current links and plan states after every operation.
Either way it gets a timeline of "who held what from when", and computes every
figure by brute force over that timeline, for several periods.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from licensing_core.periods import Period, parse_period
from licensing_core.plans import BASE_PLANS
from licensing_core.tables import (
    PENDING,
    USER_PLAN_FLAG,
    AssociatePlan,
    LicenseAssocLink,
    ModuleLicense,
)
from licensing_core.usage import explain, usage_report
from tests.provisioning_helpers import Directory

PLAN_GROUPS = ["Sales-Premium", "Sales-Essentials", "Service-Essentials", "Marketing-Premium"]
USERS = 4
START = datetime(2026, 9, 25, 7, 0)
AS_OF = datetime(2030, 1, 1)
PERIODS = [
    "2026-10",
    "2026-11",
    parse_period("2026-Q4"),  # a quarter's span on monthly tenants: given as a Period
    Period("custom", datetime(2026, 10, 3, 5, 30), datetime(2026, 10, 17, 16, 0)),
]
TIERS = {"Essentials": 1, "Premium": 2}
PLAN_OF_MODULE = {plan.module_name: plan.name for plan in BASE_PLANS}
SOLUTIONS = ["Sales", "Service", "Marketing"]

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, USERS - 1), st.sampled_from(PLAN_GROUPS)),
    st.tuples(st.just("remove"), st.integers(0, USERS - 1), st.sampled_from(PLAN_GROUPS)),
    st.tuples(st.just("active"), st.integers(0, USERS - 1), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, USERS - 1), st.none()),
)
# Each operation waits 0 to 12 days (in minutes, so changes fall at any time of day).
history = st.lists(st.tuples(st.integers(0, 12 * 24 * 60), operation), min_size=1, max_size=22)

# --------------------------------------------------------------------------- the model


def merged(groups: set[str]) -> frozenset[str]:
    """Per solution, the highest tier among the plan-named groups."""
    best: dict[str, str] = {}
    for name in groups:
        solution, tier = name.split("-")
        if solution not in best or TIERS[tier] > TIERS[best[solution]]:
            best[solution] = tier
    return frozenset(f"{s}-{t}" for s, t in best.items())


def combination(plans: frozenset[str]) -> str:
    return " + ".join(
        sorted(plans, key=lambda p: (SOLUTIONS.index(p.split("-")[0]), TIERS[p.split("-")[1]]))
    )


Timeline = list[tuple[datetime, dict[object, frozenset[str]]]]


def state_at(timeline: Timeline, moment: datetime) -> dict[object, frozenset[str]]:
    """Holdings after every change stamped at or before ``moment``."""
    held: dict[object, frozenset[str]] = {}
    for at, snapshot in timeline:
        if at > moment:
            break
        held = snapshot
    return held


def keys_of(held: dict[object, frozenset[str]]) -> dict[str, set]:
    """Which users count for each figure's name in one state."""
    out: dict[str, set] = defaultdict(set)
    for user, plans in held.items():
        if plans:
            out["users"].add(user)
        if plans and "(pending)" not in plans:
            out[f"combination {combination(plans)}"].add(user)
            for plan in plans:
                out[f"plan {plan}"].add(user)
    return out


def recount(timeline: Timeline, start: datetime, end: datetime) -> dict[str, tuple]:
    """name -> (at_end, peak, peak_day, users, plan_days), by brute force."""
    cuts = sorted({start, end} | {at for at, _ in timeline if start < at < end})
    figures: dict[str, dict] = defaultdict(
        lambda: {"peak": 0, "users": set(), "days": 0.0, "peak_day": 0}
    )
    for lo, hi in itertools.pairwise(cuts):
        for name, users in keys_of(state_at(timeline, lo)).items():
            entry = figures[name]
            entry["peak"] = max(entry["peak"], len(users))
            entry["users"] |= users
            entry["days"] += len(users) * (hi - lo).total_seconds() / 86_400
    day = datetime(start.year, start.month, start.day)
    while day < end:
        close = min(day + timedelta(days=1), end) - timedelta(microseconds=1)
        for name, users in keys_of(state_at(timeline, close)).items():
            figures[name]["peak_day"] = max(figures[name]["peak_day"], len(users))
        day += timedelta(days=1)
    at_end = keys_of(state_at(timeline, end - timedelta(microseconds=1)))
    return {
        name: (len(at_end.get(name, ())), e["peak"], e["peak_day"], len(e["users"]), e["days"])
        for name, e in figures.items()
    }


def reported(report) -> dict[str, tuple]:
    usages = [
        *(("plan", u) for u in report.plans),
        *(("combination", u) for u in report.combinations),
        ("users", report.all_users),
    ]
    return {
        (kind if kind == "users" else f"{kind} {u.name}"): (
            u.in_use_at_end,
            u.peak,
            u.peak_day,
            u.users,
            u.plan_days,
        )
        for kind, u in usages
        if u.users
    }


def assert_same(got: dict[str, tuple], want: dict[str, tuple], label) -> None:
    assert set(got) == set(want), label
    for name in want:
        assert got[name][:4] == want[name][:4], (label, name)
        assert got[name][4] == pytest.approx(want[name][4], abs=1e-6), (label, name)


# --------------------------------------------------------------------------- driving


def run(d: Directory, steps, observe) -> Timeline:
    """Apply ``steps``; after each change, ``observe()`` the holdings at the change's instant."""
    d.clock = START
    users = [d.create_user(f"u{i}") for i in range(USERS)]
    groups = {name: d.create_group(name) for name in PLAN_GROUPS}
    member: dict[int, set[str]] = {i: set() for i in range(USERS)}
    gone: set[int] = set()
    timeline: Timeline = []
    for wait, (kind, index, arg) in steps:
        if index in gone:
            continue
        d.clock += timedelta(minutes=wait)
        if kind == "add":
            d.add(groups[arg], users[index])
            member[index].add(arg)
        elif kind == "remove":
            d.remove(groups[arg], users[index])
            member[index].discard(arg)
        elif kind == "active":
            d.set_active(users[index], arg)
        else:
            d.delete_user(users[index])
            gone.add(index)
        timeline.append((d.clock, observe(index, kind, arg, member, gone)))
    return timeline


def pure_model():
    """Holdings from the operations alone: group plans while active, nothing once deleted."""
    active: dict[int, bool] = defaultdict(lambda: True)
    held: dict[object, frozenset[str]] = {}

    def observe(index, kind, arg, member, gone):
        if kind == "active":
            active[index] = arg
        held[f"u{index}"] = (
            frozenset() if index in gone or not active[index] else merged(member[index])
        )
        return dict(held)

    return observe


def snapshot(db, tenant_id):
    """Holdings and pending users as the current tables say, keyed by associate id."""

    def observe(*_):
        with db.read() as session:
            links = session.execute(
                select(LicenseAssocLink.assoc_id, ModuleLicense.module_name)
                .join(
                    ModuleLicense,
                    (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
                    & (ModuleLicense.id == LicenseAssocLink.module_license_id),
                )
                .where(
                    LicenseAssocLink.tenant_id == tenant_id,
                    LicenseAssocLink.license_number > 0,
                    ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
                )
            ).all()
            pending = session.execute(
                select(AssociatePlan.associate_id).where(
                    AssociatePlan.tenant_id == tenant_id, AssociatePlan.state == PENDING
                )
            ).scalars()
            held: dict[object, set[str]] = defaultdict(set)
            for assoc_id, module_name in links:
                held[assoc_id].add(PLAN_OF_MODULE[module_name])
            holdings = {user: frozenset(plans) for user, plans in held.items()}
            holdings.update({("pending", a): frozenset({"(pending)"}) for a in pending})
            return holdings

    return observe


def split_pending(timeline: Timeline) -> tuple[Timeline, Timeline]:
    plans = [(at, {u: p for u, p in h.items() if "(pending)" not in p}) for at, h in timeline]
    waiting = [(at, {u: p for u, p in h.items() if "(pending)" in p}) for at, h in timeline]
    return plans, waiting


# --------------------------------------------------------------------------- properties


@settings(max_examples=20)
@given(steps=history)
def test_report_equals_a_recount_from_the_operations(db, steps):
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    d = Directory(db, tenant_id, seats=1, unrestricted=True)
    timeline = run(d, steps, pure_model())
    with db.read() as session:
        for period in PERIODS:
            report = usage_report(session, tenant_id, period, as_of=AS_OF)
            want = recount(timeline, report.period.start, report.period.end)
            assert_same(reported(report), want, period)
            holders = {
                row.name
                for row in explain(session, tenant_id, report.period, "Sales-Premium", as_of=AS_OF)
            }
            assert len(holders) == want.get("plan Sales-Premium", (0, 0, 0, 0, 0))[3]
            assert report.pending.during == 0


@settings(max_examples=15)
@given(steps=history)
def test_report_and_pending_equal_snapshots_when_seats_are_scarce(db, steps):
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    d = Directory(db, tenant_id, seats={plan.name: 1 for plan in BASE_PLANS})
    timeline = run(d, steps, snapshot(db, tenant_id))
    plans, waiting = split_pending(timeline)
    with db.read() as session:
        for period in PERIODS:
            report = usage_report(session, tenant_id, period, as_of=AS_OF)
            start, end = report.period.start, report.period.end
            assert_same(reported(report), recount(plans, start, end), period)
            pending = recount(waiting, start, end).get("users", (0, 0, 0, 0, 0.0))
            assert (report.pending.at_end, report.pending.during) == (pending[0], pending[3])
