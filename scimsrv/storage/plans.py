"""The tenant row as the lock of its plans, read together with the tenant's
rules in one statement (see :mod:`scimsrv.provisioning.locking` for the
protocol and :func:`licensing_core.tenants.lock_plans` for the lock alone)."""

from __future__ import annotations

import enum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from licensing_core.errors import UnknownTenant
from licensing_core.tables import Tenant
from licensing_core.tenants import close_gate, deleted_tenant, has_license_set
from scimsrv.storage.rows import labelled
from scimsrv.storage.tables import PlanRule

RULE_COLUMNS = (
    "id",
    "position",
    "scope",
    "target",
    "target_by",
    "plans",
    "mode",
    "enabled",
    "description",
)


class Lock(enum.Enum):
    """How a transaction holds the tenant row (PostgreSQL row-lock modes)."""

    NONE = "none"  # read the rules only
    FACTS = "facts"  # FOR KEY SHARE: facts changed, rules may not change meanwhile
    PLANS = "plans"  # FOR NO KEY UPDATE: plans change, one such transaction at a time
    TENANT = "tenant"  # the gate, then FOR UPDATE: the whole tenant is recomputed


_RULES = (
    select(
        Tenant.tenant_id.label("tenant_id"),
        Tenant.suspended.label("suspended"),
        has_license_set(Tenant.tenant_id).label("licensed"),
        *labelled(PlanRule, RULE_COLUMNS),
    )
    .select_from(Tenant)
    .outerjoin(PlanRule, PlanRule.tenant_id == Tenant.tenant_id)
    .where(Tenant.tenant_id == bindparam("tenant_id"))
    .order_by(PlanRule.position, PlanRule.id)
)
_LOCKED = {
    Lock.NONE: _RULES,
    Lock.FACTS: _RULES.with_for_update(of=Tenant, read=True, key_share=True),
    Lock.PLANS: _RULES.with_for_update(of=Tenant, key_share=True),
    Lock.TENANT: _RULES.with_for_update(of=Tenant),
}


def lock_with_rules(session: Session, tenant_id: str, lock: Lock) -> list:
    """Take ``lock`` on the tenant row and read its rules (rows with
    :data:`RULE_COLUMNS`, in position order).

    A request that passed its token check before its tenant was deleted and
    then waited for the tenant row meets the deletion here, under the lock,
    and changes nothing.

    :raises UnknownTenant, TenantDeleted: no such tenant, or a deleted one.
    """
    if lock is Lock.TENANT:
        close_gate(session, tenant_id)
    rows = session.execute(_LOCKED[lock], {"tenant_id": tenant_id}).all()
    if not rows:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    if rows[0].suspended is not None and not rows[0].licensed:
        raise deleted_tenant(tenant_id, rows[0].suspended)
    return [row for row in rows if row.id is not None]
