"""``scimsrv users`` and ``scimsrv groups``: who holds which plans, who is waiting
and why, and which plans each group grants.

Both page through the tenant with a cursor, :data:`CHUNK` rows per read
transaction, and print as they go, so memory stays bounded whatever the
tenant's size: a ``rich`` table per chunk (the header once; the columns
share the terminal's width by fixed ratios, so chunks line up), or a JSON
array with one object per line, each the admin API's shape.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from scimsrv.cli.support import migrated, settings
from scimsrv.services.group_plans import GroupPlans, list_group_plans
from scimsrv.services.transaction import LOCAL, Service, Tx
from scimsrv.services.user_plans import UserPlans, list_user_plans
from scimsrv.storage.listing import ListRequest, Page

CHUNK = 500
TENANT = typer.Argument(..., metavar="TENANT", help="Tenant id.")


class Output(enum.StrEnum):
    table = "table"
    json = "json"


class State(enum.StrEnum):
    licensed = "licensed"
    pending = "pending"
    none = "none"


FORMAT = typer.Option("--format", help="table or json (the admin API's objects, as an array).")

# (title, share of the width; 0: eight characters) per column.
Columns = Sequence[tuple[str, int]]


def users(
    tenant_id: str = TENANT,
    state: Annotated[
        State | None, typer.Option("--state", help="Only users in this state.")
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(
            "--plan",
            help="Only users asking for this plan (in any combination) or exactly this "
            "combination ('Sales-Premium + Service-Essentials'); holders and waiters alike.",
        ),
    ] = None,
    output: Annotated[Output, FORMAT] = Output.table,
) -> None:
    """A tenant's users: plan state, plans, groups and why.

    By userName: state (licensed, pending, none), plans requested and granted,
    groups and roles, and the reason: the seat a pending user waits for, what a
    licensed user's plans come through, why a user holds none.
    """
    page_of = partial(list_user_plans, state=state and state.value, plan=plan)
    columns = [
        ("User", 4),
        ("State", 0),
        ("Requested", 4),
        ("Granted", 4),
        ("Groups and roles", 4),
        ("Reason", 6),
    ]
    _print(tenant_id, page_of, columns, _user_cells, output, "users")


def groups(tenant_id: str = TENANT, output: Annotated[Output, FORMAT] = Output.table) -> None:
    """A tenant's groups: the plans each grants, or why none.

    By displayName: members, the plans the group grants through its name or a
    rule, or why none (not a plan name, did you mean, two tiers, no rule names it).
    """
    columns = [("Group", 4), ("Members", 1), ("Grants", 5), ("Reason", 8)]
    _print(tenant_id, list_group_plans, columns, _group_cells, output, "groups")


def _user_cells(user: UserPlans) -> list[str]:
    return [
        user.user_name,
        user.state,
        user.requested,
        user.granted,
        ", ".join([*user.groups, *(f"role {role}" for role in user.roles)]),
        user.reason,
    ]


def _group_cells(group: GroupPlans) -> list[str]:
    grants = "; ".join(f"{grant.plans} ({grant.through})" for grant in group.grants)
    return [group.display_name, str(group.members), grants, group.reason]


def _print(
    tenant_id: str,
    page_of: Callable[[Tx, ListRequest], Page[Any]],
    columns: Columns,
    cells: Callable[[Any], list[str]],
    output: Output,
    noun: str,
) -> None:
    with migrated() as db:
        chunks = _chunks(Service(db, settings()), tenant_id, page_of)
        if output is Output.json:
            _json_array(row.to_json() for rows in chunks for row in rows)
            return
        console = Console()
        count = 0
        for index, rows in enumerate(chunks):
            table = Table(box=box.SIMPLE, show_header=index == 0, expand=True, pad_edge=False)
            for title, ratio in columns:
                width = None if ratio else 8
                table.add_column(title, ratio=ratio or None, width=width, overflow="fold")
            for row in rows:
                table.add_row(*cells(row))
            if rows or index == 0:
                console.print(table)
            count += len(rows)
        typer.echo(f"{count} {noun if count != 1 else noun.removesuffix('s')}")


def _chunks(
    service: Service, tenant_id: str, page_of: Callable[[Tx, ListRequest], Page[Any]]
) -> Iterator[list[Any]]:
    """Every row, a read transaction per :data:`CHUNK`, following the cursor."""
    cursor = ""
    while True:
        request = ListRequest(cursor=cursor, count=CHUNK)
        page = service.run(
            lambda tx, request=request: page_of(tx, request),
            caller=LOCAL,
            tenant_id=tenant_id,
            write=False,
            cause="cli",
        )
        yield page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _json_array(items: Iterator[dict[str, Any]]) -> None:
    typer.echo("[", nl=False)
    for index, item in enumerate(items):
        typer.echo(("\n" if index == 0 else ",\n") + "  " + json.dumps(item), nl=False)
    typer.echo("\n]")
