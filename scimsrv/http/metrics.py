"""``GET /metrics``: the Prometheus exposition of every worker's metrics and the
database figures (docs/observability.md), for an operator token (Bearer, as
the admin API) or the metrics token (``SCIMSRV_METRICS_TOKEN``); anything
else is the 401 every refused credential gets."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import bearer_token
from scimsrv.metrics.exposition import exposition
from scimsrv.services.transaction import Caller, Service


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    token = bearer_token(request.headers.get("authorization"))
    if not _is_metrics_token(token, service.settings.metrics_token.get_secret_value()):
        # The operator token check, as every admin request has it (401 when it fails).
        await run_in_threadpool(
            service.run, lambda _tx: None, caller=Caller(token, None), write=False
        )
    body, content_type = await run_in_threadpool(
        exposition, service.db, service.settings.lock_timeout, request.headers.get("accept")
    )
    return Response(body, media_type=content_type)


def _is_metrics_token(token: str | None, metrics_token: str) -> bool:
    return bool(token and metrics_token) and hmac.compare_digest(
        token.encode(), metrics_token.encode()
    )
