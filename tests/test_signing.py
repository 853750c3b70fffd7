"""Signed license rows: canonical encodings, keys, tamper detection, key rotation.

Every modulelicense row is signed and all rows are hash-checked together:
touch one and it stops working (docs/licensing.md §3).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from licensing_core import signing
from licensing_core.license_set import load_default, parse_license_set
from licensing_core.plans import BASE_PLANS, Combination
from licensing_core.signing import KeyProblem, KeyRing, keyring_from, sign_license_set
from licensing_core.tables import USER_LICENSE, ModuleLicense, ModuleOwner
from licensing_core.tenants import create_tenant
from licensing_core.verification import verify_tenant
from scimsrv.settings import Settings
from tests.licensing_helpers import KEYRING, NOW, add_associates, book

TEST_RING = KeyRing.of([], trust_test_key=True)


def signed_default(key: signing.SigningKey | None = None, seats: int = 2):
    spec = load_default().with_seats({p.name: seats for p in BASE_PLANS})
    return sign_license_set(spec, key or signing.builtin_test_key())


def new_tenant(db, spec=None) -> str:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    with db.write() as session:
        create_tenant(session, tenant, at=NOW, license_set=spec or signed_default())
    return tenant


def plans_requiring(module_name: str) -> list[str]:
    spec = load_default()
    return [
        p.name
        for p in BASE_PLANS
        if spec.plan_module(p).module_name == module_name or module_name in spec.implied(p)
    ]


# --- pure: encodings and keys -------------------------------------------------


def test_row_encoding_is_versioned_canonical_json():
    spec = signed_default()
    payload = signing.row_payload(spec.owner, spec.modules[0])
    kind, body = payload.split(b"\n", 1)
    assert kind == b"scimsrv-license-row/v1"
    fields = json.loads(body)
    assert body == json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    assert fields["ownerName"] == "SUPEROFFICE"
    assert fields["moduleName"] == "sales-essentials"
    assert "inUse" not in fields and "signature" not in fields


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("module_name", "sales-essentials-x"),
        ("module_description", "changed"),
        ("module_version", "2"),
        ("license_type", 1),
        ("license_number", 11),
        ("unrestricted", True),
        ("hidden", True),
        ("extra_flags", 3),
        ("extra_info", "set=user"),
        ("sort_order", 99),
        ("prerequisite_module", "system"),
    ],
)
def test_every_signed_row_field_is_covered_by_the_row_signature(field, value):
    spec = signed_default()
    row = spec.modules[0]
    changed = dataclasses.replace(row, **{field: value})
    assert signing.row_payload(spec.owner, changed) != signing.row_payload(spec.owner, row)
    assert TEST_RING.problem(signing.row_payload(spec.owner, changed), row.signature) != ""


def test_rows_name_the_customer_so_they_cannot_move_to_another_serial_number():
    spec = signed_default()
    other = dataclasses.replace(spec.owner, serial_number="OTHER-1")
    row = spec.modules[0]
    assert TEST_RING.problem(signing.row_payload(other, row), row.signature) != ""


def test_signature_names_algorithm_and_key_id():
    key = signing.generate_key()
    spec = signed_default(key)
    for signature in (spec.owner.signature, *(m.signature for m in spec.modules)):
        algorithm, kid, _ = signature.split(":", 2)
        assert (algorithm, kid) == ("ed25519", key.kid)


def test_a_signed_set_survives_its_json_file():
    from licensing_core.license_set import license_set_to_json

    spec = signed_default()
    again = parse_license_set(json.loads(json.dumps(license_set_to_json(spec))))
    assert again == spec
    assert signing.verify_set(again.owner, again.modules, TEST_RING).valid


def test_changing_seats_drops_the_signatures():
    spec = signed_default().with_seats({"Sales-Premium": 5})
    assert not spec.signed
    assert all(m.signature == "" for m in spec.modules)


def test_set_signed_with_an_unknown_key_does_not_verify():
    spec = signed_default(signing.generate_key())
    verdict = signing.verify_set(spec.owner, spec.modules, TEST_RING)
    assert not verdict.valid
    assert verdict.owner_problem.startswith("signed with unknown key")
    assert all(r.problem.startswith("signed with unknown key") for r in verdict.rows)


def test_signature_made_with_a_wrong_key_claiming_a_trusted_key_id_does_not_verify():
    trusted = signing.builtin_test_key()
    forged = signed_default(signing.generate_key())
    claim = trusted.kid
    rows = tuple(
        dataclasses.replace(m, signature=f"ed25519:{claim}:{m.signature.split(':', 2)[2]}")
        for m in forged.modules
    )
    verdict = signing.verify_set(forged.owner, rows, TEST_RING)
    assert all(r.problem.startswith("signature does not verify") for r in verdict.rows)


def test_malformed_and_missing_signatures_are_reported():
    spec = signed_default()
    assert TEST_RING.problem(b"x", "") == "unsigned"
    assert TEST_RING.problem(b"x", "rsa:abc:def").startswith("malformed signature")
    row = spec.modules[0]
    bad = row.signature[:-4] + "!!!!"
    assert TEST_RING.problem(signing.row_payload(spec.owner, row), bad).startswith("malformed")


def test_swapping_a_row_for_a_validly_signed_row_of_another_set_breaks_the_whole_set():
    small, big = signed_default(seats=2), signed_default(seats=50)
    modules = (big.modules[0], *small.modules[1:])
    verdict = signing.verify_set(small.owner, modules, TEST_RING)
    assert verdict.rows[0].problem == ""  # the row itself is genuine...
    assert verdict.owner_problem.startswith("signature does not verify")  # ...the set is not
    assert not verdict.valid
    assert all(verdict.row_problem(i) for i in range(len(modules)))


def test_removing_a_row_breaks_the_owner_signature():
    spec = signed_default()
    verdict = signing.verify_set(spec.owner, spec.modules[:-1], TEST_RING)
    assert verdict.owner_problem != ""


def test_test_key_is_trusted_only_without_vendor_keys_or_when_asked(tmp_path):
    vendor = signing.generate_key()
    path = tmp_path / "keys.json"
    path.write_text(vendor.public_keys_json())
    test_kid = signing.builtin_test_key_id()

    fresh = keyring_from("", "")
    assert fresh.test_key_trusted and set(fresh.keys) == {test_kid}
    assert not keyring_from("", "0").keys

    vendor_only = keyring_from(str(path), "")
    assert set(vendor_only.keys) == {vendor.kid}
    asked = keyring_from(str(path), "1")
    assert set(asked.keys) == {vendor.kid, test_kid}
    spec = signed_default()
    assert "does not trust" in vendor_only.problem(
        signing.row_payload(spec.owner, spec.modules[0]), spec.modules[0].signature
    )


def test_public_keys_come_from_a_json_file_a_pem_file_or_inline_text(tmp_path):
    one, two = signing.generate_key(), signing.generate_key()
    pem = tmp_path / "keys.pem"
    pem.write_bytes(one.public_pem() + two.public_pem())
    for source in (
        str(pem),
        (one.public_pem() + two.public_pem()).decode(),
        json.dumps(
            {"keys": [{"publicKey": signing.public_key_text(k.public)} for k in (one, two)]}
        ),
        json.dumps([one.public_pem().decode(), two.public_pem().decode()]),
    ):
        ring = keyring_from(source, "")
        assert set(ring.keys) == {one.kid, two.kid}


def test_a_public_key_whose_kid_does_not_match_is_refused():
    key = signing.generate_key()
    text = json.dumps(
        {"keys": [{"kid": "0" * 16, "publicKey": signing.public_key_text(key.public)}]}
    )
    with pytest.raises(KeyProblem, match="does not match"):
        keyring_from(text, "")


def test_an_unreadable_key_file_is_an_error_naming_the_setting(tmp_path):
    with pytest.raises(KeyProblem, match="SCIMSRV_LICENSE_PUBLIC_KEYS"):
        keyring_from(str(tmp_path / "missing.json"), "")


def test_private_key_round_trips_through_pem():
    key = signing.generate_key()
    assert signing.load_private_key(key.private_pem()).kid == key.kid
    with pytest.raises(KeyProblem):
        signing.load_private_key(b"not a key")


def test_verifying_a_set_signed_with_the_test_key_logs_a_loud_warning(caplog):
    spec = load_default().with_seats()
    # A company never verified before, so the verdict cache does not hide the warning.
    owner = dataclasses.replace(spec.owner, company_name=f"Demo {uuid.uuid4()}")
    spec = sign_license_set(dataclasses.replace(spec, owner=owner), signing.builtin_test_key())
    with caplog.at_level(logging.WARNING, logger="licensing_core.signing"):
        assert signing.verify_set(spec.owner, spec.modules, TEST_RING).test_key_used
    assert any("TEST key" in r.getMessage() for r in caplog.records)


# --- stored rows --------------------------------------------------------------


def test_a_fresh_tenant_verifies_with_the_built_in_test_key(db):
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    with db.write() as session:
        create_tenant(session, tenant, at=NOW)  # the default set, unsigned in the package
    with db.read() as session:
        verdict = verify_tenant(session, tenant, KEYRING)
        owner = session.execute(select(ModuleOwner).where(ModuleOwner.tenant_id == tenant))
        label = owner.scalar_one().signed_public_key
    assert verdict.valid and verdict.test_key_used
    assert label == f"ed25519:{signing.builtin_test_key_id()}"


def test_seat_counter_is_not_signed_so_assignments_keep_rows_valid(db):
    tenant = new_tenant(db)
    users = add_associates(db, tenant, 2)
    with db.write() as session:
        wanted = dict.fromkeys(users, Combination.parse("Sales-Premium"))
        assert all(o.complete for o in book(session, tenant).apply(wanted).values())
    with db.read() as session:
        assert verify_tenant(session, tenant, KEYRING).valid


TAMPER = {
    "module_name": lambda v: f"{v}-x",
    "module_description": lambda v: f"{v} (changed)",
    "module_version": lambda v: f"{v}.1",
    "license_type": lambda v: 1 if v != 1 else 3,
    "license_number": lambda v: v + 1,
    "unrestricted": lambda v: not v,
    "hidden": lambda v: not v,
    "extra_flags": lambda v: v + 2,
    "extra_info": lambda v: "set=user" if v != "set=user" else "set=web",
    "sort_order": lambda v: v + 1000,
    "prerequisite_module": lambda v: "" if v else "system",
}


ROW_FIELDS = [*TAMPER, "signature"]
SET_FIELDS = {"module_name", "module_version", "sort_order", "signature"}


@settings(max_examples=25)
@given(index=st.integers(0, len(load_default().modules) - 1), field=st.sampled_from(ROW_FIELDS))
def test_tampering_any_field_of_any_row_stops_that_row_and_verification_names_it(db, index, field):
    tenant = new_tenant(db)
    [user] = add_associates(db, tenant, 1)
    with db.write() as session:
        rows = list(
            session.execute(
                select(ModuleLicense)
                .where(ModuleLicense.tenant_id == tenant)
                .order_by(ModuleLicense.sort_order)
            ).scalars()
        )
        row = rows[index]
        original = (row.id, row.module_name, row.license_type)
        neighbour = rows[(index + 1) % len(rows)].signature
        value = neighbour if field == "signature" else TAMPER[field](getattr(row, field))
        session.execute(
            update(ModuleLicense).where(ModuleLicense.id == row.id).values({field: value})
        )
    row_id, name, license_type = original

    with db.read() as session:
        verdict = verify_tenant(session, tenant, KEYRING)
    assert not verdict.valid
    assert any(f"(id {row_id})" in line for line in verdict.messages()), "it is named"
    assert row_id in verdict.row_problems
    if field in SET_FIELDS:  # the owner signature pins each row's identity and signature
        assert verdict.sets[0].owner_problem
    else:
        assert set(verdict.row_problems) == {row_id}, "only the touched row stops working"

    if license_type != USER_LICENSE:
        return
    needing = plans_requiring(name)
    with db.write() as session:
        assigner = book(session, tenant)
        for plan in needing:
            result = assigner.apply({user: Combination.parse(plan)})[user]
            assert not result.complete
            if field not in ("module_name", "license_type"):
                assert result.refused[0].reason.startswith("license invalid")
        if field not in SET_FIELDS:
            for plan in sorted({p.name for p in BASE_PLANS} - set(needing)):
                assert assigner.apply({user: Combination.parse(plan)})[user].complete


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_name", "Someone Else AS"),
        ("serial_number", "9999"),
        ("owner_name", "OTHER"),
        ("expiration", NOW.replace(year=2099)),
        ("grace_to", NOW.replace(year=2099)),
        ("admin_warning_date", NOW.replace(year=2099)),
        ("signature", ""),
    ],
)
def test_tampering_the_owner_row_stops_every_module(db, field, value):
    tenant = new_tenant(db)
    [user] = add_associates(db, tenant, 1)
    with db.write() as session:
        session.execute(
            update(ModuleOwner).where(ModuleOwner.tenant_id == tenant).values({field: value})
        )
    with db.read() as session:
        verdict = verify_tenant(session, tenant, KEYRING)
    assert not verdict.valid
    assert verdict.messages()[0].startswith("license invalid: owner")
    with db.write() as session:
        result = book(session, tenant).apply({user: Combination.parse("Sales-Premium")})[user]
    assert not result.complete
    assert result.refused[0].reason.startswith("license invalid")


def test_unsigned_rows_do_not_work(db):
    tenant = new_tenant(db)
    [user] = add_associates(db, tenant, 1)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant, ModuleLicense.module_name == "web")
            .values(signature="")
        )
    with db.write() as session:
        result = book(session, tenant).apply({user: Combination.parse("Sales-Premium")})[user]
    assert result.refused[0].reason.startswith("license invalid")
    with db.read() as session:
        messages = verify_tenant(session, tenant, KEYRING).messages()
    assert any(m.startswith("license invalid: module 'web'") and "unsigned" in m for m in messages)


def test_rows_signed_with_an_untrusted_key_do_not_work(db):
    tenant = new_tenant(db, signed_default(signing.generate_key()))
    [user] = add_associates(db, tenant, 1)
    with db.write() as session:
        result = book(session, tenant).apply({user: Combination.parse("Sales-Premium")})[user]
    assert "signed with unknown key" in result.refused[0].reason


def test_key_rotation_trusts_sets_signed_by_any_configured_key(db, monkeypatch):
    old, new = signing.generate_key(), signing.generate_key()
    keys = {"keys": [{"publicKey": signing.public_key_text(k.public)} for k in (old, new)]}
    monkeypatch.setenv("SCIMSRV_LICENSE_PUBLIC_KEYS", json.dumps(keys))
    tenant_old = new_tenant(db, signed_default(old))
    tenant_new = new_tenant(db, signed_default(new))
    with db.read() as session:
        assert verify_tenant(session, tenant_old, Settings().keyring()).valid
        assert verify_tenant(session, tenant_new, Settings().keyring()).valid
        assert not verify_tenant(session, new_tenant(db), Settings().keyring()).valid, (
            "the test key is off now"
        )

    monkeypatch.setenv("SCIMSRV_LICENSE_PUBLIC_KEYS", new.public_keys_json())
    with db.read() as session:
        assert verify_tenant(session, tenant_new, Settings().keyring()).valid
        retired = verify_tenant(session, tenant_old, Settings().keyring())
    assert not retired.valid
    assert retired.sets[0].owner_problem == f"signed with unknown key {old.kid}"


def test_a_plan_request_on_a_tampered_row_waits_with_the_reason_license_invalid(db):
    from licensing_core.tables import PENDING, AssociatePlan

    tenant = new_tenant(db)
    [user] = add_associates(db, tenant, 1)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant, ModuleLicense.module_name == "chat-cal")
            .values(hidden=False)
        )
    with db.write() as session:
        book(session, tenant).apply({user: Combination.parse("Sales-Premium")})
    with db.read() as session:
        state = session.execute(
            select(AssociatePlan).where(AssociatePlan.tenant_id == tenant)
        ).scalar_one()
    assert state.state == PENDING
    assert state.reason.startswith("Sales-Premium: license invalid: module 'chat-cal'")
