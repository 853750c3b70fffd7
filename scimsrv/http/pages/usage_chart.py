"""The geometry of the usage chart: plans in use per day as step lines, in SVG user units.

Values only (coordinates rounded to 0.1, labels, colours); the markup is
``templates/usage_chart.html``. One line per base plan, the count at each
day's close (``licensing_core.usage``; a lone day's count drawn across the
plot, since one point draws nothing), the axes labelled with the top count,
0 and the first and last day, and a dashed rule where the current billing
period starts when it falls inside the chart.
"""

from __future__ import annotations

from dataclasses import dataclass

from licensing_core.periods import Period
from licensing_core.usage import UsageReport

# One colour per base plan, in catalog order (Sales, Service, Marketing; Essentials, Premium).
PLAN_COLOURS = ("#7fb3d5", "#1f618d", "#82e0aa", "#1e8449", "#f5b041", "#b9770e")
CHART_WIDTH, CHART_HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 16, 16, 36


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
    last: int  # at the close of the last day drawn
    peak_day: int


@dataclass(frozen=True)
class Chart:
    """The usage chart in SVG user units, coordinates rounded to 0.1."""

    width: int
    height: int
    title: str
    days: int  # days drawn; 0: nothing to draw
    last_day: str  # the legend's name for the last day drawn: "today" or "on YYYY-MM-DD"
    axes: tuple[Line, ...]
    labels: tuple[Label, ...]  # of the axes: the top count, 0, the first and last day
    boundary: tuple[Line, Label] | None  # where the current period starts, if shown
    plans: tuple[PlanLine, ...]


def usage_chart(usage: UsageReport, current: Period) -> Chart:
    """The chart of ``usage`` (every day of its counted span); ``current`` marks
    where the current billing period starts."""
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
    start = current.start.date()
    if days and days[0] < start <= days[-1]:
        bx = x(days.index(start))
        boundary = (
            Line(round(bx, 1), MARGIN_TOP, round(bx, 1), y_zero),
            Label(round(bx + 4, 1), MARGIN_TOP + 10, current.label),
        )
    plans = []
    for plan, colour in zip(usage.plans, PLAN_COLOURS, strict=True):
        points = None
        if any(plan.daily):
            # A step line: a day's count holds until the next day's close.
            steps = [(x(0), y(plan.daily[0]))]
            for i in range(1, len(plan.daily)):
                steps += [(x(i), y(plan.daily[i - 1])), (x(i), y(plan.daily[i]))]
            if len(plan.daily) == 1:  # one point draws nothing: the lone day spans the plot
                steps.append((x(span), y(plan.daily[0])))
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in steps)
        last = plan.daily[-1] if plan.daily else 0
        plans.append(PlanLine(plan.name, colour, points, last, plan.peak_day))
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        title=f"Plans in use per day, {usage.period.label}",
        days=len(days),
        last_day=f"on {days[-1]:%Y-%m-%d}" if usage.complete and days else "today",
        axes=axes,
        labels=tuple(labels),
        boundary=boundary,
        plans=tuple(plans),
    )
