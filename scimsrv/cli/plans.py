"""``scimsrv plans``: the plan catalog as data: the six plans with the licenses
they imply and their features in one language, and the 26 combinations in the
order the help pages list them (:mod:`licensing_core.plan_catalog`)."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer
from rich.table import Column

from licensing_core.features import LANGUAGES, features
from licensing_core.plan_catalog import PlanCatalog
from licensing_core.plans import Solution
from scimsrv.cli.directory import Output
from scimsrv.cli.support import number, print_table, run
from scimsrv.services.plans import plans as plan_catalog

Language = enum.StrEnum("Language", {code: code for code in LANGUAGES})


def plans(
    lang: Annotated[
        Language | None,
        typer.Option(
            "--lang",
            help="Features in en, no, de or nl; the table defaults to en, json to all four.",
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="Licenses implied by this tenant's license set instead of the default set.",
        ),
    ] = None,
    output: Annotated[
        Output, typer.Option("--format", help="table or json (the admin API's catalog).")
    ] = Output.table,
) -> None:
    """The plan catalog: six plans and 26 combinations.

    Each plan's module, the licenses it implies and its features; the
    combinations in the order the help pages list them.
    """
    catalog = run(plan_catalog, tenant=tenant or "", write=False)
    if output is Output.json:
        languages = LANGUAGES if lang is None else (lang.value,)
        typer.echo(json.dumps(catalog.to_json(languages), indent=2, ensure_ascii=False))
        return
    _print(catalog, "en" if lang is None else lang.value)


def _print(catalog: PlanCatalog, language: str) -> None:
    typer.echo(f"Plans of {catalog.source}")
    problems = any(entry.problem for entry in catalog.plans)
    print_table(
        ["Plan", "Module", "Implied licenses", *(["Problem"] if problems else [])],
        [
            (
                entry.plan.name,
                entry.plan.module_name,
                ", ".join(entry.licenses),
                *([entry.problem] if problems else []),
            )
            for entry in catalog.plans
        ],
        title="Plans",
    )
    _print_features(catalog, language)
    print_table(
        [number("#"), "Combination", number("Licenses"), "Problem"],
        [
            (index, entry.combination.name, len(entry.licenses), entry.problem)
            for index, entry in enumerate(catalog.combinations, start=1)
        ],
        title="Combinations",
    )


def _print_features(catalog: PlanCatalog, language: str) -> None:
    """The features every plan includes, then per solution the others against its tiers."""
    listed = {entry.plan: features(entry.plan, language) for entry in catalog.plans}
    first = next(iter(listed.values()))
    common = [f for f in first if all(f in others for others in listed.values())]
    print_table(
        ["Feature"],
        [(feature,) for feature in common],
        title=f"Features of every plan ({language})",
    )
    for solution in Solution:
        plans = [plan for plan in listed if plan.solution is solution]
        rows = dict.fromkeys(f for plan in plans for f in listed[plan] if f not in common)
        print_table(
            ["Feature", *(Column(plan.tier.label, justify="center") for plan in plans)],
            [
                (feature, *("✓" if feature in listed[plan] else "" for plan in plans))
                for feature in rows
            ],
            title=f"{solution.value} ({language})",
        )
