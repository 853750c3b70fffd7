"""``scimsrv report``: usage counting reports for the billing team, as table, CSV or JSON.

Reports stream tenant by tenant (one read transaction and one report in memory
at a time); ``--explain`` streams the users behind one number. Figures are
defined in :mod:`licensing_core.usage`, period labels in
:mod:`licensing_core.periods`.
"""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from licensing_core.db import Database
from licensing_core.errors import LicensingError
from licensing_core.periods import InvalidPeriod, parse_period, period_for_label
from licensing_core.tenants import TenantInfo
from licensing_core.usage import (
    BEFORE_TENANT,
    BILLABLE_RULE,
    FUTURE,
    IN_PROGRESS,
    ExplainRow,
    Usage,
    UsageReport,
    explain_target,
)
from scimsrv.cli.support import (
    fail,
    migrated,
    noun_app,
    now,
    number,
    plural,
    print_table,
    settings,
    tenant_given,
    warn,
)
from scimsrv.services import reports, tenants
from scimsrv.services.transaction import LOCAL, Service

report_app = noun_app("Usage reports for pay-per-use billing, from the license ledger.")

PROGRESS_FROM = 2  # tenants; fewer finish before a bar would say anything


class Format(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


CSV_COLUMNS = [
    "tenant",
    "period",
    "start",
    "end",
    "complete",
    "kind",
    "name",
    "bought",
    "unrestricted",
    "bought_most",
    "in_use_at_end",
    "peak",
    "peak_day",
    "peak_day_date",
    "average",
    "plan_days",
    "users",
    "billable",
]


def _parse_as_of(text: str | None) -> datetime:
    if text is None:
        return now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"invalid --as-of {text!r}: use an ISO 8601 date or time (UTC)")
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


@report_app.command("usage")
def usage(
    tenant_id: str | None = typer.Argument(
        None,
        metavar="TENANT",
        help="The tenant to report on; or --all.",
        show_default=False,
    ),
    period: str = typer.Option(
        ...,
        "--period",
        help="2026-10 (month), 2026-Q4, 2026-H2 or 2026 (year), as long as the tenant's "
        "billing period; aligned to its contract start (calendar-aligned when it has none).",
    ),
    all_tenants: bool = typer.Option(
        False,
        "--all",
        help="Every tenant billed by periods of the label's length, one after the other.",
    ),
    output: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    explain_name: str | None = typer.Option(
        None,
        "--explain",
        metavar="PLAN",
        help="List the users behind a plan's figures with grant and release times; also "
        "a combination ('Sales-Premium + Service-Essentials'), 'users' or 'pending'.",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Count up to this UTC instant instead of now (ISO 8601)."
    ),
    tenant_option: str | None = typer.Option(None, "--tenant", hidden=True),
) -> None:
    """Plans bought, in use at period end, peak, average and users, per plan and combination;
    the billable figure; users pending for lack of seats.

    A period that has not started yet is reported with every figure 0, and a
    warning says so.
    """
    tenant = tenant_given(tenant_id, tenant_option) if tenant_id or tenant_option else None
    if (tenant is None) == (not all_tenants):
        fail("give either TENANT or --all", code=2)
    if explain_name is not None and tenant is None:
        fail("--explain needs TENANT", code=2)
    moment = _parse_as_of(as_of)
    try:
        parse_period(period)  # the label's syntax, before any database work
    except InvalidPeriod as exc:
        fail(str(exc))
    with migrated() as db:
        if explain_name is not None:
            try:
                explain_target(explain_name)
            except LicensingError as exc:
                fail(str(exc))
            _print_explain(db, tenant, period, explain_name, moment, output)
            return
        tenant_ids = [tenant] if tenant is not None else _fitting(_tenants(db), period)
        _print_reports(
            _reports(db, tenant_ids, period, moment),
            len(tenant_ids),
            output,
            as_array=all_tenants,
        )


def _tenants(db: Database) -> list[TenantInfo]:
    return Service(db, settings()).run(tenants.list_tenants, caller=LOCAL, write=False)


def _fitting(found: list[TenantInfo], label: str) -> list[str]:
    """The tenants ``label`` names a billing period of; the others are named on stderr."""
    fitting, skipped = [], []
    for info in found:
        try:
            period_for_label(label, info.billing_period, info.contract_start)
            fitting.append(info.tenant_id)
        except InvalidPeriod:
            skipped.append(f"{info.tenant_id} ({info.billing_period})")
    if skipped:
        typer.echo(
            f"skipped {plural(len(skipped), 'tenant')} whose billing period {label} does not "
            "name: " + ", ".join(skipped),
            err=True,
        )
    return fitting


