"""Last line of defence: any unexpected exception becomes a SCIM 500 (RFC 7644 §3.12).

The traceback goes to the log; the client sees only a generic detail, never
internals. Starlette's own ``ServerErrorMiddleware`` would answer plain text
and re-raise, so this sits inside it and answers in SCIM instead.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimsrv.http.errors import error_response
from scimsrv.scim.errors import ScimError

log = logging.getLogger("scimsrv")


class ScimServerErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                # Half a response is already out: nothing valid can follow.
                raise
            response = error_response(ScimError(500, "internal server error"))
            await response(scope, receive, send)
