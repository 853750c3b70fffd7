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
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Annotated

import typer

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
from scimsrv.cli.support import fail, migrated, now, settings
from scimsrv.services import reports, tenants
from scimsrv.services.transaction import LOCAL, Service

report_app = typer.Typer(
    no_args_is_help=True, help="Usage reports for pay-per-use billing, from the license ledger."
)

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
    period: str = typer.Option(
        ...,
        "--period",
        help="2026-10 (month), 2026-Q4, 2026-H2 or 2026 (year), as long as the tenant's "
        "billing period; aligned to its contract start (calendar-aligned when it has none).",
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="One tenant id."),
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
) -> None:
    """Plans bought, in use at period end, peak, average and users, per plan and combination;
    the billable figure; users pending for lack of seats."""
    if (tenant is None) == (not all_tenants):
        fail("give either --tenant ID or --all")
    if explain_name is not None and tenant is None:
        fail("--explain needs --tenant ID")
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
            f"skipped {len(skipped)} tenants whose billing period {label} does not name: "
            + ", ".join(skipped),
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
    bar = (
        typer.progressbar(length=count, label="tenants", file=sys.stderr)
        if count >= PROGRESS_FROM
        else nullcontext()
    )
    writer = (
        csv.DictWriter(sys.stdout, CSV_COLUMNS, restval="", lineterminator="\n")
        if output is Format.csv
        else None
    )
    if writer is not None:
        writer.writeheader()
    with bar as progress:
        for index, report in enumerate(reports):
            if output is Format.json:
                text = json.dumps(report.to_json(), indent=2)
                if as_array:
                    text = ("[\n" if index == 0 else ",\n") + text
                typer.echo(text, nl=not as_array)
            elif writer is not None:
                writer.writerows(_csv_rows(report))
            else:
                typer.echo(render_table(report))
            sys.stdout.flush()
            if progress is not None:
                progress.update(1)
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
        return "future: nothing to count yet"
    if report.status == BEFORE_TENANT:
        registered = report.tenant_registered
        return f"before the tenant existed (registered {registered:%Y-%m-%d}): nothing to count"
    return report.status


def _set_lines(report: UsageReport) -> list[str]:
    """The license sets in force in the span, when more than one was, and
    the problems of today's set when it fails verification."""
    lines = []
    if report.bought_changed:
        lines.append("License sets in force (Bought: at period end, max during the period):")
        for version in report.license_sets:
            until = f"{version.effective_to:%Y-%m-%d %H:%M}" if version.effective_to else "now"
            lines.append(
                f"  serial {version.serial_number or '-'}: {version.effective_from:%Y-%m-%d %H:%M}"
                f" to {until}"
                + (f", installed by {version.installed_by}" if version.installed_by else "")
            )
    for problem in report.license_problems:
        lines.append(f"WARNING: {problem}: plans granted from it have stopped working")
    return lines


def render_table(report: UsageReport) -> str:
    """The report as plain text columns, one tenant."""
    period = report.period
    lines = [
        f"Tenant {report.tenant_id}" + (f" ({report.tenant_name})" if report.tenant_name else ""),
        f"Period {period.label}: {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d} "
        f"({report.billing_period} billing, {_covers(report)})",
        *_set_lines(report),
        "Login licenses bought (approach 1, an upper bound): "
        + ", ".join(
            f"{s.module_name} {'unrestricted' if s.unrestricted else s.bought}"
            for s in report.login
        ),
        "",
    ]
    header = ("", "Bought", "At end", "Peak", "Peak day", "Average", "Plan-days", "Users")
    sections = [("Plan", report.plans), ("Combination", report.combinations)]
    width = max([len(u.name) for _, rows in sections for u in rows] + [len("All plan holders")])
    row_format = f"{{:<{width}}}  {{:>12}}  {{:>6}}  {{:>6}}  {{:>8}}  {{:>8}}  {{:>9}}  {{:>6}}"
    for title, rows in sections:
        if not rows:
            lines += [f"{title}s: none held in the period", ""]
            continue
        lines.append(row_format.format(title, *header[1:]))
        for usage in rows:
            lines.append(
                row_format.format(
                    usage.name,
                    _bought(usage),
                    usage.in_use_at_end,
                    usage.peak,
                    usage.peak_day,
                    f"{usage.average:.2f}",
                    f"{usage.plan_days:.2f}",
                    usage.users,
                )
            )
        lines.append("")
    users = report.all_users
    lines.append(
        row_format.format(
            "All plan holders",
            "",
            users.in_use_at_end,
            users.peak,
            users.peak_day,
            f"{users.average:.2f}",
            f"{users.plan_days:.2f}",
            users.users,
        )
    )
    lines += [
        "",
        f"Billable: {report.billable} plan licenses ({BILLABLE_RULE})",
        f"Pending for lack of seats: {report.pending.at_end} at period end, "
        f"{report.pending.during} at some time in the period",
    ]
    for user in report.pending.users:
        lines.append(
            f"  {user.name} (#{user.associate_id}) wants {user.requested} "
            f"since {user.since:%Y-%m-%d %H:%M}: {user.reason}"
        )
    if report.pending.at_end > len(report.pending.users):
        lines.append(
            f"  ... {report.pending.at_end - len(report.pending.users)} more: --explain pending"
        )
    return "\n".join(lines) + "\n"


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
                [row.associate_id, row.name, row.start.isoformat(), _end(row, ""), row.detail]
            )
    else:
        typer.echo(f"{explain_target(name)[1]} in {period.label} ({tenant_id}):")
        count = 0
        for row in rows:
            count += 1
            typer.echo(
                f"  {row.associate_id:>8}  {row.name:<30}  {row.start:%Y-%m-%d %H:%M:%S}"
                f"  ->  {_end(row, 'held at period end'):<19}  {row.detail}".rstrip()
            )
        typer.echo(f"{count} row{'' if count == 1 else 's'}")


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
