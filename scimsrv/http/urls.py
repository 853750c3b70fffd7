"""Absolute URLs the service hands out: ``meta.location``, ``Location``
headers, the base URLs the admin API shows, and redirects.

With ``SCIMSRV_PUBLIC_URL`` set they are built from it, never from the
request's ``Host`` header, which any client may set (``Host: evil.example``
must not make the service name evil.example as its own location); without
it they follow the URL the client reached, which is right only when no
proxy stands between (README: set it in production).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimsrv.settings import Settings


def tenant_base_url(request: Request, tenant: str | None = None) -> str:
    """The SCIM base URL of ``tenant`` (default: the path's): ``.../t/{tenant}/scim/v2``."""
    tenant = tenant or request.path_params["tenant"]
    settings: Settings = request.app.state.service.settings
    if settings.public_url:
        return settings.tenant_base_url(tenant)
    return f"{str(request.base_url).rstrip('/')}/t/{tenant}/scim/v2"


class PublicRedirects:
    """A redirect's ``Location`` (Starlette's trailing-slash 307 builds it from
    the request) at ``public_url`` when one is set: the path and query kept,
    the origin replaced."""

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.public_url = (public_url or "").rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.public_url:
            await self.app(scope, receive, send)
            return

        async def send_public(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location is not None:
                    own = urlunsplit(("", "", *urlsplit(location)[2:]))
                    headers["location"] = self.public_url + own
            await send(message)

        await self.app(scope, receive, send_public)