def _reports(
    db: Database, tenant_ids: list[str], period: str, as_of: datetime
) -> Iterator[UsageReport]:
    service = Service(db, settings())
    for tenant_id in tenant_ids:
        # One short read transaction per tenant: nothing held across the whole run.
        yield service.run(
            lambda tx: reports.report(tx, period, as_of),
            caller=LOCAL,
            tenant_id=tenant_id,
            write=False,
        )


def _print_reports(
    reports: Iterable[UsageReport], count: int, output: Format, *, as_array: bool
) -> None:
    # The bar goes to a terminal only (never into a log or a pipe), and is gone once done.
    console = Console(stderr=True)
    bar = Progress(
        console=console, transient=True, disable=count < PROGRESS_FROM or not console.is_terminal
    )
    writer = (
        csv.DictWriter(sys.stdout, CSV_COLUMNS, restval="", lineterminator="\n")
        if output is Format.csv
        else None
    )
    if writer is not None:
        writer.writeheader()
    with bar:
        task = bar.add_task("tenants", total=count)
        for index, report in enumerate(reports):
            if report.counted_until <= report.period.start:
                warn(
                    f"period {report.period.label} of tenant {report.tenant_id} has not started "
                    f"yet (it starts {report.period.start:%Y-%m-%d %H:%M}): nothing to count"
                )
            if output is Format.json:
                text = json.dumps(report.to_json(), indent=2)
                if as_array:
                    text = ("[\n" if index == 0 else ",\n") + text
                typer.echo(text, nl=not as_array)
            elif writer is not None:
                writer.writerows(_csv_rows(report))
            else:
                print_report(report)
            sys.stdout.flush()
            bar.advance(task)
    if output is Format.json and as_array:
        typer.echo("\n]" if count else "[]")


def _csv_rows(report: UsageReport) -> Iterator[dict]:
    head = {
        "tenant": report.tenant_id,
        "period": report.period.label,
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "complete": _yes(report.complete),
    }
    for seats in report.login:
        yield head | {
            "kind": "login",
            "name": seats.module_name,
            "bought": seats.bought,
            "unrestricted": _yes(seats.unrestricted),
        }
    for plan in report.plans:
        yield head | {"kind": "plan", "billable": plan.peak_day} | _figures(plan)
    for combination in report.combinations:
        yield head | {"kind": "combination"} | _figures(combination)
    yield head | {"kind": "users"} | _figures(report.all_users)
    yield head | {"kind": "billable", "name": "plan licenses", "billable": report.billable}
    # For pending rows: in_use_at_end = waiting at period end, users = waited at some time.
    yield head | {
        "kind": "pending",
        "name": "(all)",
        "in_use_at_end": report.pending.at_end,
        "users": report.pending.during,
    }
    for requested, waiting in report.pending.by_request.items():
        yield head | {"kind": "pending", "name": requested, "in_use_at_end": waiting}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _figures(usage: Usage) -> dict:
    return {
        "name": usage.name,
        "bought": "" if usage.bought is None else usage.bought,
        "unrestricted": "" if usage.bought is None else _yes(usage.unrestricted),
        "bought_most": _most(usage),
        "in_use_at_end": usage.in_use_at_end,
        "peak": usage.peak,
        "peak_day": usage.peak_day,
        "peak_day_date": usage.peak_day_date.isoformat() if usage.peak_day_date else "",
        "average": f"{usage.average:.2f}",
        "plan_days": f"{usage.plan_days:.2f}",
        "users": usage.users,
    }


def _bought(usage: Usage) -> str:
    """Bought at the span's end, and the most during it when that was more."""
    if usage.bought is None:
        return ""
    at_end = "unrestricted" if usage.unrestricted else str(usage.bought)
    most = _most(usage)
    return at_end if most in ("", at_end) else f"{at_end} (max {most})"


def _most(usage: Usage) -> str:
    if usage.bought is None:
        return ""
    return "unrestricted" if usage.bought_most is None else str(usage.bought_most)


def _covers(report: UsageReport) -> str:
    """What the report covers, as its heading says it."""
    if report.status == IN_PROGRESS:
        return f"in progress, counted until {report.counted_until:%Y-%m-%d %H:%M}"
    if report.status == FUTURE:
        return "not started yet: nothing to count"
    if report.status == BEFORE_TENANT:
        registered = report.tenant_registered
        return f"before the tenant existed (registered {registered:%Y-%m-%d}): nothing to count"
    return report.status


# License problems a text report prints (an untrusted set fails on every row).
SHOWN_PROBLEMS = 3


