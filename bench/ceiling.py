"""The ceiling for the load bench: the smallest Starlette JSON endpoint, served
with the uvicorn settings ``scimsrv serve`` uses (one worker, log level info)."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/json", hello)])

if __name__ == "__main__":  # python bench/ceiling.py PORT
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, log_level="info")
