"""Migrations build the schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from licensing_core.db import Database
from licensing_core.tables import Associate, Base
from scimsrv.storage import (
    schema,
    tables,  # noqa: F401
)

NOW = datetime(2026, 2, 1)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_migrations_build_the_models_schema_from_empty(fresh_database_url, backend_name):
    db = Database.from_url(fresh_database_url(backend_name))
    try:
        assert schema.current_revision(db.engine) is None
        schema.upgrade(db.engine)
        assert schema.current_revision(db.engine) == schema.head_revision(db.engine)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        schema.upgrade(db.engine)  # a second upgrade is a no-op
    finally:
        db.dispose()


# A database as 0008 left it: one tenant, a set of two user licenses, Ann
# (associate 5, a SCIM user) holding both, and the ledger of associate 9,
# deleted before the migration.
BEFORE_0009 = [
    "INSERT INTO tenant (tenant_id, name, billing_period, registered) "
    "VALUES ('acme', 'Acme', 'monthly', '2026-01-01 00:00:00')",
    'INSERT INTO moduleowner (moduleowner_id, tenant_id, "ownerName", "ownerDescription", '
    '"signedPublicKey", signature, "extraFlags", "extraInfo", "serialNumber", "companyName", '
    'registered, registered_associate_id, updated_associate_id, "updatedCount") VALUES '
    "(1, 'acme', 'Vendor', '', 'key-1', 'sig', 0, '', 'SN-1', 'Acme Ltd', "
    "'2026-01-02 00:00:00', 0, 0, 0)",
    *(
        'INSERT INTO modulelicense ("moduleLicense_id", tenant_id, "moduleOwner_id", '
        '"moduleName", "moduleDescription", "moduleVersion", "licenseType", "licenseNumber", '
        'unrestricted, hidden, "extraFlags", "extraInfo", "sortOrder", signature, '
        '"prerequisiteModule", "inUse", registered, registered_associate_id, '
        f"updated_associate_id, \"updatedCount\") VALUES ({mid}, 'acme', 1, '{name}', '', "
        f"'1', 3, {seats}, false, false, {flags}, '', {mid}, 'sig', '', 1, "
        "'2026-01-02 00:00:00', 0, 0, 0)"
        for mid, name, seats, flags in ((1, "sales-premium", 3, 1), (2, "user", 10, 0))
    ),
    'INSERT INTO associate (associate_id, tenant_id, name, "userName", type, deleted, '
    'registered, registered_associate_id, updated_associate_id, "updatedCount") VALUES '
    "(5, 'acme', 'ann', 'Ann', 0, false, '2026-01-03 00:00:00', 0, 0, 0)",
    "INSERT INTO scim_user (tenant_id, scim_user_id, associate_id, user_name, user_name_ci, "
    "doc, version, created, last_modified) VALUES ('acme', "
    "'0c7a3bde-0000-4000-8000-000000000005', 5, 'Ann', 'ann', '{}', 1, "
    "'2026-01-03 00:00:00', '2026-01-03 00:00:00')",
    *(
        'INSERT INTO licenseassoclink ("LicenseAssocLink_id", tenant_id, "moduleLicense_id", '
        'assoc_id, "licenseNumber", comment, registered, registered_associate_id, '
        f"updated_associate_id, \"updatedCount\") VALUES ({lid}, 'acme', {lid}, 5, 1, '', "
        "'2026-01-03 00:00:00', 0, 0, 0)"
        for lid in (1, 2)
    ),
    *(
        'INSERT INTO license_ledger (ledger_id, tenant_id, at, event, "moduleLicense_id", '
        f'"moduleName", is_plan, assoc_id, "licenseNumber", cause) VALUES ({n}, \'acme\', '
        f"'2026-01-0{n} 00:00:00', '{event}', 1, 'sales-premium', true, {assoc}, 1, 'test')"
        for n, event, assoc in ((1, "grant", 9), (2, "release", 9), (3, "grant", 5))
    ),
    "INSERT INTO plan_state_log (log_id, tenant_id, at, associate_id, state, requested, reason) "
    "VALUES (1, 'acme', '2026-01-03 00:00:00', 5, 'licensed', 'Sales-Premium', '')",
]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_0009_keeps_the_data_keys_it_by_tenant_and_never_hands_an_id_out_again(
    fresh_database_url, backend_name
):
    db = Database.from_url(fresh_database_url(backend_name))
    try:
        schema.upgrade(db.engine, "0008")
        with db.engine.begin() as conn:
            for statement in BEFORE_0009:
                conn.exec_driver_sql(statement)
        schema.upgrade(db.engine)

        inspector = sa.inspect(db.engine)
        for table in ("associate", "modulelicense", "licenseassoclink", "license_ledger"):
            assert inspector.get_pk_constraint(table)["constrained_columns"][0] == "tenant_id"
        assert "inUse" not in {c["name"] for c in inspector.get_columns("modulelicense")}
        with db.engine.connect() as conn:
            ledger = conn.exec_driver_sql(
                'SELECT ledger_id, assoc_id, "userName", scim_id FROM license_ledger '
                "ORDER BY ledger_id"
            ).all()
            assert [tuple(row) for row in ledger] == [
                (1, 9, "", None),
                (2, 9, "", None),
                (3, 5, "Ann", "0c7a3bde-0000-4000-8000-000000000005"),
            ]
            versions = conn.exec_driver_sql(
                'SELECT version_id, effective_from, effective_to, "serialNumber" '
                "FROM license_set_version"
            ).all()
            assert [(v[0], str(v[1])[:10], v[2], v[3]) for v in versions] == [
                (1, "2026-01-02", None, "SN-1")
            ]
            seats = conn.exec_driver_sql(
                'SELECT "moduleName", is_plan, "licenseNumber" FROM license_set_seats '
                'ORDER BY "moduleName"'
            ).all()
            assert [tuple(s) for s in seats] == [("sales-premium", True, 3), ("user", False, 10)]

        # Ids go on from the highest in use and are not handed out again after a delete.
        with db.write() as session:
            first = Associate(tenant_id="acme", name="bo", user_name="Bo", registered=NOW)
            session.add(first)
            session.flush()
            assert first.id == 6
            session.delete(first)
            session.flush()
            second = Associate(tenant_id="acme", name="cy", user_name="Cy", registered=NOW)
            session.add(second)
            session.flush()
            assert second.id == 7
    finally:
        db.dispose()


# Tables that are not a tenant's data: the tenants themselves, tokens (an
# operator token has no tenant) and Alembic's bookkeeping.
NOT_TENANT_DATA = {"tenant", "api_token"}


def test_every_key_and_unique_constraint_leads_with_the_tenant():
    """So the schema can be distributed by tenant (e.g. Citus): every primary
    key, unique constraint and unique index includes ``tenant_id``."""
    missing = []
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_TENANT_DATA:
            continue
        keys = [("primary key", [c.name for c in table.primary_key.columns])]
        keys += [
            (f"unique {c.name}", [col.name for col in c.columns])
            for c in table.constraints
            if isinstance(c, sa.UniqueConstraint)
        ]
        keys += [
            (f"index {i.name}", [c.name for c in i.columns]) for i in table.indexes if i.unique
        ]
        missing += [f"{table.name} {what}" for what, cols in keys if "tenant_id" not in cols]
    assert missing == []
