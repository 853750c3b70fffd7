"""Who holds one license: its ``licenseassoclink`` rows with the user each associate
is in SCIM (``scim_user``), a page at a time, for the Licenses page.

A holder is listed by its SCIM userName (casefolded order, ties by associate
id) with its SCIM id and the moment the link was granted (``validFrom``).
An associate with no SCIM user (it was never provisioned through SCIM, or the
user was deleted) is listed after the others by its CRM login name, with no
SCIM id. Pages are ``OFFSET`` pages (startIndex and count as RFC 7644
§3.4.2.4 defines them), so a holder added or removed between two pages
shifts the later ones by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from licensing_core.tables import Associate, LicenseAssocLink
from scimsrv.storage.tables import ScimUser


@dataclass(frozen=True)
class Holder:
    """One holder of a license: ``scim_id`` is None for an associate with no SCIM user;
    ``since`` is when the link was granted (naive UTC)."""

    associate_id: int
    user_name: str
    scim_id: str | None
    since: datetime | None
    retired: bool


@dataclass(frozen=True)
class HolderPage:
    """``holders`` from the 1-based ``start_index`` on, of ``total`` holders in all."""

    total: int
    start_index: int
    holders: tuple[Holder, ...]


_LINKED = and_(
    Associate.tenant_id == LicenseAssocLink.tenant_id,
    Associate.id == LicenseAssocLink.assoc_id,
)
_AS_USER = and_(
    ScimUser.tenant_id == LicenseAssocLink.tenant_id,
    ScimUser.associate_id == LicenseAssocLink.assoc_id,
)


def license_holders(
    session: Session, tenant_id: str, module_license_id: int, start_index: int, count: int
) -> HolderPage:
    """The holders of module ``module_license_id`` from ``start_index`` (1-based), at
    most ``count`` of them: the total, then the page unless it is past the end."""
    where = (
        LicenseAssocLink.tenant_id == tenant_id,
        LicenseAssocLink.module_license_id == module_license_id,
    )
    total = session.execute(
        select(func.count()).select_from(LicenseAssocLink).where(*where)
    ).scalar_one()
    if start_index > total or count < 1:
        return HolderPage(total, start_index, ())
    rows = session.execute(
        select(
            LicenseAssocLink.assoc_id,
            func.coalesce(ScimUser.user_name, Associate.name),
            ScimUser.id,
            func.coalesce(LicenseAssocLink.valid_from, LicenseAssocLink.registered),
            Associate.deleted,
        )
        .join(Associate, _LINKED)
        .outerjoin(ScimUser, _AS_USER)
        .where(*where)
        .order_by(
            ScimUser.user_name_ci.asc().nulls_last(), Associate.name, LicenseAssocLink.assoc_id
        )
        .offset(start_index - 1)
        .limit(count)
    )
    return HolderPage(total, start_index, tuple(Holder(*row) for row in rows))
