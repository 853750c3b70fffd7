"""``scimsrv plans``: the plan catalog as data: the six plans with the licenses
they imply and their features in one language, and the 26 combinations in the
order the help pages list them (:mod:`licensing_core.plan_catalog`)."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from licensing_core.features import LANGUAGES, features
from licensing_core.plan_catalog import PlanCatalog
from licensing_core.plans import Solution
from scimsrv.cli.directory import FORMAT, Output
from scimsrv.cli.support import run
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
    output: Annotated[Output, FORMAT] = Output.table,
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
    console = Console()
    console.print(f"Plans of {catalog.source}", markup=False)
    problems = any(entry.problem for entry in catalog.plans)
    table = Table(box=box.SIMPLE, pad_edge=False, title="Plans")
    for title in ("Plan", "Module", "Implied licenses", *(["Problem"] if problems else [])):
        table.add_column(title, overflow="fold")
    for entry in catalog.plans:
        cells = [entry.plan.name, entry.plan.module_name, ", ".join(entry.licenses)]
        table.add_row(*cells, *([entry.problem] if problems else []))
    console.print(table)
    for features_table in _feature_tables(catalog, language):
        console.print(features_table)
    combinations = Table(box=box.SIMPLE, pad_edge=False, title="Combinations")
    for title in ("#", "Combination", "Licenses", "Problem"):
        combinations.add_column(title, overflow="fold")
    for number, entry in enumerate(catalog.combinations, start=1):
        combinations.add_row(
            str(number), entry.combination.name, str(len(entry.licenses)), entry.problem
        )
    console.print(combinations)


def _feature_tables(catalog: PlanCatalog, language: str) -> list[Table]:
    """The features every plan includes, then per solution the others against its tiers."""
    listed = {entry.plan: features(entry.plan, language) for entry in catalog.plans}
    first = next(iter(listed.values()))
    common = [f for f in first if all(f in others for others in listed.values())]
    every = Table(box=box.SIMPLE, pad_edge=False, title=f"Features of every plan ({language})")
    every.add_column("Feature", overflow="fold")
    for feature in common:
        every.add_row(feature)
    tables = [every]
    for solution in Solution:
        plans = [plan for plan in listed if plan.solution is solution]
        rows = dict.fromkeys(f for plan in plans for f in listed[plan] if f not in common)
        table = Table(box=box.SIMPLE, pad_edge=False, title=f"{solution.value} ({language})")
        table.add_column("Feature", overflow="fold")
        for plan in plans:
            table.add_column(plan.tier.label, justify="center")
        for feature in rows:
            table.add_row(feature, *("✓" if feature in listed[plan] else "" for plan in plans))
        tables.append(table)
    return tables
