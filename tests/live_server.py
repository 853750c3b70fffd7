"""The REAL server for end-to-end tests: ``scimsrv serve`` as a subprocess on a
free loopback port, with the CLI run against the same database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCIMSRV = Path(sys.executable).parent / "scimsrv"


def server_env(database_url: str) -> dict[str, str]:
    """The environment for the server and the CLI: this checkout's code (a
    worktree too, not what an editable install points at) on ``database_url``."""
    env = {
        **os.environ,
        "SCIMSRV_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("SCIMSRV_WORKERS", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``scimsrv ARGS``; its last line of output."""
    done = subprocess.run(
        [str(SCIMSRV), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"scimsrv {' '.join(args)}: {done.stderr or done.stdout}"
    return done.stdout.strip().splitlines()[-1]


def wait_healthy(server: subprocess.Popen, url: str, log: Path, limit: float = 60.0) -> None:
    """Poll /healthz until it answers 200; fail if the server exits or time runs out."""
    deadline = time.monotonic() + limit
    with httpx.Client(timeout=2.0) as client:
        while True:
            if server.poll() is not None:
                pytest.fail(f"scimsrv serve exited with {server.returncode}:\n{log.read_text()}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz did not answer within {limit:.0f}s:\n{log.read_text()}")
            time.sleep(0.1)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@contextmanager
def live_server(env: dict[str, str], workdir: Path, workers: int = 1) -> Iterator[tuple[str, Path]]:
    """``scimsrv serve`` on 127.0.0.1 and a free port: (root URL, log file).
    Always stopped on the way out."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    command = [str(SCIMSRV), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(server, f"{root}/healthz", log)
        yield root, log
    finally:
        stop(server)
