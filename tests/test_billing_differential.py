"""The billing report against an independent recount, over random histories driven
through the HTTP layer (issue 11): users created, deleted and created again under
the same userName, deactivated and reactivated, moved between plan groups;
license sets imported (more seats, fewer seats, refused when too few) and
expired (past their grace date, licenses are read-only) — with a clock the test
controls.

The recount never reads the ledger, the plan-state log or the license history.
After every request it snapshots the raw current tables: which plan each SCIM
user (by SCIM id, so two people who shared a userName stay two) holds in
``licenseassoclink``, who waits in ``associate_plan``, and the seats each plan
row of ``modulelicense`` grants. Every report figure, Bought included, is then
recomputed by brute force over that timeline for several periods.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from licensing_core.plans import BASE_PLANS
from licensing_core.tables import (
    PENDING,
    USER_PLAN_FLAG,
    AssociatePlan,
    LicenseAssocLink,
    ModuleLicense,
)
from scimsrv.http.app import create_app
from scimsrv.storage.tables import ScimUser
from tests.licensing_helpers import make_tenant, signed_set
from tests.scim_client import Clock, Operator, Tenant
from tests.test_usage_differential import recount, split_pending, state_at

START = datetime(2026, 9, 20, 8, 0)
NAMES = ["ann", "bob", "cy", "dee"]
GROUPS = ["Sales-Premium", "Sales-Essentials", "Service-Premium"]
PLAN_OF_MODULE = {plan.module_name: plan.name for plan in BASE_PLANS}
PERIODS = ["2026-09", "2026-10", "2026-11"]
AS_OF = datetime(2027, 1, 1)

step = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(NAMES)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("active"), st.sampled_from(NAMES), st.booleans()),
    st.tuples(st.just("move"), st.sampled_from(NAMES), st.sampled_from([*GROUPS, None])),
    st.tuples(st.just("import_set"), st.integers(1, 3)),
    st.tuples(st.just("expire")),
)
# Each step waits 0 to 9 days (in minutes: changes fall at any time of day).
history = st.lists(st.tuples(st.integers(0, 9 * 24 * 60), step), min_size=1, max_size=18)


class World:
    """One tenant on the real app, driven over HTTP, and its raw-table timeline."""

    def __init__(self, db, client: TestClient, tenant_id: str, clock: Clock) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.clock = clock
        self.scim = Tenant(client, db, tenant_id, clock)
        self.operator = Operator(client, db, tenant_id)
        self.users: dict[str, dict] = {}  # userName -> the live user
        self.groups = {name: self.scim.group(name) for name in GROUPS}
        self.member: dict[str, str] = {}  # user id -> its plan group
        self.timeline: list[tuple[datetime, dict]] = []
        self.bought: list[tuple[datetime, dict[str, int | None]]] = []
        self.observe()

    def do(self, wait: int, action: tuple) -> None:
        self.clock.now += timedelta(minutes=wait)
        kind, *args = action
        getattr(self, kind)(*args)
        self.observe()

    def create(self, name: str) -> None:
        if name not in self.users:
            self.users[name] = self.scim.user(name)

    def delete(self, name: str) -> None:
        if name in self.users:
            user = self.users.pop(name)
            self.member.pop(user["id"], None)
            self.scim.ok("DELETE", f"/Users/{user['id']}")

    def active(self, name: str, flag: bool) -> None:
        if name in self.users:
            body = {"op": "replace", "path": "active", "value": flag}
            self.scim.patch(f"/Users/{self.users[name]['id']}", body)

    def move(self, name: str, group: str | None) -> None:
        if name not in self.users:
            return
        user_id = self.users[name]["id"]
        old = self.member.pop(user_id, None)
        if old is not None:
            path = f'members[value eq "{user_id}"]'
            self.scim.patch(f"/Groups/{self.groups[old]['id']}", {"op": "remove", "path": path})
        if group is not None:
            value = [{"value": user_id}]
            operation = {"op": "add", "path": "members", "value": value}
            self.scim.patch(f"/Groups/{self.groups[group]['id']}", operation)
            self.member[user_id] = group

    def import_set(self, seats: int, **owner) -> None:
        spec = signed_set({name: seats for name in GROUPS}, **owner)
        response = self.operator.import_set(spec)
        # Too few seats for the holders: refused with who holds them, nothing changed.
        assert response.status_code in (200, 409), response.text

    def expire(self) -> None:
        """A set whose grace date has passed: licenses read-only from now on."""
        past = self.clock.now - timedelta(days=1)
        self.import_set(3, expiration=past - timedelta(days=30), grace_to=past)

    def observe(self) -> None:
        """Snapshot the raw tables at the instant of the last write."""
        with self.db.read() as session:
            links = session.execute(
                select(ScimUser.id, ModuleLicense.module_name)
                .join_from(
                    LicenseAssocLink,
                    ModuleLicense,
                    (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
                    & (ModuleLicense.id == LicenseAssocLink.module_license_id),
                )
                .join(
                    ScimUser,
                    (ScimUser.tenant_id == LicenseAssocLink.tenant_id)
                    & (ScimUser.associate_id == LicenseAssocLink.assoc_id),
                )
                .where(
                    LicenseAssocLink.tenant_id == self.tenant_id,
                    LicenseAssocLink.license_number > 0,
                    ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
                )
            ).all()
            waiting = session.execute(
                select(ScimUser.id)
                .join(
                    AssociatePlan,
                    (AssociatePlan.tenant_id == ScimUser.tenant_id)
                    & (AssociatePlan.associate_id == ScimUser.associate_id),
                )
                .where(ScimUser.tenant_id == self.tenant_id, AssociatePlan.state == PENDING)
            ).scalars()
            rows = session.execute(
                select(
                    ModuleLicense.module_name,
                    ModuleLicense.license_number,
                    ModuleLicense.unrestricted,
                ).where(
                    ModuleLicense.tenant_id == self.tenant_id,
                    ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
                )
            ).all()
        held: dict[object, set[str]] = {}
        for user_id, module_name in links:
            held.setdefault(user_id, set()).add(PLAN_OF_MODULE[module_name])
        holdings: dict[object, frozenset[str]] = {u: frozenset(p) for u, p in held.items()}
        holdings.update({("pending", u): frozenset({"(pending)"}) for u in waiting})
        self.timeline.append((self.clock.now, holdings))
        seats = {PLAN_OF_MODULE[m]: (None if free else n) for m, n, free in rows}
        self.bought.append((self.clock.now, seats))


def reported(body: dict) -> dict[str, tuple]:
    """The report's figures as :func:`recount` names them (figures with users only)."""
    named = [
        *((f"plan {u['name']}", u) for u in body["plans"]),
        *((f"combination {u['name']}", u) for u in body["combinations"]),
        ("users", body["users"]),
    ]
    return {
        name: (u["in_use_at_end"], u["peak"], u["peak_day"], u["users"], u["plan_days"])
        for name, u in named
        if u["users"]
    }


