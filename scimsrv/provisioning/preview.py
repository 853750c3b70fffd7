"""What recomputing a tenant changes: which users changed plans or state and, per
module, the seats in use before and after against the seats bought, with
warnings about rules that cannot do what they say (a group no group of the
tenant has, a group or role on a rule for all users).

The changes are not modelled: every user is really recomputed
(:func:`~scimsrv.provisioning.recompute.recompute_tenant`, the caller holding
:attr:`~scimsrv.storage.plans.Lock.TENANT`) and the outcomes are described.
A preview or a dry run is the same work in a transaction its caller rolls
back, so what it shows is exactly what applying would do, waiting users
served included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from licensing_core.counting import user_license_seats
from licensing_core.plans import plan_for_module
from licensing_core.tables import PENDING
from scimsrv.provisioning.recompute import recompute_tenant
from scimsrv.provisioning.rules import Rule
from scimsrv.storage.tables import BY_EXTERNAL_ID, SCOPE_ALL, SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP


@dataclass(frozen=True)
class PlanChange:
    """One user whose granted plans or state changed (``before``/``after``:
    granted combination names, "" for none)."""

    user_id: str
    user_name: str
    before: str
    after: str
    state_before: str
    state: str
    reason: str


@dataclass(frozen=True)
class SeatImpact:
    """One module's seats in use before and after (never above ``bought``
    unless unrestricted: users past it wait, see :attr:`Preview.waiting`)."""

    module_name: str
    bought: int
    unrestricted: bool
    in_use: int
    after: int


@dataclass(frozen=True)
class Preview:
    changes: list[PlanChange]
    seats: list[SeatImpact]
    warnings: list[str] = field(default_factory=list)

    @property
    def waiting(self) -> list[PlanChange]:
        """The changed users left waiting for seats (pending)."""
        return [c for c in self.changes if c.state == PENDING]


def recompute_described(tx, rules: list[Rule]) -> Preview:
    """Recompute every user of ``tx``'s tenant under ``rules`` and describe the changes."""
    before = {s.module_name: s for s in user_license_seats(tx.session, tx.tenant_id)}
    outcomes = recompute_tenant(tx, tx.plan_book(), rules)
    moved = sorted((o for o in outcomes.values() if o.moved), key=lambda o: o.assoc_id)
    who = tx.storage.users.identities([o.assoc_id for o in moved])
    changes = [
        PlanChange(
            who[o.assoc_id].scim_id or "",
            who[o.assoc_id].user_name,
            o.granted_before,
            o.granted.name,
            o.state_before,
            o.state,
            o.reason,
        )
        for o in moved
        if o.assoc_id in who
    ]
    after = user_license_seats(tx.session, tx.tenant_id)
    # Every plan module, and every other module whose seats in use moved.
    seats = [
        SeatImpact(s.module_name, s.bought, s.unrestricted, was.in_use, s.in_use)
        for s in after
        if (was := before.get(s.module_name)) is not None
        and (plan_for_module(s.module_name) is not None or was.in_use != s.in_use)
    ]
    return Preview(changes, seats, rule_warnings(tx, rules))


def rule_warnings(tx, rules: list[Rule]) -> list[str]:
    """Enabled rules that cannot do what they say: one naming a group that no
    group of the tenant has (yet: identity providers may push it later), one
    for all users that names a group or role (ignored)."""
    enabled = [rule for rule in rules if rule.enabled]
    grouped = [rule for rule in enabled if rule.scope in (SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP)]
    names, external_ids = tx.storage.rules.groups_found(
        [r.target for r in grouped if r.target_by != BY_EXTERNAL_ID],
        [r.target for r in grouped if r.target_by == BY_EXTERNAL_ID],
    )
    warnings = []
    for rule in enabled:
        if rule.scope == SCOPE_ALL and rule.target:
            warnings.append(
                f"rule {rule.position} is for all users: {rule.target!r} is ignored "
                "(use scope has-role or in-group to match it)"
            )
        elif rule in grouped:
            by_id = rule.target_by == BY_EXTERNAL_ID
            if (rule.target if by_id else rule.target.casefold()) not in (
                external_ids if by_id else names
            ):
                what = "externalId" if by_id else "displayName"
                warnings.append(
                    f"rule {rule.position} names group {rule.target!r}, but no group of the "
                    f"tenant has that {what} (yet)"
                )
    return warnings
