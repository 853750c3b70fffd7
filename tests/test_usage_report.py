"""Usage reports for pay-per-use billing: periods, figures from the ledger only,
retired users and licenseNumber 0, pending users, the billable figure, explain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, insert, select, update

from licensing_core.errors import InvalidCombination, UnknownTenant
from licensing_core.periods import (
    InvalidPeriod,
    parse_contract_start,
    parse_period,
    period_containing,
    period_for_label,
    previous_period,
)
from licensing_core.tables import LedgerEntry, Tenant
from licensing_core.usage import PLAN_BITS, explain, plans_held_at, usage_report
from tests.licensing_helpers import add_associates, make_tenant
from tests.provisioning_helpers import Directory

AFTER = datetime(2030, 1, 1)


def test_period_labels_are_calendar_spans_when_no_contract_start():
    assert (parse_period("2026-10").start, parse_period("2026-10").end) == (
        datetime(2026, 10, 1),
        datetime(2026, 11, 1),
    )
    assert parse_period("2026-Q4").start == datetime(2026, 10, 1)
    assert parse_period("2026-Q4").end == datetime(2027, 1, 1)
    assert parse_period("2026-H2").start == datetime(2026, 7, 1)
    assert parse_period("2026").end == datetime(2027, 1, 1)


def test_period_label_is_the_contract_period_that_begins_inside_the_span():
    start = date(2026, 3, 15)
    assert parse_period("2026-10", start).start == datetime(2026, 10, 15)
    assert parse_period("2026-10", start).end == datetime(2026, 11, 15)
    assert parse_period("2026-Q4", start).start == datetime(2026, 12, 15)
    assert parse_period("2026-Q4", start).end == datetime(2027, 3, 15)
    assert parse_period("2026-H2", start).start == datetime(2026, 9, 15)
    assert parse_period("2026", start).start == datetime(2026, 3, 15)


def test_anchor_day_missing_from_a_month_falls_on_its_last_day_and_periods_tile():
    start = date(2026, 1, 31)
    feb, mar = parse_period("2026-02", start), parse_period("2026-03", start)
    assert feb.start == datetime(2026, 2, 28)
    assert feb.end == mar.start == datetime(2026, 3, 31)
    for label in ["2026-01", "2026-04", "2026-07", "2027-02"]:
        period = parse_period(label, start)
        following = period_containing(period.end, "monthly", start)
        assert following.start == period.end


def test_period_containing_and_previous_agree_with_the_labels():
    start = date(2026, 3, 15)
    period = period_containing(datetime(2026, 11, 3), "quarterly", start)
    assert period == parse_period(period.label, start)
    assert period.start == datetime(2026, 9, 15)
    assert previous_period(period, "quarterly", start).end == period.start


@pytest.mark.parametrize(
    "label", ["2026-13", "2026-Q5", "2026-H3", "26-10", "2026-10-01", "", "0001", "1899-12"]
)
def test_invalid_period_label_is_refused(label):
    with pytest.raises(InvalidPeriod):
        parse_period(label)


@pytest.mark.parametrize(
    ("label", "billing_period"),
    [
        ("2026-10", "monthly"),
        ("2026-Q4", "quarterly"),
        ("2026-H2", "half-yearly"),
        ("2026", "yearly"),
    ],
)
def test_a_label_of_the_billing_period_names_that_period(label, billing_period):
    start = date(2026, 3, 15)
    assert period_for_label(label, billing_period, start) == parse_period(label, start)
    assert period_for_label(label, billing_period) == parse_period(label)


@pytest.mark.parametrize(
    ("label", "billing_period", "start", "fitting"),
    [
        # The example of the issue: a month asked of a quarterly tenant.
        ("2026-10", "quarterly", None, "use 2026-Q4 (2026-10-01 to 2027-01-01)"),
        (
            "2026-Q4",
            "monthly",
            None,
            "use 2026-10 (2026-10-01 to 2026-11-01), 2026-11 (2026-11-01 to 2026-12-01) "
            "or 2026-12 (2026-12-01 to 2027-01-01)",
        ),
        ("2026-10", "quarterly", date(2026, 3, 15), "use 2026-Q3 (2026-09-15 to 2026-12-15)"),
        (
            "2026-12",
            "quarterly",
            date(2026, 3, 15),
            "use 2026-Q3 (2026-09-15 to 2026-12-15) or 2026-Q4 (2026-12-15 to 2027-03-15)",
        ),
        ("2026-H2", "yearly", date(2026, 3, 15), "use 2026 (2026-03-15 to 2027-03-15)"),
        ("9998-H2", "yearly", date(2026, 12, 15), "9998 (9998-12-15 to 9999-12-15)"),
    ],
)
def test_a_label_of_another_length_is_refused_with_the_overlapping_periods(
    label, billing_period, start, fitting
):
    with pytest.raises(InvalidPeriod) as refused:
        period_for_label(label, billing_period, start)
    message = str(refused.value)
    assert message.endswith(fitting), message
    assert f"billing is {billing_period}" in message


def test_every_suggested_label_fits_and_the_suggestions_cover_the_span():
    start = date(2026, 1, 31)
    for billing_period in ("monthly", "quarterly", "half-yearly", "yearly"):
        for label in ("2026-02", "2026-Q1", "2026-H2", "2027"):
            try:
                period_for_label(label, billing_period, start)
                continue
            except InvalidPeriod as exc:
                suggested = str(exc).split(": use ")[1].replace(" or ", ", ").split(", ")
            periods = [period_for_label(s.split(" ")[0], billing_period, start) for s in suggested]
            span = parse_period(label)
            assert periods[0].start <= span.start and periods[-1].end >= span.end
            assert all(a.end == b.start for a, b in pairwise(periods))


def test_unknown_billing_period_is_refused_naming_the_four():
    with pytest.raises(InvalidPeriod, match="use monthly, quarterly, half-yearly, yearly"):
        period_for_label("2026-10", "weekly")


@pytest.mark.parametrize("text", ["2026-02-30", "2026-3-1", "15.03.2026", "", "1899-12-31"])
def test_malformed_contract_start_is_refused(text):
    with pytest.raises(InvalidPeriod, match="invalid contract start"):
        parse_contract_start(text)


def test_contract_start_is_a_date():
    assert parse_contract_start("2026-03-15") == date(2026, 3, 15)


def ledger_rows(db, tenant_id: str, rows) -> None:
    """Append raw ledger rows: (at, event, plan module, assoc_id[, licenseNumber])."""
    with db.write() as session:
        last = session.execute(
            select(func.coalesce(func.max(LedgerEntry.id), 0)).where(
                LedgerEntry.tenant_id == tenant_id
            )
        ).scalar_one()
        session.execute(
            insert(LedgerEntry.__table__),
            [
                {
                    "ledger_id": last + n,
                    "tenant_id": tenant_id,
                    "at": at,
                    "event": event,
                    "moduleLicense_id": 1000 + PLAN_BITS[module],
                    "moduleName": module,
                    "is_plan": True,
                    "assoc_id": assoc,
                    "licenseNumber": rest[0] if rest else 1,
                    "cause": "test",
                }
                for n, (at, event, module, assoc, *rest) in enumerate(rows, 1)
            ],
        )


def figures(db, tenant_id, period, name):
    with db.read() as session:
        return usage_report(session, tenant_id, period, as_of=AFTER).usage(name)


def test_a_plan_held_for_part_of_a_month_counts_at_its_share_of_time(db, tenant_id):
    make_tenant(db, tenant_id)
    ledger_rows(
        db,
        tenant_id,
        [
            (datetime(2026, 9, 20), "grant", "sales-premium", 1),
            (datetime(2026, 10, 11), "grant", "sales-premium", 2),
            (datetime(2026, 10, 21), "release", "sales-premium", 2),
            (datetime(2026, 10, 26), "release", "sales-premium", 1),
        ],
    )
    usage = figures(db, tenant_id, "2026-10", "Sales-Premium")
    assert usage.plan_days == pytest.approx(25 + 10)
    assert usage.average == pytest.approx(35 / 31)
    assert (usage.peak, usage.peak_day, usage.in_use_at_end, usage.users) == (2, 2, 0, 2)
    assert usage.peak_day_date == date(2026, 10, 11)
    assert usage.daily[9:12] == (1, 2, 2)


def test_billable_is_the_highest_end_of_day_count_not_a_transient_overlap(db, tenant_id):
    make_tenant(db, tenant_id)
    ledger_rows(
        db,
        tenant_id,
        [
            (datetime(2026, 10, 1, 9), "grant", "service-premium", 1),
            # bob replaces alice on the 5th; for one hour both hold the plan
            (datetime(2026, 10, 5, 9), "grant", "service-premium", 2),
            (datetime(2026, 10, 5, 10), "release", "service-premium", 1),
        ],
    )
    with db.read() as session:
        report = usage_report(session, tenant_id, "2026-10", as_of=AFTER)
    usage = report.usage("Service-Premium")
    assert (usage.peak, usage.peak_day, usage.in_use_at_end) == (2, 1, 1)
    assert report.billable == 1
    assert report.to_json()["billable"]["per_plan"]["Service-Premium"] == 1


def test_release_and_grant_in_one_instant_is_no_spike_and_zero_length_holds_count_nothing(
    db, tenant_id
):
    make_tenant(db, tenant_id)
    moment = datetime(2026, 10, 3, 12)
    ledger_rows(
        db,
        tenant_id,
        [
            (datetime(2026, 10, 1), "grant", "sales-essentials", 1),
            (moment, "release", "sales-essentials", 1),
            (moment, "grant", "sales-essentials", 1),
            (moment, "grant", "marketing-premium", 2),
            (moment, "release", "marketing-premium", 2),
        ],
    )
    assert figures(db, tenant_id, "2026-10", "Sales-Essentials").peak == 1
    assert figures(db, tenant_id, "2026-10", "Sales-Essentials").users == 1
    assert figures(db, tenant_id, "2026-10", "Marketing-Premium").users == 0
    assert figures(db, tenant_id, "2026-10", "users").users == 1


def test_links_with_license_number_zero_are_not_counted(db, tenant_id):
    make_tenant(db, tenant_id)
    ledger_rows(
        db,
        tenant_id,
        [
            (datetime(2026, 10, 2), "grant", "sales-premium", 1, 0),
            (datetime(2026, 10, 2), "grant", "sales-premium", 2, 1),
            (datetime(2026, 10, 9), "release", "sales-premium", 1, 0),
        ],
    )
    usage = figures(db, tenant_id, "2026-10", "Sales-Premium")
    assert (usage.users, usage.peak, usage.in_use_at_end) == (1, 1, 1)


def test_multi_plan_users_are_counted_once_per_combination_and_per_plan(db, tenant_id):
    d = Directory(db, tenant_id, seats=5)
    d.clock = datetime(2026, 9, 30)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Sales-Premium", [alice, bob])
    d.clock = datetime(2026, 10, 16)
    d.create_group("Service-Essentials", [alice])
    with db.read() as session:
        report = usage_report(session, tenant_id, "2026-10", as_of=AFTER)
    combos = {c.name: (c.users, c.in_use_at_end) for c in report.combinations}
    assert combos == {"Sales-Premium": (2, 1), "Sales-Premium + Service-Essentials": (1, 1)}
    assert report.usage("Sales-Premium").in_use_at_end == 2
    assert (report.all_users.users, report.all_users.in_use_at_end) == (2, 2)


def test_retired_users_stop_counting_when_retired_and_past_periods_do_not_change(db, tenant_id):
    d = Directory(db, tenant_id, seats=5)
    d.clock = datetime(2026, 9, 15)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    group = d.create_group("Marketing-Essentials", [alice, bob])
    with db.read() as session:
        before = usage_report(session, tenant_id, "2026-09", as_of=AFTER).to_json()
    d.clock = datetime(2026, 10, 10)
    d.set_active(bob, False)
    d.clock = datetime(2026, 10, 20)
    d.delete_user(alice)
    d.remove(group, bob)
    with db.read() as session:
        after = usage_report(session, tenant_id, "2026-09", as_of=AFTER).to_json()
        october = usage_report(session, tenant_id, "2026-10", as_of=AFTER)
    assert after == before
    usage = october.usage("Marketing-Essentials")
    assert (usage.users, usage.in_use_at_end, usage.peak_day) == (2, 0, 2)
    assert usage.plan_days == pytest.approx(9 + 19, abs=0.001)


def test_a_period_in_progress_is_counted_until_now_and_marked_incomplete(db, tenant_id):
    make_tenant(db, tenant_id)
    ledger_rows(db, tenant_id, [(datetime(2026, 10, 1), "grant", "sales-premium", 1)])
    with db.read() as session:
        report = usage_report(session, tenant_id, "2026-10", as_of=datetime(2026, 10, 11))
    assert not report.complete
    assert report.usage("Sales-Premium").average == pytest.approx(1.0)
    assert len(report.usage("Sales-Premium").daily) == 10


def test_periods_follow_the_tenants_contract_start(db, tenant_id):
    make_tenant(db, tenant_id)
    with db.write() as session:
        session.execute(
            update(Tenant)
            .where(Tenant.tenant_id == tenant_id)
            .values(contract_start=date(2026, 3, 15), billing_period="quarterly")
        )
    ledger_rows(db, tenant_id, [(datetime(2026, 10, 20), "grant", "sales-premium", 1)])
    with db.read() as session:
        report = usage_report(session, tenant_id, "2026-Q3", as_of=AFTER)
        with pytest.raises(InvalidPeriod, match=r"use 2026-Q3 \(2026-09-15 to 2026-12-15\)$"):
            usage_report(session, tenant_id, "2026-10", as_of=AFTER)
    assert (report.period.start, report.period.end) == (
        datetime(2026, 9, 15),
        datetime(2026, 12, 15),
    )
    assert report.billing_period == "quarterly"
    assert report.usage("Sales-Premium").plan_days == pytest.approx(56)


def test_users_pending_for_lack_of_seats_are_reported_for_past_periods(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    d.clock = datetime(2026, 9, 10)
    alice, bob, carol = d.create_user("alice"), d.create_user("bob"), d.create_user("carol")
    d.create_group("Sales-Premium", [alice, bob, carol])
    d.clock = datetime(2026, 10, 5)
    d.set_active(alice, False)  # bob gets the seat, carol keeps waiting
    with db.read() as session:
        september = usage_report(session, tenant_id, "2026-09", as_of=AFTER)
        october = usage_report(session, tenant_id, "2026-10", as_of=AFTER)
        waiting = list(explain(session, tenant_id, october.period, "pending", as_of=AFTER))
    assert (september.pending.at_end, september.pending.during) == (2, 2)
    assert (october.pending.at_end, october.pending.during) == (1, 2)
    assert october.pending.by_request == {"Sales-Premium": 1}
    (listed,) = october.pending.users
    assert (listed.name, listed.requested) == ("carol", "Sales-Premium")
    assert listed.since < datetime(2026, 9, 11)
    assert "no free seat" in listed.reason
    assert [(row.name, row.end is None) for row in waiting] == [("bob", False), ("carol", True)]


def test_explain_lists_the_users_behind_a_plan_with_grant_and_release_times(db, tenant_id):
    make_tenant(db, tenant_id)
    add_associates(db, tenant_id, 3)
    ledger_rows(
        db,
        tenant_id,
        [
            (datetime(2026, 9, 1), "grant", "sales-premium", 1),
            (datetime(2026, 9, 20), "release", "sales-premium", 1),
            (datetime(2026, 10, 3), "grant", "sales-premium", 2),
            (datetime(2026, 10, 4), "grant", "sales-premium", 3),
            (datetime(2026, 10, 8), "release", "sales-premium", 3),
        ],
    )
    with db.read() as session:
        period = usage_report(session, tenant_id, "2026-10", as_of=AFTER).period
        rows = list(explain(session, tenant_id, period, "sales-premium", as_of=AFTER))
        with pytest.raises(InvalidCombination):
            list(explain(session, tenant_id, period, "Gold", as_of=AFTER))
    assert [(r.associate_id, r.start, r.end) for r in rows] == [
        (rows[0].associate_id, datetime(2026, 10, 3), None),
        (rows[1].associate_id, datetime(2026, 10, 4), datetime(2026, 10, 8)),
    ]
    assert figures(db, tenant_id, "2026-10", "Sales-Premium").users == len(rows)


def test_plans_held_at_an_instant_replays_the_ledger(db, tenant_id):
    make_tenant(db, tenant_id)
    t = datetime(2026, 10, 3, 8)
    ledger_rows(
        db,
        tenant_id,
        [(t, "grant", "sales-premium", 1), (t + timedelta(hours=1), "release", "sales-premium", 1)],
    )
    with db.read() as session:
        assert plans_held_at(session, tenant_id, t)["Sales-Premium"] == 1
        assert plans_held_at(session, tenant_id, t - timedelta(seconds=1))["Sales-Premium"] == 0
        assert plans_held_at(session, tenant_id, t + timedelta(hours=1))["Sales-Premium"] == 0


def test_bought_seats_come_from_the_license_set_in_force(db, tenant_id):
    make_tenant(db, tenant_id, seats=7)  # created 2026-11-01 12:00
    with db.read() as session:
        report = usage_report(session, tenant_id, "2026-11", as_of=AFTER)
        before = usage_report(session, tenant_id, "2026-10", as_of=AFTER)
    assert {p.bought for p in report.plans} == {7}
    assert {s.module_name for s in report.login} == {"user", "web"}
    assert report.status == "complete" and before.status == "before the tenant existed"
    assert {p.bought for p in before.plans} == {0} and not before.complete


def test_unknown_tenant_is_refused(db):
    with db.read() as session, pytest.raises(UnknownTenant):
        usage_report(session, "no-such-tenant", "2026-10", as_of=AFTER)
