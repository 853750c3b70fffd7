"""The plan catalog use case: the six plans, their features and the licenses they
imply, and the 26 combinations, from the default license set or, for a tenant,
from the set it has installed (:mod:`licensing_core.plan_catalog`)."""

from __future__ import annotations

from licensing_core.catalog import load_catalog
from licensing_core.plan_catalog import PlanCatalog, default_plan_catalog, plan_catalog
from licensing_core.tenants import get_tenant


def plans(tx) -> PlanCatalog:
    """The catalog of ``tx.tenant_id``'s license set (verified against the
    trusted keys: a plan whose rows fail carries the reason), or of the
    default set when the transaction names no tenant.

    :raises UnknownTenant: no such tenant.
    """
    if not tx.tenant_id:
        return default_plan_catalog()
    get_tenant(tx.session, tx.tenant_id)
    licenses = load_catalog(tx.session, tx.tenant_id, tx.keyring)
    return plan_catalog(
        f"the license set of tenant {tx.tenant_id!r}",
        lambda plan: [module.name for module in licenses.required(plan)[1:]],
    )
