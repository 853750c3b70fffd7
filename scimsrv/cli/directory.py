"""``scimsrv users`` and ``scimsrv groups``: who holds which plans, who is waiting
and why, and which plans each group grants.

Both page through the tenant with a cursor, :data:`CHUNK` rows per read
transaction, and print as they go, so memory stays bounded whatever the
tenant's size: a table per chunk (:func:`~scimsrv.cli.support.print_table`,
the header once; on a terminal the columns share its width by fixed ratios,
so chunks line up; piped, each row is one line), or the admin API's JSON
document, as one page holding every row.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Annotated, Any

import typer
from rich.table import Column

from scimsrv.cli.support import migrated, plural, print_table, settings
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


FORMAT = typer.Option(
    "--format", help="table or json (the admin API's document, one page of every row)."
)


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
        Column("User", ratio=4),
        Column("State", width=8),
        Column("Requested", ratio=4),
        Column("Granted", ratio=4),
        Column("Groups and roles", ratio=4),
        Column("Reason", ratio=6),
    ]
    _print(tenant_id, page_of, columns, _user_cells, output, "user", "users")


def groups(tenant_id: str = TENANT, output: Annotated[Output, FORMAT] = Output.table) -> None:
    """A tenant's groups: the plans each grants, or why none.

    By displayName: members, the plans the group grants through its name or a
    rule, or why none (not a plan name, did you mean, two tiers, no rule names it).
    """
    columns = [
        Column("Group", ratio=4),
        Column("Members", ratio=1, justify="right"),
        Column("Grants", ratio=5),
        Column("Reason", ratio=8),
    ]
    _print(tenant_id, list_group_plans, columns, _group_cells, output, "group", "groups")


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
    columns: Sequence[Column],
    cells: Callable[[Any], list[str]],
    output: Output,
    noun: str,
    key: str,
) -> None:
    with migrated() as db:
        chunks = _chunks(Service(db, settings()), tenant_id, page_of)
        if output is Output.json:
            _json_page(key, (row.to_json() for rows in chunks for row in rows))
            return
        count = 0
        for index, rows in enumerate(chunks):
            if rows or index == 0:
                print_table(columns, map(cells, rows), header=index == 0, fit=True)
            count += len(rows)
        typer.echo(plural(count, noun))


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


def _json_page(key: str, items: Iterator[dict[str, Any]]) -> None:
    """The admin API's page of the whole listing, one object per line:
    :func:`scimsrv.http.admin.paging.page_body` of a page holding every row
    (the counts after the rows, which stream)."""
    typer.echo(f'{{"{key}": [', nl=False)
    count = 0
    for count, item in enumerate(items, start=1):
        typer.echo(("\n" if count == 1 else ",\n") + "  " + json.dumps(item), nl=False)
    counts = {"totalResults": count, "itemsPerPage": count, "startIndex": 1}
    typer.echo(("\n" if count else "") + "], " + json.dumps(counts)[1:])