def assert_same(got: dict[str, tuple], want: dict[str, tuple], label) -> None:
    assert set(got) == set(want), label
    for name in want:
        assert got[name][:4] == want[name][:4], (label, name)
        # The JSON rounds plan-days to 4 decimals.
        assert got[name][4] == pytest.approx(want[name][4], abs=1e-4), (label, name)


def bought_recount(
    bought: list[tuple[datetime, dict]], start: datetime, end: datetime
) -> dict[str, tuple[int, int | None]]:
    """Plan -> (bought at the span's end, the most at any moment of it; None: unrestricted)."""
    in_force = [seats for at, seats in bought if start < at < end]
    first = state_at(bought, start)
    states = ([first] if first else []) + in_force
    last = state_at(bought, end - timedelta(microseconds=1))
    result = {}
    for plan in BASE_PLANS:
        numbers = [seats.get(plan.name, 0) for seats in states]
        most = None if None in numbers else max(numbers, default=0)
        result[plan.name] = (last.get(plan.name, 0) or 0, most)
    return result


# Always tried: a licensed user deleted and a new one created under the same
# userName, seats raised then lowered below the holders (refused), expiry.
KNOWN = [
    (0, ("create", "ann")),
    (60, ("move", "ann", "Sales-Premium")),
    (3 * 24 * 60, ("delete", "ann")),
    (60, ("create", "ann")),
    (60, ("move", "ann", "Sales-Premium")),
    (24 * 60, ("import_set", 3)),
    (60, ("create", "bob")),
    (60, ("move", "bob", "Sales-Premium")),
    (60, ("create", "cy")),
    (60, ("move", "cy", "Sales-Premium")),
    (24 * 60, ("import_set", 1)),
    (9 * 24 * 60, ("expire",)),
    (60, ("create", "dee")),
    (60, ("move", "dee", "Service-Premium")),
    (60, ("active", "bob", False)),
]


@settings(max_examples=12)
@example(steps=KNOWN)
@given(steps=history)
def test_every_report_figure_equals_a_recount_from_the_raw_tables(db, steps):
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    clock = Clock(START)
    make_tenant(db, tenant_id, seats={name: 2 for name in GROUPS}, at=START)
    with TestClient(create_app(db=db, clock=clock)) as client:
        world = World(db, client, tenant_id, clock)
        for wait, action in steps:
            world.do(wait, action)
        plans, waiting = split_pending(world.timeline)
        # Reports count only what has happened: time goes on to AS_OF first.
        clock.now = max(clock.now, AS_OF)
        for label in PERIODS:
            body = world.operator.ok("GET", "/reports/usage", period=label, asOf=AS_OF.isoformat())
            start = datetime.fromisoformat(body["period"]["start"])
            end = datetime.fromisoformat(body["period"]["end"])
            assert_same(reported(body), recount(plans, start, end), label)
            pending = recount(waiting, start, end).get("users", (0, 0, 0, 0, 0.0))
            assert (body["pending"]["at_end"], body["pending"]["during"]) == (
                pending[0],
                pending[3],
            ), label
            seats = bought_recount(world.bought, start, end)
            for figure in body["plans"]:
                unrestricted = figure["unrestricted"]
                got = (None if unrestricted else figure["bought"], figure["bought_most"])
                want_end, want_most = seats[figure["name"]]
                assert got == (want_end, want_most), (label, figure["name"])
            assert body["period"]["status"] == "complete"
        assert world.scim.problems() == []
