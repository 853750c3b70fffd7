"""The server's own view of a bench run: ``GET /metrics`` read right after the
measures and summed up per route (requests, answers that were not 2xx, mean
and 95th-percentile latency from the histogram), with the database failures
and provisioning decisions it counted (docs/observability.md).

    from bench.metrics_excerpt import excerpt
    rich.console.Console().print(excerpt(origin, metrics_token))
"""

from __future__ import annotations

import math
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table


def excerpt(origin: str, token: str) -> Table:
    """A row per route the server counted; the failures and decisions in the caption."""
    response = httpx.get(f"{origin}/metrics", headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    requests: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    seconds: dict[str, float] = defaultdict(float)
    other: list[str] = []
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "scimsrv_http_requests_total":
                requests[labels["route"]][labels["status"]] += sample.value
            elif sample.name == "scimsrv_http_request_duration_seconds_bucket":
                buckets[labels["route"]][float(labels["le"])] += sample.value
            elif sample.name == "scimsrv_http_request_duration_seconds_sum":
                seconds[labels["route"]] += sample.value
            elif sample.name in (
                "scimsrv_database_failures_total",
                "scimsrv_provisioning_decisions_total",
            ):
                named = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
                other.append(f"{sample.name}{{{named}}} {sample.value:.0f}")
    table = Table(
        title="the server's /metrics", title_justify="left", caption="\n".join(other) or None
    )
    for column in ("route", "requests", "not 2xx", "mean ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for route in sorted(requests):
        count = sum(requests[route].values())
        failed = sum(n for status, n in requests[route].items() if not status.startswith("2"))
        mean = 1000 * seconds[route] / count if count else math.nan
        p95 = 1000 * quantile(0.95, buckets[route])
        table.add_row(route, f"{count:.0f}", f"{failed:.0f}", f"{mean:.1f}", f"{p95:.1f}")
    return table


def quantile(q: float, cumulative: dict[float, float]) -> float:
    """The ``q`` quantile of a histogram's cumulative buckets (upper bound ->
    count), interpolated inside its bucket as PromQL's histogram_quantile does."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] == 0:
        return math.nan
    rank = q * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if math.isinf(bound):
                return lower  # past the last finite bucket: its bound is all we know
            inside = cumulative[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0)
        lower, below = bound, cumulative[bound]
    return lower
