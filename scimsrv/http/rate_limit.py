"""Per-tenant request rate limits: a token bucket per tenant and worker; past
it a request answers 429 with ``Retry-After`` (RFC 6585 §4) before any work.

The default lets Microsoft Entra ID sync at its 25 requests a second per
tenant with room for bursts (docs/identity-providers.md). The buckets live
in each worker process: the configured rate and burst are divided by the
number of workers, so the tenant's total stays what was configured as long
as the load spreads evenly (uvicorn hands connections to workers in turn).
Several replicas behind a proxy need the proxy's limiter on top.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from scimsrv.http.errors import error_response
from scimsrv.scim.errors import ScimError

_TENANT = re.compile(r"^/t/([^/]+)/")
MAX_TENANTS = 10_000  # buckets kept; the least recently used goes first


@dataclass
class Bucket:
    tokens: float
    at: float


class RateLimit:
    """``rate`` requests a second per tenant, ``burst`` at once; 0 disables.
    ``refused`` is told the tenant (as the path spells it) of each refusal."""

    def __init__(
        self, app: ASGIApp, rate: float, burst: float, refused: Callable[[str], None]
    ) -> None:
        self.app = app
        self.rate = rate
        self.burst = max(1.0, burst)
        self.refused = refused
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def wait(self, tenant: str, now: float) -> float:
        """0 when a request of ``tenant`` may go now (and takes its token),
        else the seconds until one may."""
        bucket = self.buckets.pop(tenant, None) or Bucket(self.burst, now)
        self.buckets[tenant] = bucket
        if len(self.buckets) > MAX_TENANTS:
            self.buckets.popitem(last=False)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _TENANT.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or self.rate <= 0:
            await self.app(scope, receive, send)
            return
        wait = self.wait(match.group(1), time.monotonic())
        if wait > 0:
            self.refused(match.group(1))
            retry = str(max(1, math.ceil(wait)))
            refusal = ScimError(429, f"too many requests for this tenant; retry in {retry} s")
            await error_response(refusal, headers={"Retry-After": retry})(scope, receive, send)
            return
        await self.app(scope, receive, send)
