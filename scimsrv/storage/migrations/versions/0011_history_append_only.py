"""billing history append-only: the ledger, the plan-state log and license set seats

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:10:00

What reports invoice from is written once and never changed afterwards, so
an edit of a past grant's time or of the seats a past set granted cannot
quietly change a completed period (docs/licensing.md §5):

* ``license_ledger``, ``plan_state_log`` and ``license_set_seats``: a
  trigger refuses every UPDATE.
* ``license_set_version``: a trigger refuses every UPDATE but the one that
  closes a version (``effective_to`` set where it was empty, nothing else
  changed).

Deleting stays possible: purging a tenant removes its history with it.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND_ONLY = ("license_ledger", "plan_state_log", "license_set_seats")
# Every column of license_set_version but effective_to.
VERSION_COLUMNS = (
    "tenant_id",
    "version_id",
    "effective_from",
    '"ownerName"',
    '"serialNumber"',
    '"companyName"',
    "signed_with",
    "installed_by",
)


def refusal(table: str) -> str:
    return f"{table} is append-only: billing history is never updated"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE FUNCTION {table}_refuse_update() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{refusal(table)}'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_update()"
            )
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in VERSION_COLUMNS)
        op.execute(
            "CREATE FUNCTION license_set_version_refuse_update() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF OLD.effective_to IS NOT NULL OR {changed} THEN "
            "RAISE EXCEPTION 'license_set_version: a version is only ever closed'; "
            "END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER license_set_version_closed_once BEFORE UPDATE ON "
            "license_set_version FOR EACH ROW EXECUTE FUNCTION license_set_version_refuse_update()"
        )
        return
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{refusal(table)}'); END"
        )
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in VERSION_COLUMNS)
    op.execute(
        "CREATE TRIGGER license_set_version_closed_once BEFORE UPDATE ON license_set_version "
        f"WHEN OLD.effective_to IS NOT NULL OR {changed} "
        "BEGIN SELECT RAISE(ABORT, 'license_set_version: a version is only ever closed'); END"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in (*APPEND_ONLY, "license_set_version"):
        name = f"{table}_closed_once" if table == "license_set_version" else f"{table}_append_only"
        op.execute(f"DROP TRIGGER {name}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION {table}_refuse_update()")
