"""The HTML pages' Jinja2 templates (``templates/``, autoescaped) and how a page is answered.

Every page is one self-contained document: its CSS inline, nothing fetched
from elsewhere, no script. The Content-Security-Policy says so to the
browser (no script, no plugin, frames and forms of this origin only, and the
page framed only by this origin), so a value that slipped past the escaping
could still not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from licensing_core.plural import plural

TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
# Counted nouns in templates too: {{ plural(total, "holder") }}.
TEMPLATES.env.globals["plural"] = plural

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "frame-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
    )
)


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """``template`` rendered with ``context`` as an HTML response, with the page's policy."""
    return TEMPLATES.TemplateResponse(
        request,
        template,
        context,
        status_code=status_code,
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, **(headers or {})},
    )
