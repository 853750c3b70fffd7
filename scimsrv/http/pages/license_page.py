"""The Licenses screen as one self-contained HTML page, shaped like the CRM's.

Owner information on top (company name, serial number, expiry under it), the
license list with in use and available, a Status tab with messages (license
errors and warnings from :mod:`licensing_core.license_status`, users pending
for lack of seats) and the plans in use per day over the previous and the
current billing period, drawn as inline SVG. Plain HTML and CSS: nothing is
fetched from anywhere, no script runs.

This module gathers the data and computes what the page shows (table cells,
messages, chart geometry); the markup is in ``templates/`` (Jinja2,
autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from licensing_core.license_status import LicenseStatus, ModuleStatus, license_status
from licensing_core.periods import Period, period_containing, previous_period
from licensing_core.tables import SITE_LICENSE, SYSTEM_LICENSE, USER_LICENSE
from licensing_core.tenants import get_tenant
from licensing_core.usage import UsageReport, usage_report
from scimsrv.http.auth import run

LICENSE_TYPES = {SYSTEM_LICENSE: "System", SITE_LICENSE: "Site", USER_LICENSE: "User"}
# One colour per base plan, in catalog order (Sales, Service, Marketing; Essentials, Premium).
PLAN_COLOURS = ("#7fb3d5", "#1f618d", "#82e0aa", "#1e8449", "#f5b041", "#b9770e")
CHART_WIDTH, CHART_HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 16, 16, 36
SHOWN_PENDING = 10  # users named in the pending message

PAGE_TEMPLATE = "license_page.html"
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


@dataclass(frozen=True)
class LicensePage:
    """What the page shows, gathered in one read transaction."""

    status: LicenseStatus
    usage: UsageReport
    current: Period


def gather(tx) -> LicensePage:
    """Status now and usage over the previous and current billing period up to now."""
    session, tenant_id, at = tx.session, tx.tenant_id, tx.at
    tenant = get_tenant(session, tenant_id)
    current = period_containing(at, tenant.billing_period, tenant.contract_start)
    previous = previous_period(current, tenant.billing_period, tenant.contract_start)
    span = Period(f"{previous.label} and {current.label}", previous.start, current.end)
    return LicensePage(
        status=license_status(session, tenant_id, at, tx.keyring),
        usage=usage_report(session, tenant_id, span, as_of=at),
        current=current,
    )


def render(page: LicensePage, templates: Jinja2Templates = TEMPLATES) -> str:
    """The page as HTML."""
    return templates.get_template(PAGE_TEMPLATE).render(context(page))


async def license_page(request: Request) -> Response:
    """``GET /admin/v1/tenants/{tenant}/license``: the Licenses page (HTML)."""
    page = await run(request, gather, write=False)
    return TEMPLATES.TemplateResponse(request, PAGE_TEMPLATE, context(page))


def context(page: LicensePage) -> dict[str, Any]:
    """The template's variables: the status as is, and what is computed from it."""
    status, usage = page.status, page.usage
    visible = [m for m in status.modules if not m.hidden]
    listed = [m for m in visible if m.is_plan] + [m for m in visible if not m.is_plan]
    return {
        "title": f"Licenses – {status.company_name or usage.tenant_name or usage.tenant_id}",
        "tenant": usage.tenant_id,
        "status": status,
        "modules": [_row(m) for m in listed],
        "hidden_modules": [_row(m) for m in status.modules if m.hidden],
        "messages": _messages(page),
        "chart": _chart(page),
    }


# --------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class ModuleRow:
    """One row of the license list; empty cells are blank."""

    name: str
    code: str
    kind: str
    in_use: str
    available: str
    total: str
    problem: str  # when set: the row's title, and the row is struck through


def _row(module: ModuleStatus) -> ModuleRow:
    per_user = module.license_type == USER_LICENSE
    return ModuleRow(
        name=module.description or module.module_name,
        code=module.module_name,
        kind="User plan" if module.is_plan else LICENSE_TYPES.get(module.license_type, "?"),
        in_use=str(module.in_use) if per_user else "",
        available=("unrestricted" if module.unrestricted else str(module.free)) if per_user else "",
        total="unrestricted" if module.unrestricted else str(module.bought),
        problem=module.problem,
    )


