"""The one clock: every timestamp the service writes is naive UTC from here.

Functions that record history take the moment as an argument (``at``), so
tests and replays control time; this module is where the default comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Now, as naive UTC (the form every timestamp column holds)."""
    return datetime.now(UTC).replace(tzinfo=None)
