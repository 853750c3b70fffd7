"""The license tables as typed SQLAlchemy models: the single source of the schema.

Table and column names follow the documented CRM schema (moduleowner,
modulelicense, licenseassoclink, associate). Every table leads with
``tenant_id``: every unique constraint and index starts with it, and every
foreign key is composite ``(tenant_id, id)``, so a row can never reference
another tenant's row and tenants can later be distributed by that column.
All timestamps are naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# licenseType values (docs/licensing.md §2).
SYSTEM_LICENSE = 1
SITE_LICENSE = 2
USER_LICENSE = 3

# extraFlags bit that marks a user plan.
USER_PLAN_FLAG = 1


class Tenant(Base):
    """One customer: one license set, its own SCIM base URL and tokens."""

    __tablename__ = "tenant"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    contract_start: Mapped[date | None] = mapped_column(Date)
    billing_period: Mapped[str] = mapped_column(String(16), default="monthly")
    registered: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(
            "billing_period IN ('monthly', 'quarterly', 'half-yearly', 'yearly')",
            name="billing_period",
        ),
    )


class _Audited:
    """Audit columns every CRM table carries."""

    registered: Mapped[datetime] = mapped_column("registered", DateTime)
    registered_associate_id: Mapped[int] = mapped_column(
        "registered_associate_id", Integer, default=0
    )
    updated: Mapped[datetime | None] = mapped_column("updated", DateTime)
    updated_associate_id: Mapped[int] = mapped_column("updated_associate_id", Integer, default=0)
    updated_count: Mapped[int] = mapped_column("updatedCount", Integer, default=0)


class ModuleOwner(_Audited, Base):
    """An issuer of licenses (normally one per tenant) with the set's global dates."""

    __tablename__ = "moduleowner"

    id: Mapped[int] = mapped_column("moduleowner_id", Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    owner_name: Mapped[str] = mapped_column("ownerName", String(64))
    owner_description: Mapped[str] = mapped_column("ownerDescription", String(255), default="")
    signed_public_key: Mapped[str] = mapped_column("signedPublicKey", Text, default="")
    signature: Mapped[str] = mapped_column("signature", Text, default="")
    extra_flags: Mapped[int] = mapped_column("extraFlags", Integer, default=0)
    extra_info: Mapped[str] = mapped_column("extraInfo", Text, default="")
    expiration: Mapped[datetime | None] = mapped_column("expiration", DateTime)
    grace_to: Mapped[datetime | None] = mapped_column("graceTo", DateTime)
    maintenance_to: Mapped[datetime | None] = mapped_column("maintenanceTo", DateTime)
    next_check_date: Mapped[datetime | None] = mapped_column("nextCheckDate", DateTime)
    admin_warning_date: Mapped[datetime | None] = mapped_column("adminWarningDate", DateTime)
    serial_number: Mapped[str] = mapped_column("serialNumber", String(64), default="")
    company_name: Mapped[str] = mapped_column("companyName", String(255), default="")

    __table_args__ = (
        UniqueConstraint("tenant_id", "moduleowner_id"),
        UniqueConstraint("tenant_id", "ownerName"),
    )


class ModuleLicense(_Audited, Base):
    """One license of the set; user licenses (type 3) are assigned through links.

    ``inUse`` is scimsrv's addition to the documented table: the sum of
    ``licenseNumber`` over the module's links, changed only by
    :mod:`licensing_core.links` with a conditional update, so the seat
    invariant holds under concurrent transactions. The CHECK constraint makes
    the database itself refuse an over-assignment.
    """

    __tablename__ = "modulelicense"

    id: Mapped[int] = mapped_column("moduleLicense_id", Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    module_owner_id: Mapped[int] = mapped_column("moduleOwner_id", Integer)
    module_name: Mapped[str] = mapped_column("moduleName", String(64))
    module_description: Mapped[str] = mapped_column("moduleDescription", String(255), default="")
    module_version: Mapped[str] = mapped_column("moduleVersion", String(32), default="1")
    license_type: Mapped[int] = mapped_column("licenseType", SmallInteger)
    license_number: Mapped[int] = mapped_column("licenseNumber", Integer)
    unrestricted: Mapped[bool] = mapped_column("unrestricted", Boolean, default=False)
    hidden: Mapped[bool] = mapped_column("hidden", Boolean, default=False)
    extra_flags: Mapped[int] = mapped_column("extraFlags", Integer, default=0)
    extra_info: Mapped[str] = mapped_column("extraInfo", Text, default="")
    sort_order: Mapped[int] = mapped_column("sortOrder", Integer, default=0)
    signature: Mapped[str] = mapped_column("signature", Text, default="")
    prerequisite_module: Mapped[str] = mapped_column("prerequisiteModule", String(64), default="")
    in_use: Mapped[int] = mapped_column("inUse", Integer, default=0)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "moduleOwner_id"],
            ["moduleowner.tenant_id", "moduleowner.moduleowner_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "moduleLicense_id"),
        UniqueConstraint(
            "tenant_id",
            "moduleName",
            "moduleVersion",
            "moduleOwner_id",
            name="uq_modulelicense_name_version_owner",
        ),
        CheckConstraint('"licenseType" IN (1, 2, 3)', name="license_type"),
        CheckConstraint('"licenseNumber" > 0', name="license_number_positive"),
        CheckConstraint('"inUse" >= 0', name="in_use_non_negative"),
        CheckConstraint('unrestricted OR "inUse" <= "licenseNumber"', name="seat_invariant"),
    )

    @property
    def is_plan(self) -> bool:
        return bool(self.extra_flags & USER_PLAN_FLAG)

    @property
    def free(self) -> int | None:
        """Seats left, or None when unrestricted."""
        return None if self.unrestricted else self.license_number - self.in_use


class Associate(_Audited, Base):
    """A CRM user. ``name`` is the login, unique per tenant; ``deleted`` means
    retired (no rights, hidden)."""

    __tablename__ = "associate"

    id: Mapped[int] = mapped_column("associate_id", Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column("name", String(255))
    user_name: Mapped[str] = mapped_column("userName", String(255), default="")
    type: Mapped[int] = mapped_column("type", SmallInteger, default=1)
    deleted: Mapped[bool] = mapped_column("deleted", Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("tenant_id", "associate_id"),
        UniqueConstraint("tenant_id", "name"),
    )


class LicenseAssocLink(_Audited, Base):
    """One license held by one associate."""

    __tablename__ = "licenseassoclink"

    id: Mapped[int] = mapped_column("LicenseAssocLink_id", Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    module_license_id: Mapped[int] = mapped_column("moduleLicense_id", Integer)
    assoc_id: Mapped[int] = mapped_column("assoc_id", Integer)
    license_number: Mapped[int] = mapped_column("licenseNumber", Integer, default=1)
    valid_from: Mapped[datetime | None] = mapped_column("validFrom", DateTime)
    valid_to: Mapped[datetime | None] = mapped_column("validTo", DateTime)
    comment: Mapped[str] = mapped_column("comment", String(255), default="")

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "moduleLicense_id"],
            ["modulelicense.tenant_id", "modulelicense.moduleLicense_id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "assoc_id"], ["associate.tenant_id", "associate.associate_id"]
        ),
        UniqueConstraint("tenant_id", "moduleLicense_id", "assoc_id"),
        Index("ix_licenseassoclink_tenant_assoc", "tenant_id", "assoc_id"),
        CheckConstraint('"licenseNumber" >= 0', name="license_number_non_negative"),
    )


GRANT = "grant"
RELEASE = "release"


class LedgerEntry(Base):
    """Append-only history of link changes, written in the same transaction.

    Rows are never updated or deleted; module and associate are stored by
    value (id and name) so the history outlives a replaced license set or a
    deleted user.
    """

    __tablename__ = "license_ledger"

    id: Mapped[int] = mapped_column("ledger_id", BigId, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    event: Mapped[str] = mapped_column(String(8))
    module_license_id: Mapped[int] = mapped_column("moduleLicense_id", Integer)
    module_name: Mapped[str] = mapped_column("moduleName", String(64))
    is_plan: Mapped[bool] = mapped_column(Boolean)
    assoc_id: Mapped[int] = mapped_column("assoc_id", Integer)
    license_number: Mapped[int] = mapped_column("licenseNumber", Integer)
    cause: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        Index("ix_license_ledger_tenant_at", "tenant_id", "at", "ledger_id"),
        Index("ix_license_ledger_tenant_assoc", "tenant_id", "assoc_id"),
        CheckConstraint("event IN ('grant', 'release')", name="event"),
    )


LICENSED = "licensed"
PENDING = "pending"
NO_PLAN = "none"


class AssociatePlan(Base):
    """Each associate's requested plans, the plans it was granted, and its state:
    ``licensed`` (got everything), ``pending`` (waiting for seats, since
    ``pending_since``; first waiting, first served) or ``none`` (no plan)."""

    __tablename__ = "associate_plan"

    tenant_id: Mapped[str] = mapped_column(String(64))
    associate_id: Mapped[int] = mapped_column(Integer)
    requested: Mapped[str] = mapped_column(String(160), default="")
    granted: Mapped[str] = mapped_column(String(160), default="")
    state: Mapped[str] = mapped_column(String(8), default=NO_PLAN)
    reason: Mapped[str] = mapped_column(String(255), default="")
    pending_since: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on every change: part of the user's ETag (its licensing extension).
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "associate_id"),
        ForeignKeyConstraint(
            ["tenant_id", "associate_id"],
            ["associate.tenant_id", "associate.associate_id"],
            ondelete="CASCADE",
        ),
        Index("ix_associate_plan_tenant_state", "tenant_id", "state", "pending_since"),
        CheckConstraint("state IN ('licensed', 'pending', 'none')", name="state"),
    )


class PlanStateLog(Base):
    """Append-only history of :class:`AssociatePlan` states, written in the same
    transaction by :class:`licensing_core.plan_state.PlanBook`.

    The license ledger records only links; this log makes "who was waiting for
    seats when" reproducible for past periods. Rows are never updated or deleted.
    """

    __tablename__ = "plan_state_log"

    id: Mapped[int] = mapped_column("log_id", BigId, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    associate_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(8))
    requested: Mapped[str] = mapped_column(String(160), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")

    __table_args__ = (
        Index("ix_plan_state_log_tenant_at", "tenant_id", "at", "log_id"),
        Index("ix_plan_state_log_tenant_assoc", "tenant_id", "associate_id", "at"),
        CheckConstraint("state IN ('licensed', 'pending', 'none')", name="state"),
    )
