"""Values the databases store differently, handed in by an operator or a
license set rather than by SCIM: a NUL, a lone surrogate, text longer than
its column, an integer beyond PostgreSQL's 32 bits. Each is a 400 naming the
field on SQLite and PostgreSQL alike (SQLite would store it, PostgreSQL
would fail with a 500), and changes nothing (docs/limits.md)."""

from __future__ import annotations

import pytest

from licensing_core.license_set import license_set_to_json
from licensing_core.tenants import tenant_info
from licensing_core.text import InvalidText, storable
from scimsrv.services import tokens
from tests.licensing_helpers import signed_set
from tests.scim_client import Clock, Operator, live_tenant
from tests.use_cases import run

LONG = "x" * 256
NUL = "a\x00b"


@pytest.fixture
def operator(db, tenant_id):
    client, _ = live_tenant(db, tenant_id, Clock())
    with client:
        yield Operator(client, db, tenant_id)


def refused(response, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["scimType"] == "invalidValue"
    assert all(word.lower() in body["detail"].lower() for word in words), body["detail"]


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("target", LONG, ("target", "longer than 255")),
        ("target", NUL, ("target", "NUL")),
        ("description", LONG, ("description", "longer than 255")),
        ("description", NUL, ("description", "NUL")),
    ],
)
def test_a_rule_field_no_database_stores_is_refused(operator, field, value, words):
    rule = {"scope": "in-group", "target": "Sales", "plans": "Sales-Premium", field: value}
    for dry_run in ("true", "false"):
        refused(operator.request("POST", "/rules", rule, dryRun=dry_run), *words)
    assert operator.ok("GET", "/rules")["rules"] == []


@pytest.mark.parametrize("field", ["name", "companyName"])
@pytest.mark.parametrize("value", [LONG, NUL])
def test_a_tenant_name_no_database_stores_is_refused(operator, db, tenant_id, field, value):
    before = run(db, lambda tx: tenant_info(tx.session, tenant_id), write=False)
    refused(operator.request("PATCH", "", {field: value}), "name")
    assert run(db, lambda tx: tenant_info(tx.session, tenant_id), write=False) == before


@pytest.mark.parametrize("label, words", [(LONG, ("label", "longer")), (NUL, ("label", "NUL"))])
def test_a_token_label_no_database_stores_is_refused(db, tenant_id, label, words):
    live_tenant(db, tenant_id, Clock())
    before = run(db, lambda tx: tokens.list_tokens(tx, tenant_id), tenant_id, write=False)
    with pytest.raises(ValueError) as raised:
        run(db, lambda tx: tokens.issue(tx, tenant_id, label), tenant_id)
    assert all(word in str(raised.value) for word in words)
    assert run(db, lambda tx: tokens.list_tokens(tx, tenant_id), tenant_id, write=False) == before


@pytest.mark.parametrize(
    "part, key, value, words",
    [
        ("owner", "companyName", LONG, ("companyName", "longer than 255")),
        ("owner", "serialNumber", NUL, ("serialNumber", "NUL")),
        ("owner", "ownerDescription", "d" * 300, ("ownerDescription", "longer")),
        ("module", "moduleDescription", LONG, ("moduleDescription", "longer")),
        ("module", "licenseNumber", 2**31, ("licenseNumber", "out of range")),
    ],
)
def test_a_license_set_field_no_database_stores_is_refused(operator, part, key, value, words):
    document = license_set_to_json(signed_set())
    target = document["owner"] if part == "owner" else document["modules"][0]
    target[key] = value
    before = operator.ok("GET", "/license-set")
    refused(operator.request("POST", "/license-set", document), *words)
    after = operator.ok("GET", "/license-set")
    assert after | {"at": None} == before | {"at": None}


def test_seats_beyond_a_32_bit_integer_are_refused():
    with pytest.raises(ValueError, match="licenseNumber is out of range"):
        signed_set({"Sales-Premium": 2**31})
    # Each plan fits, but the hidden licenses they imply add up beyond it.
    with pytest.raises(ValueError, match="licenseNumber is out of range"):
        signed_set({"Sales-Premium": 2**30, "Service-Premium": 2**30})


@pytest.mark.parametrize("text", ["a\x00", "\ud800", "\udfff", "x" * 256])
def test_storable_refuses_what_a_database_would_fail_on_or_keep_alone(text):
    with pytest.raises(InvalidText):
        storable("the value", text)
    assert storable("the value", "é" * 255) == "é" * 255
