"""The REAL server for end-to-end tests: ``scimsrv serve`` as a subprocess on a
free loopback port, with the CLI run against the same database."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCIMSRV = Path(sys.executable).parent / "scimsrv"
SCIM_JSON = "application/scim+json"


def server_env(database_url: str) -> dict[str, str]:
    """The environment for the server and the CLI: this checkout's code (a
    worktree too, not what an editable install points at) on ``database_url``."""
    env = {
        **os.environ,
        "SCIMSRV_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        # Races and load loops measure locking, not the per-tenant limiter
        # (tests/test_hardened_inputs.py tests that one).
        "SCIMSRV_RATE_LIMIT": "0",
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


@contextmanager
def killable_server(
    env: dict[str, str], workdir: Path, workers: int = 1, name: str = "server"
) -> Iterator[tuple[str, Path, Callable[[], None]]]:
    """``scimsrv serve`` in a process group of its own: (root URL, log, kill),
    where ``kill()`` sends SIGKILL to the server and every worker at once, as a
    crash would. Always gone on the way out."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    log = workdir / f"{name}.log"
    command = [str(SCIMSRV), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill() -> None:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)

    try:
        wait_healthy(server, f"{root}/healthz", log)
        yield root, log, kill
    finally:
        kill()


@dataclass
class LiveTenant:
    """A tenant on a running server: SCIM and admin clients with its tokens."""

    root: str
    port: int
    log: Path
    tenant: str
    token: str
    scim: httpx.Client
    admin: httpx.Client

    def scim_client(self, **kwargs) -> httpx.Client:
        """Another SCIM client (its own connections) with the tenant's token."""
        return scim_client(self.root, self.tenant, self.token, **kwargs)


def scim_client(root: str, tenant: str, token: str, **kwargs) -> httpx.Client:
    """A client of ``tenant``'s SCIM API; httpx options in ``kwargs`` (timeout 60 s)."""
    return httpx.Client(
        base_url=f"{root}/t/{tenant}/scim/v2",
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
        **{"timeout": 60, **kwargs},
    )


@contextmanager
def tenant_on(env: dict[str, str], root: str, log: Path, tenant: str) -> Iterator[LiveTenant]:
    """A new tenant on the server at ``root``, its bearer token and an operator
    token (made with the CLI, as an operator would), with clients for both APIs."""
    cli(env, "tenant", "create", tenant)
    token = cli(env, "token", "issue", tenant)
    operator = cli(env, "operator", "token", "issue")
    admin = httpx.Client(
        base_url=f"{root}/admin/v1/tenants/{tenant}",
        headers={"Authorization": f"Bearer {operator}"},
        timeout=60,
    )
    port = int(root.rsplit(":", 1)[1])
    scim = scim_client(root, tenant, token)
    with scim, admin:
        yield LiveTenant(root, port, log, tenant, token, scim, admin)


@contextmanager
def live_tenant(
    env: dict[str, str], workdir: Path, tenant: str, workers: int = 1
) -> Iterator[LiveTenant]:
    """``live_server`` with one tenant on it (see :func:`tenant_on`)."""
    with (
        live_server(env, workdir, workers=workers) as (root, log),
        tenant_on(env, root, log, tenant) as live,
    ):
        yield live


def server_receive_queue(server_port: int, client_port: int) -> int | None:
    """Bytes the server has not yet read on the loopback connection from
    ``client_port`` (Linux ``/proc/net/tcp``), or None if there is no such socket."""
    # The table prints an IPv4 address as the 32-bit word in host byte order.
    (loopback,) = struct.unpack("=I", socket.inet_aton("127.0.0.1"))
    local, remote = f"{loopback:08X}:{server_port:04X}", f"{loopback:08X}:{client_port:04X}"
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[1], 16)
    return None


def wait_request_read(server_port: int, client_port: int, limit: float = 10.0) -> None:
    """Wait (bounded) until the server has read everything sent on the
    connection from ``client_port``: the request is in the server's hands, not
    in a socket buffer (call it after the send returned)."""
    deadline = time.monotonic() + limit
    while server_receive_queue(server_port, client_port) != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not read the request within {limit:.0f}s")
        time.sleep(0.01)
