"""The metrics of several worker processes: prometheus-client's multiprocess
mode. ``scimsrv serve`` gives every server start a fresh, empty
``PROMETHEUS_MULTIPROC_DIR`` (under the system's temporary directory,
``TMPDIR``) before any worker loads the app; each worker writes its values
to files of its own there and a scrape adds them up. Counters of a worker
that exited stay (a counter never goes back); its live gauges are dropped
(``mark_process_dead``) as soon as the supervisor sees it gone. The
directory is removed when the server stops.

prometheus-client reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first
imported, so this module imports it only once the directory is set: the
command line never imports it before ``serve`` runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_directory() -> Iterator[str]:
    """A new empty directory as ``PROMETHEUS_MULTIPROC_DIR`` (for this process
    and the workers it starts), removed on the way out."""
    path = tempfile.mkdtemp(prefix="scimsrv-metrics-")
    os.environ[DIRECTORY] = path
    try:
        yield path
    finally:
        os.environ.pop(DIRECTORY, None)
        shutil.rmtree(path, ignore_errors=True)


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor (it replaces a worker that died, and all
    of them on SIGHUP) that marks each worker it replaced dead for the
    metrics. ``scimsrv serve`` runs even a single worker under it, so the
    directory outlives every worker and is removed whatever stops the server
    (a lone uvicorn server ends its process with the signal that stopped it)."""

    @property
    def failed_to_start(self) -> bool:
        """A worker could not start (the app failed to load): the server stopped."""
        return any(process.exitcode == STARTUP_FAILURE for process in self.processes)

    def keep_subprocess_alive(self) -> None:
        self._marking_dead(super().keep_subprocess_alive)

    def restart_all(self) -> None:
        self._marking_dead(super().restart_all)

    def _marking_dead(self, step: Callable[[], None]) -> None:
        from prometheus_client.multiprocess import mark_process_dead  # see the module doc

        before = {process.pid for process in self.processes}
        step()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                mark_process_dead(pid)
