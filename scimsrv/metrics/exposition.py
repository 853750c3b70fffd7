"""One scrape: every worker's metrics (the files of ``PROMETHEUS_MULTIPROC_DIR``,
which ``scimsrv serve`` sets up; this process's registry when the app is
served without it, as by a bare ``uvicorn scimsrv.asgi:app`` or in tests) and
the database figures, in the format the scraper accepts."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from licensing_core.db import Database
from scimsrv.metrics.seats import DatabaseFigures, read_figures


def exposition(db: Database, timeout: float, accept: str | None) -> tuple[bytes, str]:
    """The body and its content type: the Prometheus text format, or
    OpenMetrics when ``accept`` (the Accept header) asks for it. Reads the
    database (``timeout``: see :func:`scimsrv.metrics.seats.read_figures`)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(DatabaseFigures(read_figures(db, timeout)))
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
