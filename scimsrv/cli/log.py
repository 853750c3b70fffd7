"""``scimsrv log``: a tenant's provisioning and audit log, newest first, as a
table or JSON; ``scimsrv db prune-log``: retention (docs/audit-log.md)."""

from __future__ import annotations

import enum
import json

import typer

from scimsrv.cli.support import TENANT, number, plural, print_table, run, settings
from scimsrv.services import audit
from scimsrv.settings import MAX_RETENTION_DAYS


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FORMAT = typer.Option(Format.table, "--format", help="table or json.")


def show(
    tenant_id: str = TENANT,
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
    print_table(
        [number("#"), "at (UTC)", "actor", "request", "outcome", "changes"],
        [
            (
                entry.id,
                entry.at.isoformat(sep=" ", timespec="seconds"),
                entry.actor,
                _request(entry.request),
                "ok" if entry.status is None else f"{entry.status} {entry.error}",
                "\n".join(audit.summary(entry.changes)),
            )
            for entry in page.entries
        ],
    )
    shown = f"{len(page.entries)} of {plural(page.total, 'entry', 'entries')}"
    typer.echo(shown + (f"; older: --cursor {page.next_cursor}" if page.next_cursor else ""))


def prune(
    days: int = typer.Option(
        None,
        min=0,
        max=MAX_RETENTION_DAYS,
        help="Keep this many days [env SCIMSRV_AUDIT_RETENTION_DAYS; 365]; 0: all.",
    ),
) -> None:
    """Delete audit log entries older than the retention (each tenant keeps its newest)."""
    keep = settings().audit_retention_days if days is None else days
    gone = run(lambda tx: audit.prune(tx, keep))
    old = f"{plural(gone, 'audit log entry', 'audit log entries')} older than {plural(keep, 'day')}"
    typer.echo(f"{old} deleted" if keep else "kept all")


def _request(request: dict) -> str:
    if "command" in request:
        return request["command"]
    text = f"{request.get('method', '')} {request.get('path', '')}"
    if "operation" in request:
        bulk_id = f", bulkId {request['bulkId']}" if "bulkId" in request else ""
        text += f"\n(bulk operation {request['operation']}{bulk_id})"
    return text + (f"\nid {request['requestId']}" if "requestId" in request else "")
