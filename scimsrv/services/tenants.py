"""Tenant use cases: create (with the default license set), list, show, change
(name, company name, contract terms), suspend, resume, delete or purge, check,
reconcile.

What each state means and what a change of contract terms may do is in
:mod:`licensing_core.tenants` (docs/tenants.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from licensing_core.holdings import tenants_with_pending
from licensing_core.periods import Period
from licensing_core.tenants import (
    TenantInfo,
    change_tenant,
    create_tenant,
    end_tenant,
    get_tenant,
    live_tenant,
    lock_plans,
    resume_tenant,
    suspend_tenant,
    tenant_info,
    tenant_infos,
)
from scimsrv.provisioning.consistency import check_tenant
from scimsrv.provisioning.preview import Preview, recompute_described
from scimsrv.provisioning.recompute import forget_tenant
from scimsrv.provisioning.rules import Rule
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.storage.plans import Lock

log = logging.getLogger("scimsrv")


@dataclass(frozen=True)
class TenantDetails:
    """A tenant as ``tenant show`` presents it: its terms and state, its
    directory's size, and the billing period in progress."""

    info: TenantInfo
    users: int
    groups: int
    live_tokens: int
    current_period: Period

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The tenant as the admin API shows one (``GET /admin/v1/tenants/{t}``)."""
        period = self.current_period
        return self.info.to_json(base_url) | {
            "users": self.users,
            "groups": self.groups,
            "liveTokens": self.live_tokens,
            "currentPeriod": {
                "label": period.label,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            },
        }


@dataclass(frozen=True)
class Deletion:
    """What deleting a tenant removed: ``purged`` True means every row (``rows``)."""

    tenant_id: str
    purged: bool
    users: int = 0
    groups: int = 0
    tokens: int = 0
    licenses_released: int = 0
    rows: int = 0


def create(
    tx,
    tenant_id: str,
    name: str = "",
    *,
    company: str | None = None,
    contract_start: date | None = None,
    billing_period: str | None = None,
) -> TenantInfo:
    """A tenant with the default set (signed with the built-in TEST key until a
    vendor set is imported), its company name (default: ``name``) and contract
    terms (default: none, monthly calendar-aligned periods).

    :raises TenantExists: the id is taken (also by a deleted tenant).
    :raises InvalidTenant, InvalidPeriod: as :func:`change` says.
    """
    tx.journal.tenant = tenant_id
    tx.journal.detail(
        "tenant",
        {
            "created": tenant_id,
            "name": name,
            "company": name if company is None else company,
            "contractStart": contract_start.isoformat() if contract_start else None,
            "billingPeriod": billing_period,
        },
    )
    create_tenant(
        tx.session, tenant_id, name, company_name=company, at=tx.at, installed_by=tx.actor
    )
    change_tenant(
        tx.session,
        tenant_id,
        at=tx.at,
        contract_start=contract_start,
        billing_period=billing_period,
    )
    return tenant_info(tx.session, tenant_id)


def list_tenants(tx) -> list[TenantInfo]:
    """Every tenant, deleted ones included, by id."""
    return tenant_infos(tx.session)


def show(tx) -> TenantDetails:
    """``tx.tenant_id`` with its directory's size and the billing period in progress.

    :raises UnknownTenant: no such tenant.
    """
    info = tenant_info(tx.session, tx.tenant_id)
    counts = tx.storage.directory.counts()
    return TenantDetails(
        info, counts.users, counts.groups, counts.live_tokens, info.current_period(tx.at)
    )


def change(
    tx,
    *,
    name: str | None = None,
    company: str | None = None,
    contract_start: date | None = None,
    billing_period: str | None = None,
) -> TenantDetails:
    """Rename ``tx.tenant_id``, set its company name or its contract terms (None:
    unchanged); see :func:`licensing_core.tenants.change_tenant` for when terms may change.

    :raises UnknownTenant, TenantDeleted, InvalidTenant, InvalidPeriod, TermsLocked:
        as the names say.
    """
    before = tenant_info(tx.session, tx.tenant_id)
    change_tenant(
        tx.session,
        tx.tenant_id,
        at=tx.at,
        name=name,
        company_name=company,
        contract_start=contract_start,
        billing_period=billing_period,
    )
    details = show(tx)
    _journal_change(tx, "changed", before, details.info)
    return details


def suspend(tx) -> TenantDetails:
    """Close the tenant's SCIM API (every request answers 403) until it is resumed.

    :raises UnknownTenant, TenantDeleted: as the names say.
    """
    before = tenant_info(tx.session, tx.tenant_id)
    suspend_tenant(tx.session, tx.tenant_id, at=tx.at)
    details = show(tx)
    _journal_change(tx, "suspended", before, details.info)
    return details


def resume(tx) -> TenantDetails:
    """Open a suspended tenant's SCIM API again.

    :raises UnknownTenant, TenantDeleted: as the names say.
    """
    before = tenant_info(tx.session, tx.tenant_id)
    resume_tenant(tx.session, tx.tenant_id)
    details = show(tx)
    _journal_change(tx, "resumed", before, details.info)
    return details


def delete(tx, *, purge: bool = False) -> Deletion:
    """Delete ``tx.tenant_id``, holding it exclusively.

    Without ``purge``: every license is released through the plan book (the
    ledger records each release), then its users, groups, memberships, rules
    and tokens are deleted and it is marked deleted
    (:func:`licensing_core.tenants.end_tenant`); its ledger, plan-state log,
    license set history and id counters stay, so usage reports still cover
    it. With ``purge`` (also for a tenant deleted before): every row of the
    tenant, history included, is deleted, and the id is free again.

    :raises UnknownTenant: no such tenant.
    :raises TenantDeleted: deleted already, and no ``purge``.
    """
    lock_plans(tx.session, tx.tenant_id, exclusive=True)
    if purge:
        # Nothing of the tenant may remain, its audit log included: the purge
        # itself is logged by the server (scimsrv logger), not in the tenant.
        tx.journal.purged = True
        log.info("tenant %s purged by %s", tx.tenant_id, tx.actor)
        return Deletion(tx.tenant_id, purged=True, rows=tx.storage.directory.purge())
    live_tenant(tx.session, tx.tenant_id)
    released = forget_tenant(tx, tx.plan_book())
    removed = tx.storage.directory.clear()
    end_tenant(tx.session, tx.tenant_id, at=tx.at)
    deletion = Deletion(
        tx.tenant_id,
        purged=False,
        users=removed.users,
        groups=removed.groups,
        tokens=removed.live_tokens,
        licenses_released=released,
    )
    tx.journal.detail(
        "tenant",
        {
            "deleted": tx.tenant_id,
            "users": deletion.users,
            "groups": deletion.groups,
            "liveTokens": deletion.tokens,
            "licensesReleased": deletion.licenses_released,
        },
    )
    return deletion


# What a tenant change records of the tenant, before -> after.
_RECORDED = {
    "name": "name",
    "company": "company_name",
    "contractStart": "contract_start",
    "billingPeriod": "billing_period",
    "state": "state",
}


def _journal_change(tx, what: str, before: TenantInfo, after: TenantInfo) -> None:
    """Note in the audit entry what a tenant change changed, before -> after."""
    moved = {}
    for key, attribute in _RECORDED.items():
        old, new = getattr(before, attribute), getattr(after, attribute)
        if old != new:
            moved[key] = {"before": _plain(old), "after": _plain(new)}
    tx.journal.detail("tenant", {what: tx.tenant_id, "fields": moved})


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


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
