"""Recompute the plans of exactly the users a change affects, in the change's
transaction, under the locking protocol below.

The locking protocol: which rows every change that can affect a user's plans
locks, in which order, so that any interleaving of concurrent requests ends
with every user's plans equal to a recomputation from scratch.

What a user's plans depend on, its *facts*: its ``active`` flag and roles
(its user row), the groups it is in (membership rows) and their names and
externalIds (group rows), the tenant's rules, and the license set. What
they decide, its *plan state*: associate_plan, licenseassoclink, the seat
counters, the ledger and the plan-state log.

Locks are taken in this order, never the other way round (PostgreSQL row
locks; SQLite runs one write transaction at a time, so it needs none):

0. **The tenant's gate** (:func:`licensing_core.tenants.gate`, an advisory
   lock, so waiters are served in arrival order): every write with the
   tenant's token enters it shared in its token check, its first statement;
   a change of the whole tenant enters it exclusively just before step 3's
   ``FOR UPDATE``, so it waits for the writes admitted before it, and the
   ones arriving later wait for it, instead of overtaking it with row locks
   compatible with the current holders for as long as the identity provider
   keeps sending. A whole-tenant change holds no other lock of the tenant
   before it, and a shared holder waits for no whole-tenant change: no cycle.
1. **Group rows** a request names (``FOR NO KEY UPDATE``; ``FOR UPDATE`` to
   delete), and the groups a user is in, in id order, for the user's
   deletion and for a user write that may change the name their
   ``members`` show it by (they get a new version).
2. **User rows** whose facts or representation change, in id order: the
   user of a user request (``FOR UPDATE``: its userName is a unique key, so
   a membership insert's foreign-key check must wait for it before holding
   anything), and the members a group request adds, removes or renames
   (their ``groups`` changed: each gets a new version). So every change of
   a user's facts holds that user's row until it commits.
3. **The tenant row** (:class:`~scimsrv.storage.plans.Lock`), read together
   with the rules:

   * ``FOR KEY SHARE`` by a change of facts that may not matter (a member of
     a group no plan name or rule mentions; a new user when there are no
     rules): if the rules say it does not matter, nothing more is locked;
   * ``FOR NO KEY UPDATE`` (the *plan lock*) by every transaction that
     changes plan state: they run one at a time per tenant;
   * ``FOR UPDATE`` by a rule change, a license import or a reconcile, which
     recompute the whole tenant: it also waits for, and holds off, every
     transaction holding the row in any mode, inserting a user or group (a
     foreign key takes ``FOR KEY SHARE``), or changing a membership (step 3
     takes ``FOR KEY SHARE`` at least).

4. Under the plan lock only: the plan state rows. No other transaction
   writes them, so they need no row locks.

Why the result equals a recomputation from scratch. Facts are read after
the plan lock is granted. Under READ COMMITTED each statement sees every
transaction committed before it began, so the transaction that takes the
plan lock last for a user sees that user's facts as every earlier one
committed them, plus its own. A change that is not yet committed when
another transaction recomputes belongs to a transaction that will itself
take the plan lock and recompute its users afterwards (step 3 follows every
fact change). A rule change and a license import hold the tenant row
exclusively while they read every user, so no fact change can slip between
their read and their commit; and a change of facts that found the rules
made it irrelevant held ``FOR KEY SHARE``, which a rule change must wait
for. Pending users are served under the plan lock, first waiting first.

The order (groups, users, tenant) means no cycle is possible among
transactions that follow it: each waits only for locks that come later in
the order than the ones it holds. PostgreSQL may still abort a transaction
for a deadlock in corners the order cannot see (a user deleted while a
concurrent request adds it to a group it was not yet in) or for a
serialization failure; the use case runner retries such aborts, bounded
and with jitter (:mod:`scimsrv.services.transaction`). Every lock wait is
bounded (``lock_timeout``): past it the request answers 503 with
``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from licensing_core.holdings import pending_queue
from licensing_core.identities import Identity
from licensing_core.plan_state import Outcome, PlanBook, merge_outcomes
from licensing_core.plans import Combination
from scimsrv.provisioning.rules import Rule, UserFacts, plans_named, requested_plans
from scimsrv.storage.plans import Lock

CHUNK = 500

# Decides from the tenant's rules whether a change of facts can matter at all.
Relevance = Callable[[list[Rule]], bool]


@dataclass(frozen=True)
class Subject:
    """A user whose plans may change: what the recompute needs of its user row."""

    id: str
    associate_id: int
    active: bool | None
    roles: Any
    user_name: str


def subjects(rows: Iterable[Any]) -> list[Subject]:
    """Subjects from rows with ``id, associate_id, active, roles, user_name``."""
    return [Subject(r.id, r.associate_id, r.active, r.roles, r.user_name) for r in rows]


def role_values(roles: Any) -> list[str]:
    """The values of a user's ``roles`` (RFC 7643 §4.1.2), as stored."""
    if not isinstance(roles, list):
        return []
    values = (role.get("value") if isinstance(role, dict) else role for role in roles)
    return [value for value in values if isinstance(value, str) and value]


