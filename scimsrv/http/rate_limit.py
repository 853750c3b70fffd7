"""Per-tenant request rate limits: token buckets in each worker; past one a
request answers 429 with ``Retry-After`` (RFC 6585 §4) before any work.

Only the identity provider can spend its own allowance. A request is
charged by the credential it presents, before anything checks it:

* a bearer token this worker has seen authenticate for the path's tenant
  has a bucket of its own (``rate`` requests a second, ``burst`` at once);
* every other request naming the tenant (no token, a wrong one, another
  tenant's, or a right one this worker has not seen pass yet) draws on one
  smaller bucket per tenant, :data:`UNVERIFIED_SHARE` of the rate and burst.

A flood of requests without the token empties only that second bucket. The
endpoint that checks the token marks the outcome on the request
(:data:`scimsrv.http.auth.CREDENTIAL_PASSED`); a token that passes gets its
bucket, one that is refused (revoked) loses it. Tokens are known here by
their SHA-256 digest only; both tables are bounded (the least recently used
entry goes first). A worker that has not yet seen the token (just started,
or the token was evicted) charges its first request to the smaller bucket:
during a flood of bad credentials that request may get a 429 and the
identity provider retries after ``Retry-After``.

Limits are per worker, not divided among workers: a keep-alive connection
stays on one worker, so each must allow the whole rate (with N workers a
tenant may get up to N times the limit in aggregate). The default lets
Microsoft Entra ID sync at its 25 requests a second per tenant with room for
bursts (docs/identity-providers.md). Several replicas behind a proxy need
the proxy's limiter on top.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from scimsrv.http.auth import CREDENTIAL_PASSED, bearer_token
from scimsrv.http.errors import error_response
from scimsrv.scim.errors import ScimError

_TENANT = re.compile(r"^/t/([^/]+)/")
MAX_ENTRIES = 10_000  # buckets kept per table; the least recently used goes first
# The part of the rate and burst that requests with an unverified credential share.
UNVERIFIED_SHARE = 0.1


@dataclass
class Bucket:
    tokens: float
    at: float


class Buckets:
    """Token buckets of ``rate`` a second and ``burst`` at most, by key, LRU-bounded."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.table: OrderedDict[Hashable, Bucket] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self.table

    def add(self, key: Hashable, now: float, tokens: float) -> None:
        self.table[key] = Bucket(min(self.burst, tokens), now)
        self.table.move_to_end(key)
        if len(self.table) > MAX_ENTRIES:
            self.table.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        self.table.pop(key, None)

    def take(self, key: Hashable, now: float) -> float:
        """0 when a request charged to ``key`` may go now (and takes its token),
        else the seconds until one may."""
        if key not in self.table:
            self.add(key, now, self.burst)
        self.table.move_to_end(key)
        bucket = self.table[key]
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


def credential_key(tenant: str, scope: Scope) -> tuple[str, bytes] | None:
    """The tenant and the digest of the bearer token the request presents, if any."""
    token = bearer_token(Headers(scope=scope).get("authorization"))
    if token is None:
        return None
    return tenant, hashlib.sha256(token.encode("latin-1")).digest()


class RateLimit:
    """``rate`` requests a second per verified token, ``burst`` at once, and a
    share of that for everything else naming the tenant; ``rate`` 0 disables.
    ``refused`` is told the tenant (as the path spells it) of each refusal."""

    def __init__(
        self, app: ASGIApp, rate: float, burst: float, refused: Callable[[str], None]
    ) -> None:
        self.app = app
        self.rate = rate
        self.refused = refused
        self.verified = Buckets(rate, burst)
        self.unverified = Buckets(rate * UNVERIFIED_SHARE, burst * UNVERIFIED_SHARE)

    def wait(self, tenant: str, key: tuple[str, bytes] | None, now: float) -> float:
        """0 when the request may go now (its token taken), else the seconds until one may."""
        if key is not None and key in self.verified:
            return self.verified.take(key, now)
        return self.unverified.take(tenant, now)

    def learn(self, key: tuple[str, bytes] | None, passed: bool | None, now: float) -> None:
        """A token that passed gets its own bucket (less the request that showed
        it); one that was refused loses it."""
        if key is None or passed is None:
            return
        if not passed:
            self.verified.drop(key)
        elif key not in self.verified:
            self.verified.add(key, now, self.verified.burst - 1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _TENANT.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or self.rate <= 0:
            await self.app(scope, receive, send)
            return
        tenant = match.group(1)
        key = credential_key(tenant, scope)
        wait = self.wait(tenant, key, time.monotonic())
        if wait > 0:
            self.refused(tenant)
            retry = str(max(1, math.ceil(wait)))
            refusal = ScimError(429, f"too many requests for this tenant; retry in {retry} s")
            await error_response(refusal, headers={"Retry-After": retry})(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            await self.app(scope, receive, send)
        finally:
            self.learn(key, state.get(CREDENTIAL_PASSED), time.monotonic())
