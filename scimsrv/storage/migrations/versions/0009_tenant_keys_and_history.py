"""every primary key leads with the tenant; ids never reused; ledger by value;
license set history; seats in use derived from the links

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:00:00

* tenant gets ``company_name`` (filled with its name) and ``suspended``.
* ``id_counter`` hands out associate, module, owner, rule and license set
  version ids per tenant (never again after a delete); it starts at each
  tenant's highest id in use.
* associate, moduleowner, modulelicense, licenseassoclink, license_ledger,
  plan_state_log and plan_rule get the primary key ``(tenant_id, id)``,
  which replaces the unique constraint on the same columns.
* license_ledger and plan_state_log record the holder by value: userName and
  SCIM id, filled in for existing rows from the users still there (rows of
  users deleted before this migration keep only the associate id).
* ``modulelicense.inUse`` goes: seats in use are counted from the links.
* license_set_version / license_set_seats start with the set each tenant has
  now, in force since the tenant was registered (earlier sets were not kept).
"""

import warnings
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# table, id column, the unique constraint (tenant_id, id) it had, if any
KEYED = [
    ("associate", "associate_id", "uq_associate_tenant_id_associate_id"),
    ("moduleowner", "moduleowner_id", "uq_moduleowner_tenant_id_moduleowner_id"),
    ("modulelicense", "moduleLicense_id", "uq_modulelicense_tenant_id_moduleLicense_id"),
    ("licenseassoclink", "LicenseAssocLink_id", None),
    ("license_ledger", "ledger_id", None),
    ("plan_state_log", "log_id", None),
    ("plan_rule", "rule_id", "uq_plan_rule_tenant_id_rule_id"),
]
COUNTED = {
    "associate": ("associate", "associate_id"),
    "moduleowner": ("moduleowner", "moduleowner_id"),
    "modulelicense": ("modulelicense", "moduleLicense_id"),
    "plan_rule": ("plan_rule", "rule_id"),
}


def _foreign_keys_into(bind, tables: set[str]) -> list[tuple[str, dict]]:
    """Every foreign key of the schema that refers to one of ``tables``."""
    inspector = sa.inspect(bind)
    found = []
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] in tables:
                found.append((table, fk))
    return found


