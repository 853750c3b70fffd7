"""The Licenses page: the tenant's company name as heading, the owner block, the license
list with in use / available, one summarised error for an invalid set, the usage chart
from the tenant's creation or the period asked for, the holders frame, and what a
browser without credentials gets; in a real headless Chromium at 1400 px.

Chromium comes from the Debian packages (``scripts/install-chromium.sh``: chromium and
its chromedriver, driven through Selenium). Without them the browser tests skip,
unless ``SCIMSRV_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``), which turns the skip into
a failure. ``SCIMSRV_PAGE_SCREENSHOT=PATH`` also saves the 1400 px screenshot there
(``docs/img/licenses-page.png`` is made that way).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import threading
import urllib.request
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import update
from starlette.testclient import TestClient

from licensing_core.license_set import load_default
from licensing_core.plans import BASE_PLANS
from licensing_core.tables import USER_LICENSE, ModuleLicense, ModuleOwner
from licensing_core.tenants import create_tenant
from scimsrv.http.app import create_app
from scimsrv.http.pages.license_page import gather, render
from scimsrv.services import groups, tokens, users
from tests.provisioning_helpers import Directory
from tests.use_cases import group_resource, run, user_resource

NOW = datetime(2026, 11, 20, 9, 30)
CREATED = datetime(2026, 10, 5)
REQUIRE_CHROMIUM = os.environ.get("SCIMSRV_REQUIRE_CHROMIUM") == "1"
SCREENSHOT = os.environ.get("SCIMSRV_PAGE_SCREENSHOT")
BROWSER_TIMEOUT = 90  # seconds for one page load or wait in the browser
STARTUP_ATTEMPTS = 50
WIDTH = 1400
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class LicensedDirectory(Directory):
    """A Directory over a tenant named "Nordlys" whose company is Nordlys Fisk AS,
    licensed to its holding company; Sales-Premium has 2 seats, other plans 5."""

    def __init__(self, db, tenant_id: str) -> None:
        self.db, self.tenant_id, self.clock = db, tenant_id, CREATED
        spec = load_default()
        owner = dataclasses.replace(
            spec.owner,
            company_name="Nordlys Fisk Holding AS",
            serial_number="4711-0815",
            expiration=datetime(2027, 6, 30),
            admin_warning_date=datetime(2026, 11, 1),
        )
        spec = dataclasses.replace(spec, owner=owner).with_seats(
            {p.name: (2 if p.name == "Sales-Premium" else 5) for p in BASE_PLANS}
        )
        with db.write() as session:
            create_tenant(
                session,
                tenant_id,
                "Nordlys",
                company_name="Nordlys Fisk AS",
                at=self.clock,
                license_set=spec,
            )


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


def page_html(db, tenant_id: str, period: str = "") -> str:
    return render(run(db, lambda tx: gather(tx, period), tenant_id, at=NOW, write=False))


def messages(html: str) -> list[tuple[str, str]]:
    """(kind, text) of each status message."""
    found = re.findall(
        r'<li class="(error|warning|ok)"><span class="badge">\w+</span> ([^\n<]*)', html
    )
    return [(kind, unescape(text).strip()) for kind, text in found]


def test_license_page_shows_owner_serial_expiry_list_status_and_chart(db, licensed, tenant_id):
    html = page_html(db, tenant_id)
    assert "Licensed to: Nordlys Fisk Holding AS" in html
    assert "Serial number: 4711-0815" in html and "Expires 2027-06-30" in html
    assert ("warning", "1 user waiting for seats: cecilie (Sales-Premium)") in messages(html)
    assert "license expires on 2027-06-30" in html
    row = re.search(r"<tr><td><a [^>]*>Sales-Premium</a></td>.*?</tr>", html).group(0)
    assert re.findall(r'<td class="num">(\w+)</td>', row) == ["2", "0", "2"]
    assert html.count('<polyline class="plan"') == 3
    assert "Marketing-Premium: 1 today, peak day 1" in html


def test_license_page_heading_is_the_tenants_company_name(db, licensed, tenant_id):
    html = page_html(db, tenant_id)
    assert "<title>Licenses – Nordlys Fisk AS</title>" in html
    assert '<h1 id="heading">Licenses – Nordlys Fisk AS</h1>' in html


def test_license_page_escapes_what_the_license_set_says(db, licensed, tenant_id):
    page = run(db, gather, tenant_id, at=NOW, write=False)
    status = dataclasses.replace(page.status, company_name="<script>x()</script> & 'Co'")
    html = render(dataclasses.replace(page, status=status))
    assert "<script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt; &amp; &#39;Co&#39;" in html


def test_each_user_license_links_to_its_holders_in_the_holders_frame(db, licensed, tenant_id):
    page = run(db, gather, tenant_id, at=NOW, write=False)
    links = re.findall(
        r'class="holders-link" href="license/holders/(\d+)" target="holders-frame"', render(page)
    )
    user_licenses = {m.module_id for m in page.status.modules if m.license_type == USER_LICENSE}
    assert sorted(map(int, links)) == sorted(user_licenses)
    assert '<iframe name="holders-frame"' in render(page)


def test_invalid_license_set_is_one_summarised_error_and_pending_users_stay_visible(
    db, licensed, tenant_id
):
    with db.write() as session:  # someone edits signed rows: the whole set stops working
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "user")
            .values(license_number=999)
        )
        session.execute(
            update(ModuleOwner)
            .where(ModuleOwner.tenant_id == tenant_id)
            .values(serial_number="4711-0816")
        )
    # A user provisioned now waits (Directory.change would refuse: the set fails its check).
    at = datetime(2026, 11, 15)
    dagny = run(
        db, lambda tx: users.create_user(tx, user_resource({"userName": "dagny"})), tenant_id, at=at
    )
    group = group_resource({"displayName": "Sales-Essentials", "members": [{"value": dagny.id}]})
    run(db, lambda tx: groups.create_group(tx, group), tenant_id, at=at)
    page = run(db, gather, tenant_id, at=NOW, write=False)
    modules, html = page.status.modules, render(page)
    shown = messages(html)
    errors = [text for kind, text in shown if kind == "error"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("License set invalid: ")
    assert "owner SUPEROFFICE's signature" in errors[0]
    assert f"{len(modules)} licenses of {len(modules)} not working" in errors[0]
    assert "users who need one wait until a valid license set is imported" in errors[0]
    waiting = "2 users waiting for seats: cecilie (Sales-Premium), dagny (Sales-Essentials)"
    assert ("warning", waiting) in shown
    details = re.search(r"<summary>Which licenses</summary><ul>(.*?)</ul>", html, re.S).group(1)
    # Every row signs the owner's fields too: one reason, the licenses named a few at a time.
    assert details.strip() == (
        "<li>signature does not verify (signed fields were changed): sales-essentials, "
        "sales-premium, service-essentials, service-premium, marketing-essentials, "
        f"marketing-premium, user, web and {len(modules) - 8} more</li>"
    )
    assert html.count('class="invalid"') == html.count("<tr") - 2  # every row but the headers


def test_usage_chart_starts_at_the_tenants_creation(db, licensed, tenant_id):
    html = page_html(db, tenant_id)
    # The previous period starts 2026-10-01; the tenant was created on the 5th.
    assert ">2026-10-05</text>" in html and "2026-10-01" not in html
    assert "From the tenant's creation on 2026-10-05 00:00 UTC." in html


def test_usage_chart_shows_the_period_asked_for(db, licensed, tenant_id):
    html = page_html(db, tenant_id, "2026-11")
    assert ">2026-11-01</text>" in html and ">2026-11-20</text>" in html
    assert "From the tenant's creation" not in html
    assert 'name="period" value="2026-11"' in html
    old = page_html(db, tenant_id, "2026-10")
    assert ">2026-10-05</text>" in old and ">2026-10-31</text>" in old
    assert "Service-Essentials: 2 on 2026-10-31, peak day 2" in old
    # The status is about now, whatever period the chart shows.
    assert ("warning", "1 user waiting for seats: cecilie (Sales-Premium)") in messages(old)


def test_usage_chart_of_a_period_before_the_tenant_existed_has_no_day(db, licensed, tenant_id):
    html = page_html(db, tenant_id, "2026-09")
    assert "<svg" not in html
    assert "Plans in use per day, 2026-09: no day to show" in html


def test_usage_chart_on_the_tenants_first_day_draws_it_and_names_only_its_period(db, tenant_id):
    created, now = datetime(2026, 11, 30, 8), datetime(2026, 11, 30, 12)
    d = Directory(db, tenant_id, at=created)
    d.create_group("Sales-Premium", [d.create_user("ada")])
    html = render(run(db, gather, tenant_id, at=now, write=False))
    assert "<title>Plans in use per day, 2026-11</title>" in html
    [points] = re.findall(r'data-plan="Sales-Premium"[^>]* points="([^"]+)"', html)
    (x1, y1), (x2, y2) = (map(float, point.split(",")) for point in points.split())
    assert y1 == y2 and x2 - x1 > 500  # a line across the plot, not a lone point
    assert "Sales-Premium: 1 today, peak day 1" in html
    assert ">2026-11-30</text>" in html and "From the tenant's creation on 2026-11-30" in html


@pytest.fixture
def client(db):
    """The app over HTTP, its clock at NOW; ``client.operator`` is an operator token."""
    app = create_app(db=db, clock=lambda: NOW)
    with TestClient(app) as test_client:
        test_client.operator = run(db, lambda tx: tokens.issue(tx, None, "page"))
        yield test_client


def test_a_browser_without_credentials_is_asked_to_sign_in_api_clients_get_json(
    client, licensed, tenant_id
):
    url = f"/admin/v1/tenants/{tenant_id}/license"
    browser = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert browser.status_code == 401
    assert browser.headers["www-authenticate"].startswith('Basic realm="scimsrv admin"')
    assert browser.headers["content-type"].startswith("text/html")
    assert '<h1 id="error">Sign in</h1>' in browser.text
    assert "missing operator token" in browser.text
    for accept in ("*/*", "application/json", "application/scim+json"):
        api = client.get(url, headers={"Accept": accept})
        assert api.status_code == 401
        assert api.headers["content-type"].startswith("application/scim+json")
        assert api.json()["detail"] == "missing operator token"
        assert api.headers["www-authenticate"] == browser.headers["www-authenticate"]


def test_an_invalid_period_is_a_400_that_changes_nothing(client, licensed, tenant_id):
    url = f"/admin/v1/tenants/{tenant_id}/license?period=2026-13"
    auth = ("operator", client.operator)
    api = client.get(url, auth=auth)
    assert api.status_code == 400
    assert api.json()["scimType"] == "invalidValue" and "no month 13" in api.json()["detail"]
    for accept in (BROWSER_ACCEPT, BROWSER_ACCEPT.upper()):
        browser = client.get(url, auth=auth, headers={"Accept": accept})
        assert browser.status_code == 400 and "no month 13" in browser.text
        assert browser.headers["content-type"].startswith("text/html")


def test_the_page_answers_with_a_policy_that_runs_no_script(client, licensed, tenant_id):
    response = client.get(
        f"/admin/v1/tenants/{tenant_id}/license", auth=("operator", client.operator)
    )
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert "<script" not in response.text


# --------------------------------------------------------------------------- Chromium


def executable(name: str, *others: str) -> str:
    path = next((p for p in map(shutil.which, (name, *others)) if p), None)
    if path is None:
        reason = f"{name} not installed: run scripts/install-chromium.sh"
        if REQUIRE_CHROMIUM:
            pytest.fail(f"{reason} (SCIMSRV_REQUIRE_CHROMIUM=1)")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through its chromedriver, a 1400 px wide viewport."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = executable("chromium", "chromium-browser")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size={WIDTH},1000",
    ):
        options.add_argument(argument)
    service = Service(executable_path=executable("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(BROWSER_TIMEOUT)
    viewport(driver, 1000)
    yield driver
    driver.quit()


def viewport(driver, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@pytest.fixture
def live_server(db):
    """The app on 127.0.0.1, a free port picked by the kernel (a new origin per test,
    so the browser has no credentials cached for it)."""
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


def single_line(driver, selector: str) -> list[str]:
    """The texts of the cells ``selector`` that the browser broke over several lines."""
    return driver.execute_script(
        """
        return [...document.querySelectorAll(arguments[0])].filter(cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return lines.size > 1;
        }).map(cell => cell.textContent);
        """,
        selector,
    )


def test_license_page_in_chromium_at_1400_px(db, browser, live_server, licensed, tenant_id):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    token = run(db, lambda tx: tokens.issue(tx, None, "browser"))
    # The browser's sign-in prompt answered: any user name, the operator token as password.
    base = live_server.replace("//", f"//operator:{token}@")
    browser.get(f"{base}/admin/v1/tenants/{tenant_id}/license")
    assert browser.title == "Licenses – Nordlys Fisk AS"
    assert browser.execute_script("return window.innerWidth") == WIDTH
    assert browser.find_element(By.ID, "licensed-to").text == "Licensed to: Nordlys Fisk Holding AS"
    assert "cecilie (Sales-Premium)" in browser.find_element(By.ID, "messages").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "polyline.plan")) == 3
    assert single_line(browser, "#license-list td.code, #license-list td.kind") == []

    browser.find_element(By.LINK_TEXT, "Sales-Premium").click()
    wait = WebDriverWait(browser, BROWSER_TIMEOUT)
    wait.until(shown.frame_to_be_available_and_switch_to_it("holders-frame"))
    holders = wait.until(shown.presence_of_element_located((By.ID, "holder-list")))
    rows = [row.text for row in holders.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [row.split()[0] for row in rows] == ["ada", "bjorn"]
    assert all(row.endswith("2026-10-05 00:00") for row in rows), rows
    summary = browser.find_element(By.ID, "summary").text
    assert "2 holders (a name opens its recent changes); 2 in use of 2." in summary
    browser.switch_to.default_content()

    height = browser.execute_script("return document.documentElement.scrollHeight")
    viewport(browser, height)
    try:
        png = browser.get_screenshot_as_png()
    finally:
        viewport(browser, 1000)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    if SCREENSHOT:
        Path(SCREENSHOT).write_bytes(png)

    browser.execute_script("document.querySelector('#superoffice details').open = true")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hidden-list td.code")) > 20
    assert single_line(browser, "#hidden-list td.code, #hidden-list td.kind") == []


def test_holders_pages_follow_their_links_in_chromium(
    db, browser, live_server, licensed, tenant_id
):
    from selenium.webdriver.common.by import By

    token = run(db, lambda tx: tokens.issue(tx, None, "browser"))
    base = live_server.replace("//", f"//operator:{token}@")
    sales_premium = re.search(
        r'href="license/holders/(\d+)"[^>]*>Sales-Premium<', page_html(db, tenant_id)
    ).group(1)
    browser.get(f"{base}/admin/v1/tenants/{tenant_id}/license/holders/{sales_premium}?count=1")
    assert browser.find_element(By.CSS_SELECTOR, "#holder-list tbody").text.startswith("ada ")
    browser.find_element(By.LINK_TEXT, "Next ›").click()
    assert browser.find_element(By.CSS_SELECTOR, "#holder-list tbody").text.startswith("bjorn ")
    assert browser.find_elements(By.LINK_TEXT, "Next ›") == []
    browser.find_element(By.LINK_TEXT, "‹ Previous").click()
    assert browser.find_element(By.CSS_SELECTOR, "#holder-list tbody").text.startswith("ada ")


def test_a_bad_period_typed_into_the_pages_form_shows_the_error_page_in_chromium(
    db, browser, live_server, licensed, tenant_id
):
    from selenium.webdriver.common.by import By

    token = run(db, lambda tx: tokens.issue(tx, None, "browser"))
    base = live_server.replace("//", f"//operator:{token}@")
    browser.get(f"{base}/admin/v1/tenants/{tenant_id}/license")
    field = browser.find_element(By.NAME, "period")
    field.clear()
    field.send_keys("2026-13")
    field.submit()
    assert browser.find_element(By.ID, "error").text == "Not possible"
    assert "no month 13" in browser.find_element(By.ID, "detail").text
    assert browser.title == "400 – Not possible"


def test_chromium_without_credentials_prompts_for_them(browser, live_server, licensed, tenant_id):
    """Chromium answers the Basic challenge with its sign-in prompt, so it renders none
    of the 401 body while the prompt is up (a challenge it cannot prompt for would show
    the body at once); the body, the sign-in page shown once the prompt is cancelled,
    is checked over HTTP above."""
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server}/admin/v1/tenants/{tenant_id}/license")
    assert browser.find_element(By.TAG_NAME, "body").text == ""
    assert browser.title != "Licenses – Nordlys Fisk AS"
