"""conformance/scenarios.py against the REAL server: ``scimsrv serve`` as a
subprocess on a free port, on a fresh SQLite file and a fresh PostgreSQL
database, with the tenant and tokens made by the CLI as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.live_server import ROOT, cli, live_server, server_env

SCENARIOS = ROOT / "conformance" / "scenarios.py"
# The conformance run keeps 1,000 users; 300 keep this test well under a minute
# per database on a small machine while still saturating every plan's seats.
LARGE_USERS = int(os.environ.get("SCIMSRV_SCENARIO_USERS", "300"))
TENANT = "scenarios"


def test_idp_scenarios_against_a_live_server(backend, fresh_database_url, tmp_path):
    env = server_env(fresh_database_url(backend))
    with live_server(env, tmp_path) as (root, log):
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
                # Tests never assert on wall-clock time (the project's rule): generous bounds
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
    print(done.stdout)  # one line per step; pytest shows it on failure or with -s
    server_log = log.read_text()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- server log ---\n{server_log}"
    assert "Traceback" not in server_log, server_log
    summary = [line for line in done.stdout.splitlines() if line.startswith("scenarios: ")]
    assert len(summary) == 1 and "steps passed" in summary[0], done.stdout
