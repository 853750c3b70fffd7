"""Query parameters every admin endpoint reads the same way."""

from __future__ import annotations

from starlette.requests import Request


def dry_run(request: Request) -> bool:
    """``?dryRun=true``: answer what the write would do and change nothing."""
    return request.query_params.get("dryRun", "").lower() in ("1", "true", "yes")