def _set_lines(report: UsageReport) -> list[str]:
    """The license sets in force in the span and the report's license
    problems (untrusted sets, today's set failing verification)."""
    lines = []
    if report.license_sets:
        lines.append(
            "License sets in force (Bought: at period end, max during the period):"
            if report.bought_changed
            else "License set in force:"
        )
        for version in report.license_sets:
            until = f"{version.effective_to:%Y-%m-%d %H:%M}" if version.effective_to else "now"
            lines.append(
                f"  serial {version.serial_number or '-'}: {version.effective_from:%Y-%m-%d %H:%M}"
                f" to {until}"
                + (f", installed by {version.installed_by}" if version.installed_by else "")
            )
    problems = report.license_problems
    for problem in problems[:SHOWN_PROBLEMS]:
        lines.append(f"WARNING: {problem}")
    if len(problems) > SHOWN_PROBLEMS:
        more = plural(len(problems) - SHOWN_PROBLEMS, "more license problem")
        lines.append(f"WARNING: and {more} (--format json lists every one)")
    return lines


FIGURES = [
    number("bought"),
    number("at end"),
    number("peak"),
    number("peak day"),
    number("average"),
    number("plan-days"),
    number("users"),
]


def _row(name: str, usage: Usage) -> tuple:
    return (
        name,
        _bought(usage),
        usage.in_use_at_end,
        usage.peak,
        usage.peak_day,
        f"{usage.average:.2f}",
        f"{usage.plan_days:.2f}",
        usage.users,
    )


def print_report(report: UsageReport) -> None:
    """One tenant's report: a table per plans, combinations and all plan holders."""
    period = report.period
    typer.echo(
        f"Tenant {report.tenant_id}" + (f" ({report.tenant_name})" if report.tenant_name else "")
    )
    typer.echo(
        f"Period {period.label}: {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d} "
        f"({report.billing_period} billing, {_covers(report)})"
    )
    for line in _set_lines(report):
        typer.echo(line)
    if report.login:
        typer.echo(
            "Login licenses bought (approach 1, an upper bound): "
            + ", ".join(
                f"{s.module_name} {'unrestricted' if s.unrestricted else s.bought}"
                for s in report.login
            )
        )
    for title, rows in (("plan", report.plans), ("combination", report.combinations)):
        typer.echo("")
        if not rows:
            typer.echo(f"{title.capitalize()}s: none held in the period")
            continue
        print_table([title, *FIGURES], [_row(usage.name, usage) for usage in rows])
    typer.echo("")
    print_table(["", *FIGURES], [_row("All plan holders", report.all_users)])
    typer.echo("")
    typer.echo(f"Billable: {plural(report.billable, 'plan license')} ({BILLABLE_RULE})")
    typer.echo(
        f"Pending for lack of seats: {report.pending.at_end} at period end, "
        f"{report.pending.during} at some time in the period"
    )
    for user in report.pending.users:
        typer.echo(
            f"  {user.name} wants {user.requested} since {user.since:%Y-%m-%d %H:%M}: {user.reason}"
        )
    if report.pending.at_end > len(report.pending.users):
        typer.echo(
            f"  ... {report.pending.at_end - len(report.pending.users)} more: --explain pending"
        )
    typer.echo("")


def _print_explain(
    db: Database, tenant_id: str, label: str, name: str, as_of: datetime, output: Format
) -> None:
    period, rows = Service(db, settings()).run(
        lambda tx: reports.explained(tx, label, name, as_of),
        caller=LOCAL,
        tenant_id=tenant_id,
        write=False,
    )
    if output is Format.json:
        _explain_json(rows)
    elif output is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["associate_id", "name", "from", "to", "detail"])
        for row in rows:
            writer.writerow(
                [
                    row.associate_id,
                    row.name,
                    row.start.isoformat(),
                    row.end.isoformat() if row.end is not None else "",
                    row.detail,
                ]
            )
    else:
        typer.echo(f"{explain_target(name)[1]} in {period.label} ({tenant_id}):")
        print_table(
            ["user", "from", "to", "detail"],
            [
                (
                    row.name,
                    f"{row.start:%Y-%m-%d %H:%M:%S}",
                    _end(row, "held at period end"),
                    row.detail,
                )
                for row in rows
            ],
        )
        typer.echo(plural(len(rows), "row"))


def _end(row: ExplainRow, held: str) -> str:
    return row.end.strftime("%Y-%m-%d %H:%M:%S") if row.end is not None else held


def _explain_json(rows: Iterable[ExplainRow]) -> None:
    typer.echo("[", nl=False)
    for index, row in enumerate(rows):
        item = {
            "associate_id": row.associate_id,
            "name": row.name,
            "scim_id": row.scim_id,
            "from": row.start.isoformat(),
            "to": row.end.isoformat() if row.end is not None else None,
            "detail": row.detail,
        }
        typer.echo(("\n" if index == 0 else ",\n") + "  " + json.dumps(item), nl=False)
    typer.echo("\n]")
