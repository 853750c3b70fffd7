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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    """One customer: one license set, its own SCIM base URL and tokens.

    ``name`` is what operators call it; ``company_name`` the customer's legal
    name that reports and the Licenses page show; ``contract_start`` and
    ``billing_period`` the contract terms billing periods align to
    (:mod:`licensing_core.periods`); ``suspended`` the moment an operator
    suspended it (None while active).
    """

    __tablename__ = "tenant"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    company_name: Mapped[str] = mapped_column(String(255), default="")
    contract_start: Mapped[date | None] = mapped_column(Date)
    billing_period: Mapped[str] = mapped_column(String(16), default="monthly")
    registered: Mapped[datetime] = mapped_column(DateTime)
    suspended: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(
            "billing_period IN ('monthly', 'quarterly', 'half-yearly', 'yearly')",
            name="billing_period",
        ),
    )


class IdCounter(Base):
    """The last id handed out per tenant and kind of row (``associate``,
    ``modulelicense``...): ids that history refers to are never handed out
    again, even after the row with the highest one was deleted (SQLite would
    reuse it), and every primary key leads with the tenant."""

    __tablename__ = "id_counter"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    last: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "name"),)


def next_id(name: str):
    """A column default: the tenant's next ``name`` id, one upsert of its counter.

    PostgreSQL holds the counter row until the transaction ends, so rows of
    one kind and tenant are numbered one transaction at a time (rare writes:
    a new user, a license set, a rule).
    """
    table = IdCounter.__table__

    def allocate(context) -> int:
        tenant_id = context.get_current_parameters()["tenant_id"]
        insert = (postgresql if context.dialect.name == "postgresql" else sqlite).insert(table)
        statement = insert.values(tenant_id=tenant_id, name=name, last=1)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.name], set_={"last": table.c.last + 1}
        ).returning(table.c.last)
        return context.connection.execute(statement).scalar_one()

    return allocate


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

    id: Mapped[int] = mapped_column("moduleowner_id", Integer, default=next_id("moduleowner"))
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
        PrimaryKeyConstraint("tenant_id", "moduleowner_id"),
        UniqueConstraint("tenant_id", "ownerName"),
    )


class ModuleLicense(_Audited, Base):
    """One license of the set; user licenses (type 3) are assigned through links.

    The seats in use are never stored: they are the sum of ``licenseNumber``
    over the module's links, counted under the tenant's plan lock whenever a
    grant could need them (:mod:`licensing_core.catalog`), so no unsigned
    value can lift the limit the signed ``licenseNumber`` sets.
    """

    __tablename__ = "modulelicense"

    id: Mapped[int] = mapped_column("moduleLicense_id", Integer, default=next_id("modulelicense"))
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

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "moduleOwner_id"],
            ["moduleowner.tenant_id", "moduleowner.moduleowner_id"],
            ondelete="CASCADE",
        ),
        PrimaryKeyConstraint("tenant_id", "moduleLicense_id"),
        UniqueConstraint(
            "tenant_id",
            "moduleName",
            "moduleVersion",
            "moduleOwner_id",
            name="uq_modulelicense_name_version_owner",
        ),
        CheckConstraint('"licenseType" IN (1, 2, 3)', name="license_type"),
        CheckConstraint('"licenseNumber" > 0', name="license_number_positive"),
    )

    @property
    def is_plan(self) -> bool:
        return bool(self.extra_flags & USER_PLAN_FLAG)


class Associate(_Audited, Base):
    """A CRM user. ``name`` is the login, unique per tenant; ``deleted`` means
    retired (no rights, hidden)."""

    __tablename__ = "associate"

    id: Mapped[int] = mapped_column("associate_id", Integer, default=next_id("associate"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column("name", String(255))
    user_name: Mapped[str] = mapped_column("userName", String(255), default="")
    type: Mapped[int] = mapped_column("type", SmallInteger, default=1)
    deleted: Mapped[bool] = mapped_column("deleted", Boolean, default=False)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "associate_id"),
        UniqueConstraint("tenant_id", "name"),
    )


