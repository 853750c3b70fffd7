"""Logs as JSON lines on stderr: one object per line (``ts``, ``level``,
``logger``, ``message``, the ``request_id`` of the request being answered, if
any, and the record's ``fields``), tracebacks folded into the line, so a log
shipper reads every event whole. ``scimsrv serve`` installs it for the
service's loggers and uvicorn's."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being answered (scimsrv.http.access_log sets it; the
# worker threads that run use cases see it too).
CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := CURRENT_REQUEST_ID.get()) is not None:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the service, the licensing core and
    uvicorn: JSON lines on stderr; any other library's warnings too (the root
    logger). uvicorn's own access log is left off: :mod:`scimsrv.http.access_log`
    writes one line per request without the query string."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    loggers = {
        name: {"handlers": ["json"], "level": level, "propagate": False}
        for name in (
            "scimsrv",
            "licensing_core",
            "uvicorn",
            "uvicorn.error",
        )
    }
    loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"json": handler},
        "loggers": loggers,
        "root": {"handlers": ["json"], "level": "WARNING"},
    }
