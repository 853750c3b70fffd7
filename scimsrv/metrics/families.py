"""The metric families the server records as it works (docs/observability.md
lists them with their labels). Label values are bounded: route templates
(never paths), known methods, tenants that exist, plan names, and driver
error class names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "scimsrv_http_requests",
    "HTTP requests answered, by tenant, method, route template and status.",
    ["tenant", "method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "scimsrv_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
)
IN_PROGRESS = Gauge(
    "scimsrv_http_requests_in_progress",
    "Requests being answered now, summed over the live workers.",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "scimsrv_rate_limit_refusals",
    "Requests refused with 429 by the per-tenant rate limit.",
    ["tenant"],
)
DATABASE_FAILURES = Counter(
    "scimsrv_database_failures",
    "Transactions that failed in the database, by driver error and what followed "
    "(retried, busy: answered 503, unexpected: answered 500).",
    ["error", "handling"],
)
PLAN_GRANTS = Counter(
    "scimsrv_plan_grants",
    "Plans granted to users (committed), by tenant and plan.",
    ["tenant", "plan"],
)
PLAN_RELEASES = Counter(
    "scimsrv_plan_releases",
    "Plans released by users (committed), by tenant and plan.",
    ["tenant", "plan"],
)
DECISIONS = Counter(
    "scimsrv_provisioning_decisions",
    "Users whose plans were evaluated (committed), by tenant and the state they "
    "were left in (licensed, pending, none).",
    ["tenant", "state"],
)