@contextmanager
def _new_key_warning_expected():
    """SQLAlchemy warns that the rebuilt table's primary key differs from the
    reflected one's: that is the point of the rebuild."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_", sa.exc.SAWarning)
        yield


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    with op.batch_alter_table("tenant") as batch:
        batch.add_column(
            sa.Column("company_name", sa.String(length=255), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("suspended", sa.DateTime(), nullable=True))
    op.execute("UPDATE tenant SET company_name = name")
    with op.batch_alter_table("tenant") as batch:
        batch.alter_column("company_name", server_default=None)

    op.create_table(
        "id_counter",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.tenant_id"],
            name=op.f("fk_id_counter_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_id_counter")),
    )
    for name, (table, column) in COUNTED.items():
        op.execute(
            f"INSERT INTO id_counter (tenant_id, name, last) SELECT tenant_id, '{name}', "
            f'MAX("{column}") FROM {table} GROUP BY tenant_id'
        )

    # The holder by value, filled in while the users are still there.
    for table, assoc in (("license_ledger", "assoc_id"), ("plan_state_log", "associate_id")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("userName", sa.String(length=255), nullable=False, server_default="")
            )
            batch.add_column(sa.Column("scim_id", sa.String(length=36), nullable=True))
        op.execute(
            f'UPDATE {table} SET "userName" = COALESCE((SELECT a."userName" FROM associate a '
            f"WHERE a.tenant_id = {table}.tenant_id AND a.associate_id = {table}.{assoc}), ''), "
            f"scim_id = (SELECT u.scim_user_id FROM scim_user u WHERE u.tenant_id = "
            f"{table}.tenant_id AND u.associate_id = {table}.{assoc})"
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("userName", server_default=None)

    if postgres:
        referring = _foreign_keys_into(bind, {t for t, _, _ in KEYED})
        for table, fk in referring:
            op.drop_constraint(fk["name"], table, type_="foreignkey")
        for table, column, unique in KEYED:
            op.drop_constraint(f"pk_{table}", table, type_="primary")
            op.create_primary_key(f"pk_{table}", table, ["tenant_id", column])
            if unique:
                op.drop_constraint(unique, table, type_="unique")
        for table, fk in referring:
            op.create_foreign_key(
                fk["name"],
                table,
                fk["referred_table"],
                fk["constrained_columns"],
                fk["referred_columns"],
                ondelete=fk.get("options", {}).get("ondelete"),
            )
        # Ids are handed out per tenant now: the serial defaults and their
        # sequences go.
        for table, column, _ in KEYED:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')
            sequence = bind.exec_driver_sql(
                f"SELECT pg_get_serial_sequence('{table}', '{column}')"
            ).scalar()
            if sequence:
                op.execute(f"DROP SEQUENCE {sequence}")
        op.drop_constraint("seat_invariant", "modulelicense", type_="check")
        op.drop_constraint("in_use_non_negative", "modulelicense", type_="check")
        op.drop_column("modulelicense", "inUse")
        op.alter_column("license_ledger", "ledger_id", type_=sa.BigInteger())
        op.alter_column("plan_state_log", "log_id", type_=sa.BigInteger())
    else:
        # SQLite rebuilds each table (foreign keys are off while it does,
        # see scimsrv.storage.schema).
        for table, column, unique in KEYED:
            with (
                _new_key_warning_expected(),
                op.batch_alter_table(table, recreate="always") as batch,
            ):
                if table in ("license_ledger", "plan_state_log"):
                    batch.alter_column(column, type_=sa.BigInteger())
                if unique:
                    batch.drop_constraint(unique, type_="unique")
                if table == "modulelicense":
                    batch.drop_constraint("seat_invariant", type_="check")
                    batch.drop_constraint("in_use_non_negative", type_="check")
                    batch.drop_column("inUse")
                batch.create_primary_key(f"pk_{table}", ["tenant_id", column])

    op.create_table(
        "license_set_version",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(), nullable=False),
        sa.Column("effective_to", sa.DateTime(), nullable=True),
        sa.Column("ownerName", sa.String(length=64), nullable=False),
        sa.Column("serialNumber", sa.String(length=64), nullable=False),
        sa.Column("companyName", sa.String(length=255), nullable=False),
        sa.Column("signed_with", sa.String(length=64), nullable=False),
        sa.Column("installed_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.tenant_id"],
            name=op.f("fk_license_set_version_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "version_id", name=op.f("pk_license_set_version")),
    )
    op.create_index(
        "ix_license_set_version_tenant_from",
        "license_set_version",
        ["tenant_id", "effective_from"],
        unique=False,
    )
    op.create_table(
        "license_set_seats",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("moduleName", sa.String(length=64), nullable=False),
        sa.Column("moduleVersion", sa.String(length=32), nullable=False),
        sa.Column("is_plan", sa.Boolean(), nullable=False),
        sa.Column("licenseNumber", sa.Integer(), nullable=False),
        sa.Column("unrestricted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["license_set_version.tenant_id", "license_set_version.version_id"],
            name=op.f("fk_license_set_seats_tenant_id_license_set_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "version_id",
            "moduleName",
            "moduleVersion",
            name=op.f("pk_license_set_seats"),
        ),
    )
    # The set each tenant has now (its first owner's), as its first version,
    # in force since that owner row was registered.
    op.execute(
        "INSERT INTO license_set_version (tenant_id, version_id, effective_from, effective_to, "
        '"ownerName", "serialNumber", "companyName", signed_with, installed_by) '
        'SELECT o.tenant_id, 1, o.registered, NULL, o."ownerName", o."serialNumber", '
        'o."companyName", o."signedPublicKey", \'(before history was kept)\' '
        "FROM moduleowner o WHERE o.moduleowner_id = (SELECT MIN(f.moduleowner_id) "
        "FROM moduleowner f WHERE f.tenant_id = o.tenant_id)"
    )
    op.execute(
        'INSERT INTO license_set_seats (tenant_id, version_id, "moduleName", "moduleVersion", '
        'is_plan, "licenseNumber", unrestricted) SELECT tenant_id, 1, "moduleName", '
        '"moduleVersion", ("extraFlags" % 2) = 1, "licenseNumber", unrestricted '
        'FROM modulelicense m WHERE "licenseType" = 3 AND "moduleOwner_id" = '
        "(SELECT MIN(f.moduleowner_id) FROM moduleowner f WHERE f.tenant_id = m.tenant_id)"
    )
    op.execute(
        "INSERT INTO id_counter (tenant_id, name, last) "
        "SELECT tenant_id, 'license_set_version', 1 FROM license_set_version"
    )


def downgrade() -> None:
    raise NotImplementedError("0009 cannot be undone: restore the database from a backup")