def about_groups(groups: Iterable[tuple[str, str | None]]) -> Relevance | None:
    """The relevance of a membership change in ``groups`` ((displayName,
    externalId) pairs): None (certain) when one is named as plans, else
    "some rule names one of them"."""
    pairs = list(groups)
    if any(plans_named(name) is not None for name, _ in pairs):
        return None
    names = {name.casefold() for name, _ in pairs}
    external_ids = {ext for _, ext in pairs if ext}

    def relevant(rules: list[Rule]) -> bool:
        return any(rule.names_group(names, external_ids) for rule in rules)

    return relevant


def for_new_users(new: Sequence[Subject]) -> Relevance | None:
    """A user was created (in no group yet): it matters when a role is named
    as plans (certain) or the tenant has rules at all."""
    if any(plans_named(role) is not None for s in new for role in role_values(s.roles)):
        return None
    return bool


def recompute(
    tx,
    changed: Sequence[Subject],
    *,
    forget: Sequence[int] = (),
    relevance: Relevance | None = None,
) -> dict[int, Outcome]:
    """Recompute the plans of ``changed`` users (their facts changed and their
    user rows are locked) and release everything of the ``forget`` associates
    (about to be deleted), in ``tx``'s transaction.

    ``relevance`` None: the change surely matters; otherwise it is asked
    with the rules, under ``FOR KEY SHARE`` on the tenant row, and nothing
    more happens when it says no.

    :returns: the outcome of every associate whose plan state was evaluated
        (also noted in ``tx.journal`` for the audit entry).
    """
    if not changed and not forget:
        return {}
    if relevance is not None and not forget:
        rules = _rules(tx.storage.rules.lock_with_rules(Lock.FACTS))
        if not relevance(rules):
            return {}
    rules = _rules(tx.storage.rules.lock_with_rules(Lock.PLANS))
    book = tx.plan_book({s.associate_id: Identity(s.user_name, s.id) for s in changed})
    outcomes = book.apply(requests(tx, changed, rules), forget=forget)
    tx.journal.plans(outcomes)
    return outcomes


def recompute_tenant(tx, book: PlanBook, rules: list[Rule]) -> dict[int, Outcome]:
    """Every user of the tenant, a chunk at a time (the caller holds
    :attr:`Lock.TENANT`), then the waiting queue; the outcomes are noted in
    ``tx.journal`` too."""
    outcomes: dict[int, Outcome] = {}
    after = ""
    while chunk := tx.storage.users.facts_after(after, CHUNK):
        merge_outcomes(outcomes, book.apply(requests(tx, subjects(chunk), rules)))
        after = chunk[-1].id
    merge_outcomes(outcomes, book.serve_queue())
    tx.journal.plans(outcomes)
    return outcomes


def forget_tenant(tx, book: PlanBook) -> int:
    """Release every license of every user of the tenant through ``book`` (so
    the ledger records each release), a chunk at a time: the waiting users
    first, so no seat the others free goes to anyone. The caller holds
    :attr:`Lock.TENANT` and deletes the users next.

    :returns: the number of licenses released.
    """
    waiting = [holding.associate_id for holding in pending_queue(tx.session, tx.tenant_id)]
    chunks = [waiting[start : start + CHUNK] for start in range(0, len(waiting), CHUNK)]
    after = ""
    while rows := tx.storage.users.facts_after(after, CHUNK):
        chunks.append([row.associate_id for row in rows if row.associate_id not in waiting])
        after = rows[-1].id
    released = 0
    for chunk in chunks:
        outcomes = book.apply({}, forget=chunk) if chunk else {}
        released += sum(len(outcome.removed) for outcome in outcomes.values())
    return released


def requests(tx, changed: Sequence[Subject], rules: list[Rule]) -> dict[int, Combination]:
    """What each user's facts and the rules ask for, by associate id."""
    groups = tx.storage.groups.memberships([s.id for s in changed])
    return {
        s.associate_id: requested_plans(facts_of(s, groups.get(s.id, ())), rules) for s in changed
    }


def facts_of(subject: Subject, groups: Iterable[tuple[str, str | None]]) -> UserFacts:
    # Only an explicit active=false deactivates; unassigned counts as active.
    return UserFacts.of(subject.active is not False, groups, role_values(subject.roles))


def _rules(rows: list) -> list[Rule]:
    return [Rule.from_row(row) for row in rows]
