"""Tenant use cases: create (with the default license set), list, check, reconcile."""

from __future__ import annotations

import logging

from licensing_core.holdings import tenants_with_pending
from licensing_core.tables import Tenant
from licensing_core.tenants import create_tenant, get_tenant, tenant_names
from scimsrv.provisioning.consistency import check_tenant
from scimsrv.provisioning.preview import Preview, recompute_described
from scimsrv.provisioning.rules import Rule
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.storage.plans import Lock

log = logging.getLogger("scimsrv")


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


def reconcile(tx) -> Preview:
    """Recompute every user of ``tx.tenant_id`` now, under the tenant's exclusive
    lock: waiting users whose blocker went away (keys now trusted, seats
    freed, a set restored) are served, and holders of licenses that stopped
    working lose them. Run on demand, at start-up for tenants with waiting
    users, and (rolled back) as the rules preview.

    :returns: who changed (plans and state before and after) and the seats.
    :raises UnknownTenant: no such tenant.
    """
    rules = [Rule.from_row(r) for r in tx.storage.rules.lock_with_rules(Lock.TENANT)]
    return recompute_described(tx, rules)


def waiting(tx) -> list[str]:
    """The ids of the tenants where some user waits for seats."""
    return tenants_with_pending(tx.session)


def reconcile_waiting(service: Service) -> dict[str, Preview]:
    """:func:`reconcile` every tenant where some user waits, one transaction
    each (at start-up: trusted keys or seats may have changed while the
    server was down); logs who changed. :returns: the changes by tenant."""
    done = {}
    for tenant_id in service.run(waiting, caller=LOCAL, write=False):
        changes = service.run(
            reconcile, caller=LOCAL, tenant_id=tenant_id, cause="start-up reconcile"
        )
        for change in changes.changes:
            log.info(
                "start-up reconcile: tenant %s: %s %s (%s) -> %s (%s)",
                tenant_id,
                change.user_name,
                change.before or "(none)",
                change.state_before,
                change.after or "(none)",
                change.state,
            )
        done[tenant_id] = changes
    return done
