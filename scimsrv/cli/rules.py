"""``scimsrv rules``: a tenant's ordered group-to-plan rules, with a preview.

Every change prints which users change plan and the seat impact per module;
``--dry-run`` prints the same and changes nothing.
"""

from __future__ import annotations

import typer

from scimsrv.cli.support import TENANT, noun_app, number, plural, print_table, run, warn
from scimsrv.provisioning.preview import Preview
from scimsrv.provisioning.rules import Rule
from scimsrv.services import rules, tenants
from scimsrv.storage.tables import ALWAYS, BY_DISPLAY_NAME, BY_EXTERNAL_ID, IF_NOT_SET, SCOPES

rules_app = noun_app("A tenant's group-to-plan rules.")

DRY_RUN = typer.Option(False, "--dry-run", help="Show what would change; change nothing.")
RULE = typer.Argument(..., metavar="RULE", help="Rule id as `rules list` shows it.")


def print_rules(rules: list[Rule]) -> None:
    if not rules:
        typer.echo("no rules: groups and roles named as plans grant them")
        return
    print_table(
        [number("#"), number("rule"), "applies", "state"],
        [
            (rule.position, rule.id, rule.describe(), "enabled" if rule.enabled else "disabled")
            for rule in rules
        ],
    )


def print_preview(preview: Preview, dry_run: bool) -> None:
    for line in preview.warnings:
        warn(line)
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{plural(len(preview.changes), 'user')} {verb} plans or state")
    if preview.changes:
        print_table(
            ["user", "plans before", "state before", "plans after", "state after", "reason"],
            [
                (
                    c.user_name,
                    c.before or "(none)",
                    c.state_before,
                    c.after or "(none)",
                    c.state,
                    c.reason,
                )
                for c in preview.changes
            ],
        )
    typer.echo("seats per module:")
    print_table(
        ["module", number("in use before"), number("after"), number("bought")],
        [
            (
                seats.module_name,
                seats.in_use,
                seats.after,
                "unrestricted" if seats.unrestricted else seats.bought,
            )
            for seats in preview.seats
        ],
    )
    if preview.waiting:
        typer.echo(f"{plural(len(preview.waiting), 'user')} left waiting for seats")


def edit(tenant_id: str, dry_run: bool, change: rules.Edit) -> None:
    """Run one rule edit: preview it, then commit it with a recompute unless dry-run."""
    result = run(
        lambda tx: rules.edit_rules(tx, change),
        tenant=tenant_id,
        dry_run=dry_run,
        cause="rules changed (cli)",
    )
    print_rules(result.rules)
    print_preview(result.preview, dry_run)


@rules_app.command("list")
def rules_list(tenant_id: str = TENANT) -> None:
    """The tenant's rules in the order they apply."""
    print_rules(run(rules.list_rules, tenant=tenant_id, write=False))


@rules_app.command("preview")
def rules_preview(tenant_id: str = TENANT) -> None:
    """What recomputing every user under the current rules would change."""
    print_preview(run(tenants.reconcile, tenant=tenant_id, dry_run=True), dry_run=True)


@rules_app.command("add")
def rules_add(
    tenant_id: str = TENANT,
    scope: str = typer.Option(..., help=f"One of: {', '.join(SCOPES)}."),
    plans: str = typer.Option(
        "",
        help="Plan combination, e.g. 'Sales-Premium + Service-Essentials'; empty = no selection.",
    ),
    group: str = typer.Option(
        "",
        help="Group displayName (scopes in-group / not-in-group), any case; names need not "
        "be unique, so the rule matches every group of that name.",
    ),
    group_external_id: str = typer.Option("", help="Group externalId instead of displayName."),
    role: str = typer.Option("", help="App role value (scopes has-role / not-has-role)."),
    mode: str = typer.Option(ALWAYS, help=f"{ALWAYS} or {IF_NOT_SET}."),
    position: int = typer.Option(None, min=1, help="1-based position; default: last."),
    description: str = typer.Option("", help="Free text for operators."),
    dry_run: bool = DRY_RUN,
) -> None:
    """Add a rule."""
    target = role or group_external_id or group
    target_by = BY_EXTERNAL_ID if group_external_id else BY_DISPLAY_NAME
    edit(
        tenant_id,
        dry_run,
        rules.add(
            scope=scope,
            plans=plans,
            mode=mode,
            target=target,
            target_by=target_by,
            position=position,
            description=description,
        ),
    )


@rules_app.command("move")
def rules_move(
    tenant_id: str = TENANT,
    rule_id: int = RULE,
    position: int = typer.Argument(..., help="New 1-based position."),
    dry_run: bool = DRY_RUN,
) -> None:
    """Move a rule to another position."""
    edit(tenant_id, dry_run, rules.move(rule_id, position))


@rules_app.command("remove")
def rules_remove(tenant_id: str = TENANT, rule_id: int = RULE, dry_run: bool = DRY_RUN) -> None:
    """Remove a rule."""
    edit(tenant_id, dry_run, rules.remove(rule_id))


@rules_app.command("enable")
def rules_enable(tenant_id: str = TENANT, rule_id: int = RULE, dry_run: bool = DRY_RUN) -> None:
    """Enable a rule."""
    edit(tenant_id, dry_run, rules.set_enabled(rule_id, True))


@rules_app.command("disable")
def rules_disable(tenant_id: str = TENANT, rule_id: int = RULE, dry_run: bool = DRY_RUN) -> None:
    """Disable a rule (kept, but not applied)."""
    edit(tenant_id, dry_run, rules.set_enabled(rule_id, False))
