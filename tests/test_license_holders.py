"""Who holds a license, the partial the Licenses page opens in its holders frame:
userName, SCIM id and since when, by userName, a page at a time; bad ids and paging
values are 4xx that name nothing."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from licensing_core.license_status import license_status
from licensing_core.tables import ModuleLicense
from scimsrv.http.app import create_app
from scimsrv.scim.schemas import UserResource
from scimsrv.services import tokens, users
from scimsrv.services.audit import RequestInfo
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.settings import Settings
from tests.licensing_helpers import KEYRING, add_associates, assign
from tests.provisioning_helpers import Directory
from tests.use_cases import patch_op, run

NOW = datetime(2026, 11, 20, 9, 30)
NAMES = ("dave", "Alice", "eve", "bob", "Carol")


@pytest.fixture
def directory(db, tenant_id):
    """Five users in Sales-Essentials (10 seats), granted a day apart, and one
    associate the CRM knows but SCIM does not, holding it too."""
    d = Directory(db, tenant_id, seats=10)
    d.ids = {}
    group = d.create_group("Sales-Essentials")
    for day, name in enumerate(NAMES, start=1):
        d.clock = datetime(2026, 10, day, 8)
        d.ids[name] = d.create_user(name)
        d.add(group, d.ids[name])
    (crm_only,) = add_associates(db, tenant_id, 1)
    with db.write() as session:
        assign(session, tenant_id, crm_only, "Sales-Essentials", at=datetime(2026, 10, 9))
    return d


@pytest.fixture
def client(db):
    app = create_app(db=db, clock=lambda: NOW)
    token = run(db, lambda tx: tokens.issue(tx, None, "holders"))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def module_id(db, tenant_id: str, name: str) -> int:
    with db.read() as session:
        return session.execute(
            select(ModuleLicense.id).where(
                ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == name
            )
        ).scalar_one()


def holders(client, tenant_id: str, module: object, **query) -> tuple[int, list[list[str]], str]:
    """(status, rows of cells, body) of the holders partial."""
    response = client.get(f"/admin/v1/tenants/{tenant_id}/license/holders/{module}", params=query)
    rows = re.findall(r"<tr[^>]*>(<td>.*?)</tr>", response.text)
    cells = [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in rows
    ]
    return response.status_code, cells, response.text


def test_holders_are_listed_by_username_with_scim_id_and_since(db, client, directory, tenant_id):
    status, rows, body = holders(client, tenant_id, module_id(db, tenant_id, "sales-essentials"))
    assert status == 200
    ids = directory.ids
    assert rows == [
        ["Alice", ids["Alice"], "2026-10-02 08:00"],
        ["bob", ids["bob"], "2026-10-04 08:00"],
        ["Carol", ids["Carol"], "2026-10-05 08:00"],
        ["dave", ids["dave"], "2026-10-01 08:00"],
        ["eve", ids["eve"], "2026-10-03 08:00"],
        ["user0", "(no SCIM user)", "2026-10-09 00:00"],
    ]
    assert "6 holders (a name opens its recent changes); 6 in use of 10." in body
    assert 'rel="next"' not in body and 'rel="prev"' not in body


def test_holders_count_equals_the_seats_in_use_of_every_user_license(
    db, client, directory, tenant_id
):
    with db.read() as session:
        status = license_status(session, tenant_id, NOW, KEYRING)
    for module in status.modules:
        if module.license_type != 3:
            continue
        code, _rows, body = holders(client, tenant_id, module.module_id, count=0)
        assert code == 200
        assert f"{module.in_use} holder" in body, module.module_name


def test_holders_come_a_page_at_a_time(db, client, directory, tenant_id):
    sales = module_id(db, tenant_id, "sales-essentials")
    status, rows, body = holders(client, tenant_id, sales, count=2)
    assert status == 200
    assert [r[0] for r in rows] == ["Alice", "bob"]
    assert "Showing 1–2." in body and 'href="?startIndex=3&amp;count=2"' in body
    _, rows, body = holders(client, tenant_id, sales, startIndex=5, count=2)
    assert [r[0] for r in rows] == ["eve", "user0"]
    assert 'rel="next"' not in body and 'href="?startIndex=3&amp;count=2"' in body
    _, rows, body = holders(client, tenant_id, sales, startIndex=0, count=1)
    assert [r[0] for r in rows] == ["Alice"]  # below 1 counts as 1 (RFC 7644 §3.4.2.4)
    _, rows, body = holders(client, tenant_id, sales, startIndex=2**31 - 1)
    assert rows == [] and "6 holders" in body and 'rel="next"' not in body
    status, rows, body = holders(client, tenant_id, sales, startIndex=10**30)
    assert status == 400 and "startIndex must be between" in body  # docs/limits.md
    _, rows, body = holders(client, tenant_id, sales, startIndex=3, count=5000)
    assert len(rows) == 4 and 'href="?startIndex=1&amp;count=100"' in body  # at most 100


@pytest.mark.parametrize("module", ["abc", "1e3", "²", "-1", "9999999999", "999999"])
def test_a_module_the_tenant_does_not_have_is_404(client, directory, tenant_id, module):
    status, _rows, body = holders(client, tenant_id, module)
    assert status == 404 and "no user license" in body


def test_a_system_license_has_no_holders_page(db, client, directory, tenant_id):
    status, _rows, _body = holders(client, tenant_id, module_id(db, tenant_id, "system"))
    assert status == 404


def test_paging_values_that_are_not_integers_are_400(db, client, directory, tenant_id):
    sales = module_id(db, tenant_id, "sales-essentials")
    for query in ({"count": "ten"}, {"startIndex": "1.5"}):
        response = client.get(
            f"/admin/v1/tenants/{tenant_id}/license/holders/{sales}", params=query
        )
        assert response.status_code == 400, query
        assert response.json()["scimType"] == "invalidValue"


def test_holders_need_an_operator_token_and_an_existing_tenant(db, client, directory, tenant_id):
    sales = module_id(db, tenant_id, "sales-essentials")
    path = f"/admin/v1/tenants/{tenant_id}/license/holders/{sales}"
    assert client.get(path, headers={"Authorization": ""}).status_code == 401
    tenant_token = run(db, lambda tx: tokens.issue(tx, tenant_id, "scim"))
    assert client.get(path, headers={"Authorization": f"Bearer {tenant_token}"}).status_code == 401
    missing = client.get(f"/admin/v1/tenants/t-none/license/holders/{sales}")
    assert missing.status_code == 404 and "no tenant" in missing.json()["detail"]


def test_a_holders_name_opens_its_recent_changes(db, client, directory, tenant_id):
    sales = module_id(db, tenant_id, "sales-essentials")
    _status, _rows, body = holders(client, tenant_id, sales)
    alice = directory.ids["Alice"]
    assert f'href="../users/{alice}"' in body
    # A write that comes through a command line or a request is in the log.
    deactivate = patch_op(UserResource, {"op": "replace", "path": "active", "value": False})
    Service(db, Settings(), clock=lambda: NOW).run(
        lambda tx: users.patch_user(tx, alice, deactivate, None),
        caller=LOCAL,
        tenant_id=tenant_id,
        request=RequestInfo(command="scimsrv test"),
    )
    response = client.get(f"/admin/v1/tenants/{tenant_id}/license/users/{alice}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Recent changes of Alice" in response.text
    assert "Alice: Sales-Essentials -&gt; (none), none" in response.text
    assert "scimsrv test" in response.text
    missing = client.get(f"/admin/v1/tenants/{tenant_id}/license/users/not-a-user")
    assert missing.status_code == 404
