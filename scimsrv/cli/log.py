"""``scimsrv log``: a tenant's provisioning and audit log, newest first, as a
table or JSON; ``scimsrv db prune-log``: retention (docs/audit-log.md)."""

from __future__ import annotations

import enum
import json

import typer
from rich.console import Console
from rich.table import Table

from licensing_core.plans import plan_for_module
from scimsrv.cli.support import run, settings
from scimsrv.services import audit


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FORMAT = typer.Option(Format.table, "--format", help="table or json.")


def show(
    tenant_id: str = typer.Argument(..., metavar="TENANT", help="Tenant id."),
    user: str = typer.Option(None, "--user", help="Only entries about this user (id or userName)."),
    since: str = typer.Option(
        None, help="From this instant: ISO 8601 date or time (UTC), or an age (30m, 12h, 7d)."
    ),
    until: str = typer.Option(None, help="Before this instant (as --since)."),
    count: int = typer.Option(audit.DEFAULT_COUNT, help="Entries at most (1-1000)."),
    cursor: str = typer.Option(None, help="Continue where a previous page said."),
    output: Format = FORMAT,
) -> None:
    """The tenant's provisioning and audit log, newest first: every write, who
    made it, through which request, what changed, and refused requests."""
    wanted = audit.LogRequest(user, since, until, cursor, None, count)
    page = run(lambda tx: audit.log_page(tx, wanted), tenant=tenant_id, write=False)
    if output is Format.json:
        typer.echo(json.dumps(page.as_json(), indent=2, ensure_ascii=False))
        return
    table = Table("#", "at (UTC)", "actor", "request", "outcome", "changes")
    for entry in page.entries:
        table.add_row(
            str(entry.id),
            entry.at.isoformat(sep=" ", timespec="seconds"),
            entry.actor,
            _request(entry.request),
            "ok" if entry.status is None else f"{entry.status} {entry.error}",
            "\n".join(summary(entry.changes)),
        )
    console = Console(soft_wrap=False)
    console.print(table)
    shown = f"{len(page.entries)} of {page.total} entries"
    console.print(shown + (f"; older: --cursor {page.next_cursor}" if page.next_cursor else ""))


def prune(
    days: int = typer.Option(
        None, min=0, help="Keep this many days [env SCIMSRV_AUDIT_RETENTION_DAYS; 365]; 0: all."
    ),
) -> None:
    """Delete audit log entries older than the retention (each tenant keeps its newest)."""
    keep = settings().audit_retention_days if days is None else days
    gone = run(lambda tx: audit.prune(tx, keep))
    typer.echo(f"{gone} audit log entries older than {keep} days deleted" if keep else "kept all")


def _request(request: dict) -> str:
    if "command" in request:
        return request["command"]
    text = f"{request.get('method', '')} {request.get('path', '')}"
    if "operation" in request:
        bulk_id = f", bulkId {request['bulkId']}" if "bulkId" in request else ""
        text += f"\n(bulk operation {request['operation']}{bulk_id})"
    return text + (f"\nid {request['requestId']}" if "requestId" in request else "")


def summary(changes: dict) -> list[str]:
    """What an entry's ``changes`` say, a line per fact."""
    lines = []
    for resource in changes.get("resources", []):
        renamed = f", was {resource['previousName']}" if "previousName" in resource else ""
        lines.append(f"{resource['type']} {resource['name']} ({resource['id']}{renamed})")
    members = [m["userName"] for m in changes.get("members", [])]
    if members:
        more = changes.get("membersNotListed", 0)
        lines.append("memberships: " + ", ".join(members) + (f" and {more} more" if more else ""))
    for plan in changes.get("plans", []):
        reason = f": {plan['reason']}" if "reason" in plan else ""
        before, after = plan["before"] or "(none)", plan["after"] or "(none)"
        lines.append(f"{plan['userName']}: {before} -> {after}, {plan['state']}{reason}")
    if changes.get("plansNotListed"):
        lines.append(f"and {changes['plansNotListed']} more plan changes")
    seats = changes.get("seats", {})
    plans = [f"{module} {delta:+d}" for module, delta in seats.items() if plan_for_module(module)]
    if seats:
        implied = len(seats) - len(plans)
        lines.append("seats: " + ", ".join(plans + [f"{implied} implied licenses"] * bool(implied)))
    if "rules" in changes:
        before, after = changes["rules"]["before"], changes["rules"]["after"]
        lines.append(f"rules: {len(before)} -> {len(after)}")
        for rule in after:
            disabled = "" if rule["enabled"] else " [disabled]"
            lines.append(f"  {rule['position']}. {rule['rule']}{disabled}")
    if "licenseSet" in changes:
        licenses = changes["licenseSet"]
        lines.append(f"license set {licenses['owner']} {licenses['serialNumber']}")
        lines += [f"  {s['module']}: {s['before']} -> {s['after']}" for s in licenses["seats"]]
    if "token" in changes:
        token = changes["token"]
        verb = "issued" if "issued" in token else "revoked"
        lines.append(
            f"token {verb} {token[verb]}" + (f" ({token['label']})" if token["label"] else "")
        )
    if "tenant" in changes:
        tenant = changes["tenant"]
        lines.append(
            f"tenant created {tenant['created']}"
            + (f" ({tenant['name']})" if tenant["name"] else "")
        )
    return lines
