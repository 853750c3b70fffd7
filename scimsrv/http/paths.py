"""Endpoint names under a tenant's base URL match whatever their case:
``/users`` is ``/Users`` (RFC 7644 §3.2 spells them capitalised; several
clients send them in lower case). Ids and the rest of the path are kept."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from scimsrv.scim.urns import endpoint_name

_BASE = re.compile(r"^(/t/[^/]+/scim/v2/)([^/]+)(.*)$")


def canonical(path: str) -> str:
    """``path`` with the endpoint name after the tenant base in its canonical case."""
    match = _BASE.match(path)
    if match is None:
        return path
    name = endpoint_name(match.group(2))
    return path if name is None else f"{match.group(1)}{name}{match.group(3)}"


class CanonicalEndpointNames:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = canonical(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
