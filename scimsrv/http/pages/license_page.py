"""The Licenses screen as one self-contained HTML page, shaped like the CRM's.

The tenant's company name as the heading; the license set's owner block
(licensed to, serial number, expiry); the license list with in use and
available, each user license a link that lists its holders in the page's
holders frame (:mod:`scimsrv.http.pages.holders`); a Status tab with messages
(:mod:`scimsrv.http.pages.status_messages`) and the plans in use per day
(:mod:`scimsrv.http.pages.usage_chart`).

The chart covers the previous and the current billing period up to now, or
the period asked for (``?period=2026-10``, any label ``scimsrv report usage``
takes, aligned to the tenant's contract start the same way), and never
starts before the tenant was created: there is nothing to count before. Its
title names the periods it shows: only the current one for a tenant created
in it.
The status messages are always about now, whatever period the chart shows.

This module gathers the data and computes what the page shows; the markup is
in ``templates/`` (Jinja2, autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from licensing_core.license_status import LicenseStatus, ModuleStatus, license_status
from licensing_core.periods import Period, parse_period, period_containing, previous_period
from licensing_core.tables import SITE_LICENSE, SYSTEM_LICENSE, USER_LICENSE
from licensing_core.tenants import get_tenant
from licensing_core.usage import Pending, UsageReport, usage_report
from licensing_core.usage.pending import pending_users
from scimsrv.http.auth import run
from scimsrv.http.pages.rendering import TEMPLATES, page
from scimsrv.http.pages.status_messages import status_messages
from scimsrv.http.pages.usage_chart import usage_chart

LICENSE_TYPES = {SYSTEM_LICENSE: "System", SITE_LICENSE: "Site", USER_LICENSE: "User"}
PAGE_TEMPLATE = "license_page.html"


@dataclass(frozen=True)
class LicensePage:
    """What the page shows, gathered in one read transaction: ``company`` is the
    heading; ``pending`` who waits for seats now; ``created`` when the tenant
    was (the chart never starts before); ``asked`` the period label
    the chart was asked for ("" for the default span)."""

    company: str
    status: LicenseStatus
    usage: UsageReport
    current: Period
    pending: Pending
    created: datetime
    asked: str = ""


def gather(tx, period: str = "") -> LicensePage:
    """Status now, and usage over ``period`` (a label; "" for the previous and
    current billing period) from the tenant's creation on.

    :raises UnknownTenant: no such tenant (404).
    :raises InvalidPeriod: ``period`` is not a period label (400).
    """
    session, tenant_id, at = tx.session, tx.tenant_id, tx.at
    tenant = get_tenant(session, tenant_id)
    current = period_containing(at, tenant.billing_period, tenant.contract_start)
    if period:
        span = parse_period(period, tenant.contract_start)
    else:
        previous = previous_period(current, tenant.billing_period, tenant.contract_start)
        span = Period(f"{previous.label} and {current.label}", previous.start, current.end)
    start = min(max(span.start, tenant.registered), span.end)
    if not period and start >= current.start:  # created in the current period: only it shows
        span = current
    return LicensePage(
        company=tenant.company_name or tenant.name or tenant_id,
        status=license_status(session, tenant_id, at, tx.keyring),
        usage=usage_report(session, tenant_id, Period(span.label, start, span.end), as_of=at),
        current=current,
        pending=pending_users(session, tenant_id, tenant.registered, at),
        created=tenant.registered,
        asked=span.label if period else "",
    )


def render(page_data: LicensePage) -> str:
    """The page as HTML."""
    return TEMPLATES.get_template(PAGE_TEMPLATE).render(context(page_data))


async def license_page(request: Request) -> Response:
    """``GET /admin/v1/tenants/{tenant}/license[?period=LABEL]``: the Licenses page (HTML)."""
    period = request.query_params.get("period", "").strip()
    data = await run(request, lambda tx: gather(tx, period), write=False)
    return page(request, PAGE_TEMPLATE, context(data))


def context(data: LicensePage) -> dict[str, Any]:
    """The template's variables: the status as is, and what is computed from it."""
    status = data.status
    visible = [m for m in status.modules if not m.hidden]
    listed = [m for m in visible if m.is_plan] + [m for m in visible if not m.is_plan]
    return {
        "title": f"Licenses – {data.company}",
        "company": data.company,
        "tenant": status.tenant_id,
        "status": status,
        "modules": [_row(m) for m in listed],
        "hidden_modules": [_row(m) for m in status.modules if m.hidden],
        "messages": status_messages(status, data.pending),
        "chart": usage_chart(data.usage, data.current),
        "created": data.created if data.usage.period.start == data.created else None,
        "period": data.asked,
    }


@dataclass(frozen=True)
class ModuleRow:
    """One row of the license list; empty cells are blank. ``module_id`` links a
    user license to its holders (None for system and site licenses)."""

    name: str
    code: str
    kind: str
    in_use: str
    available: str
    total: str
    problem: str  # when set: the row's title, and the row is struck through
    module_id: int | None


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
        module_id=module.module_id if per_user else None,
    )
