"""Tenant use cases: create (with the default license set), list, check."""

from __future__ import annotations

from licensing_core.tables import Tenant
from licensing_core.tenants import create_tenant, get_tenant, tenant_names
from scimsrv.provisioning.consistency import check_tenant


def create(tx, tenant_id: str, name: str = "") -> Tenant:
    """A tenant with the default set (signed with the built-in TEST key until a
    vendor set is imported).

    :raises TenantExists: the id is taken.
    """
    tx.journal.detail("tenant", {"created": tenant_id, "name": name})
    return create_tenant(tx.session, tenant_id, name, at=tx.at, installed_by=tx.actor)


def list_tenants(tx) -> list[tuple[str, str]]:
    """Every tenant as (id, name), by id."""
    return tenant_names(tx.session)


def check(tx) -> list[str]:
    """``tx.tenant_id`` against a recomputation from scratch: every inconsistency.

    :raises UnknownTenant: no such tenant.
    """
    get_tenant(tx.session, tx.tenant_id)
    return check_tenant(tx)
