"""The Licenses screen as one self-contained HTML page, shaped like the CRM's.

Owner information on top (company name, serial number, expiry under it), the
license list with in use and available, a Status tab with messages (license
errors and warnings from :mod:`licensing_core.license_status`, users pending
for lack of seats) and the plans in use per day over the previous and the
current billing period, drawn as inline SVG. Plain HTML and CSS: nothing is
fetched from anywhere, no script runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

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


def render(page: LicensePage) -> str:
    status, usage = page.status, page.usage
    title = f"Licenses – {status.company_name or usage.tenant_name or usage.tenant_id}"
    return _PAGE.format(
        title=escape(title),
        style=_STYLE,
        owner=_owner(status),
        licenses=_license_list(status),
        messages=_messages(page),
        chart=_chart(page),
        at=escape(f"{status.at:%Y-%m-%d %H:%M} UTC"),
        tenant=escape(usage.tenant_id),
    )


async def license_page(request: Request) -> Response:
    """``GET /admin/v1/tenants/{tenant}/license``: the Licenses page (HTML)."""
    return HTMLResponse(render(await run(request, gather, write=False)))


# --------------------------------------------------------------------------- parts


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment is not None else ""


def _owner(status: LicenseStatus) -> str:
    expiry = (
        f"Expires {_day(status.expiration)}"
        if status.expiration is not None
        else "No expiry date (the license does not expire)"
    )
    grace = (
        f"<p class='muted'>Changes stop after {_day(status.grace_to)} (graceTo)</p>"
        if status.grace_to is not None
        else ""
    )
    return (
        f"<h2 id='company'>{escape(status.company_name or '(company name not set)')}</h2>"
        f"<p id='serial'>Serial number: {escape(status.serial_number or '(none)')}</p>"
        f"<p id='expiry'>{escape(expiry)}</p>{grace}"
        f"<p class='muted'>Issued by {escape(status.owner_name)}</p>"
    )


def _module_row(module: ModuleStatus) -> str:
    available = "unrestricted" if module.unrestricted else str(module.free)
    state = f" title='{escape(module.problem)}' class='invalid'" if module.problem else ""
    kind = "User plan" if module.is_plan else LICENSE_TYPES.get(module.license_type, "?")
    in_use = str(module.in_use) if module.license_type == USER_LICENSE else ""
    total = "unrestricted" if module.unrestricted else str(module.bought)
    return (
        f"<tr{state}><td>{escape(module.description or module.module_name)}</td>"
        f"<td class='code'>{escape(module.module_name)}</td><td>{kind}</td>"
        f"<td class='num'>{in_use}</td>"
        f"<td class='num'>{available if module.license_type == USER_LICENSE else ''}</td>"
        f"<td class='num'>{total}</td></tr>"
    )


def _license_list(status: LicenseStatus) -> str:
    visible = [m for m in status.modules if not m.hidden]
    plans = [m for m in visible if m.is_plan]
    others = [m for m in visible if not m.is_plan]
    hidden = [m for m in status.modules if m.hidden]
    head = (
        "<thead><tr><th>License</th><th>Code</th><th>Type</th><th class='num'>In use</th>"
        "<th class='num'>Available</th><th class='num'>Total</th></tr></thead>"
    )
    body = "".join(_module_row(m) for m in [*plans, *others])
    hidden_rows = "".join(_module_row(m) for m in hidden)
    return (
        f"<table id='license-list'>{head}<tbody>{body}</tbody></table>"
        f"<details><summary>{len(hidden)} hidden licenses (granted through user plans)"
        f"</summary><table>{head}<tbody>{hidden_rows}</tbody></table></details>"
    )


def _messages(page: LicensePage) -> str:
    status, pending = page.status, page.usage.pending
    items: list[tuple[str, str]] = [("error", message) for message in status.errors]
    items += [("warning", message) for message in status.warnings]
    for module in status.modules:
        if module.problem:
            items.append(("error", f"{module.module_name}: {module.problem}"))
    if pending.at_end:
        names = ", ".join(f"{p.name} ({p.requested})" for p in pending.users[:10])
        more = pending.at_end - min(len(pending.users), 10)
        items.append(
            (
                "warning",
                f"{pending.at_end} user(s) waiting for seats: {names}"
                + (f" and {more} more" if more > 0 else ""),
            )
        )
    if not items:
        items.append(("ok", "No problems: every license is valid and no user is waiting."))
    rows = "".join(
        f"<li class='{kind}'><span class='badge'>{kind}</span> {escape(text)}</li>"
        for kind, text in items
    )
    return f"<ul id='messages'>{rows}</ul>"


def _chart(page: LicensePage) -> str:
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

    parts = [
        f"<svg id='usage-chart' xmlns='http://www.w3.org/2000/svg' role='img' "
        f"viewBox='0 0 {CHART_WIDTH} {CHART_HEIGHT}' width='{CHART_WIDTH}' "
        f"height='{CHART_HEIGHT}'><title>Plans in use per day, {escape(usage.period.label)}"
        "</title>",
        f"<line class='axis' x1='{MARGIN_LEFT}' y1='{y(0):.1f}' x2='{x(span):.1f}' "
        f"y2='{y(0):.1f}'/>",
        f"<line class='axis' x1='{MARGIN_LEFT}' y1='{MARGIN_TOP}' x2='{MARGIN_LEFT}' "
        f"y2='{y(0):.1f}'/>",
        f"<text x='{MARGIN_LEFT - 6}' y='{y(top) + 4:.1f}' text-anchor='end'>{top}</text>",
        f"<text x='{MARGIN_LEFT - 6}' y='{y(0) + 4:.1f}' text-anchor='end'>0</text>",
    ]
    if days:
        parts.append(
            f"<text x='{MARGIN_LEFT}' y='{CHART_HEIGHT - 12}'>{days[0]:%Y-%m-%d}</text>"
            f"<text x='{x(span):.1f}' y='{CHART_HEIGHT - 12}' text-anchor='end'>"
            f"{days[-1]:%Y-%m-%d}</text>"
        )
    boundary = page.current.start.date()
    if days and days[0] < boundary <= days[-1]:
        bx = x(days.index(boundary))
        parts.append(
            f"<line class='boundary' x1='{bx:.1f}' y1='{MARGIN_TOP}' x2='{bx:.1f}' "
            f"y2='{y(0):.1f}'/><text x='{bx + 4:.1f}' y='{MARGIN_TOP + 10}'>"
            f"{escape(page.current.label)}</text>"
        )
    for plan, colour in zip(usage.plans, PLAN_COLOURS, strict=True):
        if not any(plan.daily):
            continue
        # A step line: a day's count holds until the next day's close.
        steps = [(x(0), y(plan.daily[0]))]
        for i in range(1, len(plan.daily)):
            steps += [(x(i), y(plan.daily[i - 1])), (x(i), y(plan.daily[i]))]
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in steps)
        parts.append(
            f"<polyline class='plan' data-plan='{escape(plan.name)}' fill='none' "
            f"stroke='{colour}' stroke-width='2' points='{points}'/>"
        )
    parts.append("</svg>")
    legend = "".join(
        f"<li><span class='swatch' style='background:{colour}'></span>{escape(plan.name)}: "
        f"{plan.daily[-1] if plan.daily else 0} today, peak day {plan.peak_day}</li>"
        for plan, colour in zip(usage.plans, PLAN_COLOURS, strict=True)
    )
    return "".join(parts) + f"<ul id='chart-legend'>{legend}</ul>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1b2631; background: #f4f6f7; }
header { background: #17202a; color: #fff; padding: 12px 24px; }
header h1 { margin: 0; font-size: 20px; }
nav { display: flex; gap: 4px; padding: 0 24px; background: #d5dbdb; }
nav a { padding: 8px 16px; color: #17202a; text-decoration: none; }
nav a:hover { background: #fff; }
main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: minmax(0, 1fr); }
@media (min-width: 1100px) {
  main { grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); align-items: start; }
  main > p { grid-column: 1 / -1; }
}
section { background: #fff; border: 1px solid #d5dbdb; padding: 12px 16px; }
#usage-chart { width: 100%; height: auto; }
h2 { margin: 0 0 4px; font-size: 18px; }
h3 { margin: 12px 0 4px; font-size: 15px; }
#owner p { margin: 2px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eaeded; }
.num { text-align: right; }
.code { font-family: monospace; color: #566573; }
.muted { color: #566573; font-size: 13px; }
tr.invalid td { color: #922b21; text-decoration: line-through; }
#messages { list-style: none; padding: 0; }
#messages li { padding: 6px 8px; border-left: 4px solid; margin-bottom: 4px; }
#messages li.error { border-color: #c0392b; background: #fdedec; }
#messages li.warning { border-color: #d68910; background: #fef5e7; }
#messages li.ok { border-color: #229954; background: #e9f7ef; }
.badge { text-transform: uppercase; font-size: 11px; font-weight: bold; margin-right: 6px; }
svg text { font-size: 13px; fill: #566573; }
svg .axis { stroke: #566573; }
svg .boundary { stroke: #aab7b8; stroke-dasharray: 4 3; }
#chart-legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{style}</style></head>
<body>
<header><h1>Licenses</h1></header>
<nav><a href="#superoffice">SuperOffice</a><a href="#status">Status</a></nav>
<main>
<section id="superoffice"><div id="owner">{owner}</div>{licenses}</section>
<section id="status"><h2>Status</h2>{messages}
<h3>Plans in use per day</h3>{chart}</section>
<p class="muted">Tenant {tenant}, as of {at}.</p>
</main></body></html>
"""
