"""One log event per request on the ``scimsrv.access`` logger (a JSON line on
stderr, :mod:`scimsrv.logs`): request id, method, route template, tenant,
status and duration; the same request counted and timed in the metrics
(:class:`~scimsrv.metrics.telemetry.Telemetry`). Never the query string (a
client may put a token there) nor any header; the request id comes from
``X-Request-Id`` when the client sends a sane one, else it is made here; it
is echoed in the response's ``X-Request-Id`` and stamped on every log line
written while the request is answered (:data:`scimsrv.logs.CURRENT_REQUEST_ID`)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimsrv.logs import CURRENT_REQUEST_ID
from scimsrv.metrics.telemetry import Telemetry

log = logging.getLogger("scimsrv.access")
REQUEST_ID = "X-Request-Id"
# A client's id is kept when it is this short (a GUID is 36 characters, a
# token longer, with or without its marker) and holds no token marker.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")
_TOKEN_MARKER = "scimsrv_"
# The tenant a path names: its SCIM API or its part of the admin API.
_TENANT = re.compile(r"^/(?:t|admin/v1/tenants)/([^/]+)(?:/|$)")


def request_id(scope: Scope) -> str:
    """The request's id: the client's ``X-Request-Id`` if sane (short, no
    token in it: it is echoed and logged), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text) and _TOKEN_MARKER not in text:
                return text
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route as written in the app factory without its converters
    (``/rules/{rule}`` for ``/rules/{rule:int}``, as the OpenAPI document
    names it), ids never spelled out."""
    route = scope.get("route")
    path = getattr(route, "path_format", None)
    if path is None:
        return "(unmatched)"
    root = scope.get("root_path", "")
    if root.startswith("/t/"):
        return "/t/{tenant}/scim/v2" + path
    if root.startswith("/admin/"):
        return "/admin/v1" + path
    return path


class AccessLog:
    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        stamped = CURRENT_REQUEST_ID.set(rid)
        self.telemetry.request_started()
        status = 500

        async def tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = rid
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        finally:
            seconds = time.perf_counter() - started
            match = _TENANT.match(scope.get("path", ""))
            tenant = match.group(1) if match else None
            method, route = scope.get("method", ""), route_template(scope)
            self.telemetry.request_finished(method, route, tenant, status, seconds)
            fields = {
                "request_id": rid,
                "method": method,
                "route": route,
                "tenant": tenant,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            log.info("request", extra={"fields": fields})
            CURRENT_REQUEST_ID.reset(stamped)
