"""The peer server of bench/peer.py: scim2-server, in memory, under uvicorn.

It runs in the bench's own virtual environment (``bench/.peer-venv``, made by
bench/peer.py), never in scimsrv's: scim2-server pins its own dependencies.

scim2-server's ``scim2-server`` command serves its WSGI application from the
standard library's threading ``wsgiref`` server. The library also ships an
ASGI application (``scim2_server.applications.asgi.ASGIApplication``) over an
asynchronous in-memory storage: that one is served here, under uvicorn with
the settings ``scimsrv serve`` uses (one worker, log level info), so both
servers meet on the same ground. Everything else is as the command builds it
with ``--bearer-token``: the RFC 7643 schemas, the User and Group resource
types, the default service provider configuration plus the bearer token
scheme, and the command's own token check.

    bench/.peer-venv/bin/python bench/peer_app.py PORT   # token in PEER_BEARER_TOKEN
"""

from __future__ import annotations

import os
import sys

import uvicorn
from scim2_models import ScimProvider
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


class BearerTokenASGIApplication(ASGIApplication):
    """The ASGI application, refusing requests without the bearer token."""

    check_auth = BearerTokenApplication.check_auth  # the command's check

    def __init__(self, provider: ScimProvider, bearer_token: str) -> None:
        super().__init__(AsyncInMemoryStorage(), provider)
        self.bearer_tokens = {bearer_token}


def make_app(bearer_token: str) -> BearerTokenASGIApplication:
    """The application the ``scim2-server --bearer-token TOKEN`` command would serve."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    return BearerTokenASGIApplication(provider, bearer_token)


if __name__ == "__main__":
    app = make_app(os.environ["PEER_BEARER_TOKEN"])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, log_level="info")