class LicenseAssocLink(_Audited, Base):
    """One license held by one associate."""

    __tablename__ = "licenseassoclink"

    # Numbered per tenant under the plan lock (licensing_core.links).
    id: Mapped[int] = mapped_column("LicenseAssocLink_id", Integer)
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
        PrimaryKeyConstraint("tenant_id", "LicenseAssocLink_id"),
        UniqueConstraint("tenant_id", "moduleLicense_id", "assoc_id"),
        Index("ix_licenseassoclink_tenant_assoc", "tenant_id", "assoc_id"),
        CheckConstraint('"licenseNumber" >= 0', name="license_number_non_negative"),
    )


class LicenseSetVersion(Base):
    """Every license set a tenant has had: in force from ``effective_from`` until
    ``effective_to`` (the next import; None while it is the current one), with
    who installed it. Billing reports read the seats bought in a past period
    here, never from today's set."""

    __tablename__ = "license_set_version"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.tenant_id", ondelete="CASCADE"))
    id: Mapped[int] = mapped_column("version_id", Integer, default=next_id("license_set_version"))
    effective_from: Mapped[datetime] = mapped_column(DateTime)
    effective_to: Mapped[datetime | None] = mapped_column(DateTime)
    owner_name: Mapped[str] = mapped_column("ownerName", String(64), default="")
    serial_number: Mapped[str] = mapped_column("serialNumber", String(64), default="")
    company_name: Mapped[str] = mapped_column("companyName", String(255), default="")
    signed_with: Mapped[str] = mapped_column(String(64), default="")
    installed_by: Mapped[str] = mapped_column(String(255), default="")

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "version_id"),
        Index("ix_license_set_version_tenant_from", "tenant_id", "effective_from"),
    )


class LicenseSetSeats(Base):
    """The seats of one user license in one version of a tenant's license set."""

    __tablename__ = "license_set_seats"

    tenant_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    module_name: Mapped[str] = mapped_column("moduleName", String(64))
    module_version: Mapped[str] = mapped_column("moduleVersion", String(32))
    is_plan: Mapped[bool] = mapped_column(Boolean)
    license_number: Mapped[int] = mapped_column("licenseNumber", Integer)
    unrestricted: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "version_id", "moduleName", "moduleVersion"),
        ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["license_set_version.tenant_id", "license_set_version.version_id"],
            ondelete="CASCADE",
        ),
    )


GRANT = "grant"
RELEASE = "release"


class LedgerEntry(Base):
    """Append-only history of link changes, written in the same transaction.

    Rows are never updated or deleted; module and holder are stored by value
    (module id and name; associate id, userName and SCIM id as they were at
    that moment) so the history outlives a replaced license set or a deleted
    user, and an id handed out again could not merge two people. Rows are
    numbered per tenant, in commit order, under the plan lock.
    """

    __tablename__ = "license_ledger"

    id: Mapped[int] = mapped_column("ledger_id", BigInteger)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    event: Mapped[str] = mapped_column(String(8))
    module_license_id: Mapped[int] = mapped_column("moduleLicense_id", Integer)
    module_name: Mapped[str] = mapped_column("moduleName", String(64))
    is_plan: Mapped[bool] = mapped_column(Boolean)
    assoc_id: Mapped[int] = mapped_column("assoc_id", Integer)
    license_number: Mapped[int] = mapped_column("licenseNumber", Integer)
    cause: Mapped[str] = mapped_column(String(64), default="")
    user_name: Mapped[str] = mapped_column("userName", String(255), default="")
    scim_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "ledger_id"),
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

    # Numbered per tenant under the plan lock, as the ledger.
    id: Mapped[int] = mapped_column("log_id", BigInteger)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    associate_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(8))
    requested: Mapped[str] = mapped_column(String(160), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    user_name: Mapped[str] = mapped_column("userName", String(255), default="")
    scim_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "log_id"),
        Index("ix_plan_state_log_tenant_at", "tenant_id", "at", "log_id"),
        Index("ix_plan_state_log_tenant_assoc", "tenant_id", "associate_id", "at"),
        CheckConstraint("state IN ('licensed', 'pending', 'none')", name="state"),
    )
