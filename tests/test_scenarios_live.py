"""conformance/scenarios.py against the REAL server: ``scimsrv serve`` as a
subprocess on a free port, on a fresh SQLite file and a fresh PostgreSQL
database, with the tenant and tokens made by the CLI as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCIMSRV = BIN / "scimsrv"
SCENARIOS = ROOT / "conformance" / "scenarios.py"
# The conformance run keeps 1,000 users; 300 keep this test well under a minute
# per database on a small machine while still saturating every plan's seats.
LARGE_USERS = int(os.environ.get("SCIMSRV_SCENARIO_USERS", "300"))
TENANT = "scenarios"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
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


def test_idp_scenarios_against_a_live_server(backend, fresh_database_url, tmp_path):
    env = {
        **os.environ,
        "SCIMSRV_DATABASE_URL": fresh_database_url(backend),
        "PYTHONUNBUFFERED": "1",
        # The server, the CLI and the script run this checkout (a worktree too),
        # not whatever an editable install points at.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("SCIMSRV_WORKERS", None)
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(SCIMSRV), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(server, f"{root}/healthz", log)
        cli(env, "tenant", "create", TENANT)
        token = cli(env, "token", "issue", TENANT, "--label", "scenarios")
        operator = cli(env, "operator", "token", "issue", "--label", "scenarios")
        done = subprocess.run(
            [
                sys.executable,
                str(SCENARIOS),
                "--root",
                root,
                "--tenant",
                TENANT,
                f"--token={token}",  # a token may begin with "-"
                f"--operator-token={operator}",
                "--large-users",
                str(LARGE_USERS),
                "--large-groups",
                "20",
                # Tests never assert on wall-clock time (DESIGN §5): generous bounds
                # that only stop a hung server, on a shared, noisy machine.
                "--timeout",
                "120",
                "--large-time-limit",
                "600",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stop(server)
    print(done.stdout)  # one line per step; pytest shows it on failure or with -s
    server_log = log.read_text()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- server log ---\n{server_log}"
    assert "Traceback" not in server_log, server_log
    summary = [line for line in done.stdout.splitlines() if line.startswith("scenarios: ")]
    assert len(summary) == 1 and "steps passed" in summary[0], done.stdout