def _messages(page: LicensePage) -> list[tuple[str, str]]:
    """(kind, text) per message: ``error``, ``warning``, or one ``ok`` when there is none."""
    status, pending = page.status, page.usage.pending
    items: list[tuple[str, str]] = [("error", message) for message in status.errors]
    items += [("warning", message) for message in status.warnings]
    for module in status.modules:
        if module.problem:
            items.append(("error", f"{module.module_name}: {module.problem}"))
    if pending.at_end:
        shown = pending.users[:SHOWN_PENDING]
        names = ", ".join(f"{p.name} ({p.requested})" for p in shown)
        more = pending.at_end - len(shown)
        items.append(
            (
                "warning",
                f"{pending.at_end} user(s) waiting for seats: {names}"
                + (f" and {more} more" if more > 0 else ""),
            )
        )
    if not items:
        items.append(("ok", "No problems: every license is valid and no user is waiting."))
    return items


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str | None = None  # SVG text-anchor; None: start


@dataclass(frozen=True)
class PlanLine:
    """One plan in the chart: its step line (None when never held) and its legend."""

    name: str
    colour: str
    points: str | None
    today: int
    peak_day: int


@dataclass(frozen=True)
class Chart:
    """The usage chart in SVG user units, coordinates rounded to 0.1."""

    width: int
    height: int
    title: str
    axes: tuple[Line, ...]
    labels: tuple[Label, ...]  # of the axes: the top count, 0, the first and last day
    boundary: tuple[Line, Label] | None  # where the current period starts, if shown
    plans: tuple[PlanLine, ...]


def _chart(page: LicensePage) -> Chart:
    usage = page.usage
    days = usage.days
    plot_w = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = max([max(plan.daily, default=0) for plan in usage.plans] + [1])
    span = max(len(days) - 1, 1)

    def x(index: int) -> float:
        return MARGIN_LEFT + plot_w * index / span

    def y(count: int) -> float:
        return MARGIN_TOP + plot_h * (1 - count / top)

    x_end, y_zero = round(x(span), 1), round(y(0), 1)
    axes = (
        Line(MARGIN_LEFT, y_zero, x_end, y_zero),
        Line(MARGIN_LEFT, MARGIN_TOP, MARGIN_LEFT, y_zero),
    )
    labels = [
        Label(MARGIN_LEFT - 6, round(y(top) + 4, 1), str(top), "end"),
        Label(MARGIN_LEFT - 6, round(y(0) + 4, 1), "0", "end"),
    ]
    if days:
        labels += [
            Label(MARGIN_LEFT, CHART_HEIGHT - 12, f"{days[0]:%Y-%m-%d}"),
            Label(x_end, CHART_HEIGHT - 12, f"{days[-1]:%Y-%m-%d}", "end"),
        ]
    boundary = None
    current = page.current.start.date()
    if days and days[0] < current <= days[-1]:
        bx = x(days.index(current))
        boundary = (
            Line(round(bx, 1), MARGIN_TOP, round(bx, 1), y_zero),
            Label(round(bx + 4, 1), MARGIN_TOP + 10, page.current.label),
        )
    plans = []
    for plan, colour in zip(usage.plans, PLAN_COLOURS, strict=True):
        points = None
        if any(plan.daily):
            # A step line: a day's count holds until the next day's close.
            steps = [(x(0), y(plan.daily[0]))]
            for i in range(1, len(plan.daily)):
                steps += [(x(i), y(plan.daily[i - 1])), (x(i), y(plan.daily[i]))]
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in steps)
        today = plan.daily[-1] if plan.daily else 0
        plans.append(PlanLine(plan.name, colour, points, today, plan.peak_day))
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        title=f"Plans in use per day, {usage.period.label}",
        axes=axes,
        labels=tuple(labels),
        boundary=boundary,
        plans=tuple(plans),
    )
