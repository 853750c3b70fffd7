"""The Licenses page in a real headless Chromium: owner, serial and expiry, the license
list with in use / available, status messages and the usage chart.

Chromium comes from the Debian packages (``scripts/install-chromium.sh``). Without
it the browser test skips, unless ``SCIMSRV_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``),
which turns the skip into a failure.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from licensing_core.license_set import load_default
from licensing_core.plans import BASE_PLANS
from licensing_core.tenants import create_tenant
from scimsrv.http.app import create_app
from scimsrv.http.pages.license_page import gather, render
from scimsrv.services import tokens
from tests.provisioning_helpers import Directory
from tests.use_cases import run

NOW = datetime(2026, 11, 20, 9, 30)
REQUIRE_CHROMIUM = os.environ.get("SCIMSRV_REQUIRE_CHROMIUM") == "1"
BROWSER_TIMEOUT = 90  # seconds for one headless run
STARTUP_ATTEMPTS = 50


class LicensedDirectory(Directory):
    """A Directory over a tenant whose license set names the customer."""

    def __init__(self, db, tenant_id: str) -> None:
        self.db, self.tenant_id, self.clock = db, tenant_id, datetime(2026, 10, 5)
        spec = load_default()
        owner = dataclasses.replace(
            spec.owner,
            company_name="Nordlys Fisk AS",
            serial_number="4711-0815",
            expiration=datetime(2027, 6, 30),
            admin_warning_date=datetime(2026, 11, 1),
        )
        spec = dataclasses.replace(spec, owner=owner).with_seats(
            {p.name: (2 if p.name == "Sales-Premium" else 5) for p in BASE_PLANS}
        )
        with db.write() as session:
            create_tenant(session, tenant_id, "Nordlys", at=self.clock, license_set=spec)


@pytest.fixture
def licensed(db, tenant_id):
    d = LicensedDirectory(db, tenant_id)
    users = [d.create_user(name) for name in ("ada", "bjorn", "cecilie")]
    d.create_group("Sales-Premium", users)  # cecilie waits for a seat
    d.clock = datetime(2026, 10, 20)
    d.create_group("Service-Essentials", users[:2])
    d.clock = datetime(2026, 11, 10)
    d.create_group("Marketing-Premium", [users[0]])
    return d


def test_license_page_shows_owner_serial_expiry_list_status_and_chart(db, licensed, tenant_id):
    html = render(run(db, gather, tenant_id, at=NOW, write=False))
    assert "Nordlys Fisk AS" in html and "Serial number: 4711-0815" in html
    assert "Expires 2027-06-30" in html
    assert "1 user(s) waiting for seats: cecilie (Sales-Premium)" in html
    assert "license expires on 2027-06-30" in html
    row = re.search(r"<tr><td>Sales-Premium</td>.*?</tr>", html).group(0)
    assert re.findall(r'<td class="num">(\w+)</td>', row) == ["2", "0", "2"]
    assert html.count('<polyline class="plan"') == 3


def test_license_page_escapes_what_the_license_set_says(db, licensed, tenant_id):
    page = run(db, gather, tenant_id, at=NOW, write=False)
    status = dataclasses.replace(page.status, company_name="<script>x()</script> & 'Co'")
    html = render(dataclasses.replace(page, status=status))
    assert "<script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt; &amp; &#39;Co&#39;" in html


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium not installed: run scripts/install-chromium.sh"
        if REQUIRE_CHROMIUM:
            pytest.fail(f"{reason} (SCIMSRV_REQUIRE_CHROMIUM=1)")
        pytest.skip(reason)
    return path


@pytest.fixture
def live_server(db):
    """The report routes under /admin/v1 on 127.0.0.1, a free port picked by the kernel."""
    app = create_app(db=db, clock=lambda: NOW)
    # Listening before the server starts: early requests wait in the backlog.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        for attempt in range(STARTUP_ATTEMPTS):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if attempt == STARTUP_ATTEMPTS - 1 or not thread.is_alive():
                    raise
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )


def test_license_page_renders_in_headless_chromium(db, live_server, licensed, tenant_id, tmp_path):
    browser = chromium()
    token = run(db, lambda tx: tokens.issue(tx, None, "browser"))
    # A browser sends the operator token as the Basic password.
    base = live_server.replace("//", f"//operator:{token}@")
    url = f"{base}/admin/v1/tenants/{tenant_id}/license"
    dom = headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert "<title>Licenses – Nordlys Fisk AS</title>" in page
    assert "Serial number: 4711-0815" in page and "Expires 2027-06-30" in page
    assert 'id="license-list"' in page and "Sales-Premium" in page
    assert "cecilie (Sales-Premium)" in page
    assert page.count('class="plan"') == 3
    assert "Marketing-Premium: 1 today" in page

    screenshot = tmp_path / "license-page.png"
    shot = headless(
        browser,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        url,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
