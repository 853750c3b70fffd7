"""The provisioning and audit log (docs/audit-log.md): one entry per write of a
tenant, appended in the write's own transaction, and the reads of it.

While a use case runs, its :class:`Journal` (``tx.journal``) gathers what
changed: the resources it acted on (its one call to :meth:`Journal.resource`
or :meth:`Journal.detail`), the users whose memberships changed, and the
plan outcomes and identities the plan recompute hands back.
:meth:`scimsrv.services.transaction.Service.run` then calls :func:`record`
once, at the end of the use case, in its transaction: a write that rolls
back (an error, a dry run) leaves nothing. A write the service refuses over
HTTP (a 4xx) leaves an entry of its own, with the status and error and no
changes (:func:`record_refusal`, in a transaction of its own).

No entry ever holds a token: requests are recorded without their query
string or headers, and anything shaped like a token is cut to its prefix.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from licensing_core.identities import Identity
from licensing_core.plan_state import Outcome, merge_outcomes
from licensing_core.plans import plan_for_module
from licensing_core.tenants import get_tenant
from licensing_core.text import UNSTORABLE
from scimsrv.scim.errors import ScimError
from scimsrv.services.tokens import MARKER, PREFIX_LENGTH
from scimsrv.storage import audit as stored

# How a member's membership changed; the third: the group's name or
# externalId changed, which rules match on.
GROUP_CHANGED = "group changed"
MEMBER_CHANGES = {"added": "added", "removed": "removed", GROUP_CHANGED: "whose group changed"}
# Users listed per entry (members changed, plan changes); an entry says how
# many more there were. Every link change stays in the license ledger.
MAX_LISTED = 1000
MAX_COUNT = 1000
DEFAULT_COUNT = 100
# A token is longer than its shown prefix: anything longer is cut to it.
_LONGER = PREFIX_LENGTH - len(MARKER) + 1
_TOKEN = re.compile(re.escape(MARKER) + f"[A-Za-z0-9_-]{{{_LONGER},}}")
_AGO = re.compile(r"^(\d{1,6})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def redact(text: str) -> str:
    """``text`` fit to store: every token in it cut to the prefix ``token
    list`` shows, NUL and lone surrogates (a refused request may carry them;
    neither database stores them) replaced by U+FFFD."""
    text = _TOKEN.sub(lambda m: m.group(0)[:PREFIX_LENGTH] + "...", text)
    return UNSTORABLE.sub("\ufffd", text)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(key)): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


@dataclass(frozen=True)
class RequestInfo:
    """Where a write came from: an HTTP request (``method``, ``path`` without
    its query string, ``request_id`` from ``X-Request-Id``; for one operation
    of a ``/Bulk``, its own method and path, ``bulk_id`` and its position
    ``operation``, 0-based) or a ``command`` line (``scimsrv rules add``)."""

    method: str | None = None
    path: str | None = None
    request_id: str | None = None
    bulk_id: str | None = None
    operation: int | None = None
    command: str | None = None

    def as_json(self) -> dict[str, Any]:
        names = {"request_id": "requestId", "bulk_id": "bulkId"}
        fields = {names.get(key, key): value for key, value in asdict(self).items()}
        if isinstance(fields.get("path"), str):
            fields["path"] = fields["path"][:255]
        return _redacted({key: value for key, value in fields.items() if value is not None})


@dataclass
class Journal:
    """What one use case changed, gathered as it runs (``tx.journal``)."""

    # (type, id) -> {"type", "id", "name"[, "previousName"]}
    resources: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # users whose group memberships changed: SCIM id -> userName
    members: dict[str, str] = field(default_factory=dict)
    # how: SCIM id -> "added" or "removed" (absent: the group itself changed)
    member_changes: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    identities: dict[int, Identity] = field(default_factory=dict)
    # The write removed every row of the tenant: no entry may be left behind.
    purged: bool = False
    # The tenant a write whose request names none acts on (a tenant's
    # creation through ``POST /admin/v1/tenants``): its entry goes there.
    tenant: str = ""

    def resource(self, kind: str, resource_id: str, name: str) -> None:
        """The write acts on this ``User`` or ``Group``; called again after a
        rename, the entry keeps the name before as ``previousName``."""
        entry = self.resources.setdefault((kind, resource_id), {"type": kind, "id": resource_id})
        if entry.get("name", name) != name:
            entry.setdefault("previousName", entry["name"])
        entry["name"] = name

    def membership_change(self, *, added: Iterable[str] = (), removed: Iterable[str] = ()) -> None:
        """These users (SCIM ids) were added to or removed from the group the
        write acts on; one added and removed in the same write counts as the
        last."""
        for user_id in added:
            self.member_changes[user_id] = "added"
        for user_id in removed:
            self.member_changes[user_id] = "removed"

    def membership(self, users: Iterable[Any]) -> None:
        """These users (rows with ``id``, ``user_name``) joined or left a group."""
        self.members.update((user.id, user.user_name) for user in users)

    def detail(self, key: str, value: Any) -> None:
        """A fact of the write that is not a SCIM resource (a rule list, a
        license set, a token, a tenant), as JSON."""
        self.details[key] = value

    def plans(self, outcomes: Mapping[int, Outcome]) -> None:
        """Outcomes of :meth:`licensing_core.plan_state.PlanBook.apply`."""
        merge_outcomes(self.outcomes, outcomes)

    def identified(self, identities: Mapping[int, Identity]) -> None:
        """Who the associates whose links or plan state changed are."""
        self.identities.update(identities)


def _plan_change(outcome: Outcome, identity: Identity) -> dict[str, Any]:
    change = {
        "userName": identity.user_name,
        "id": identity.scim_id,
        "associateId": outcome.assoc_id,
        "before": outcome.granted_before,
        "after": outcome.granted.name,
        "requested": outcome.requested.name,
        "stateBefore": outcome.state_before,
        "state": outcome.state,
        "licensesAdded": list(outcome.added),
        "licensesRemoved": list(outcome.removed),
    }
    if outcome.reason:
        change["reason"] = outcome.reason
    return change


def changes(journal: Journal) -> tuple[dict[str, Any], list[str]]:
    """The entry's ``changes`` and ``user_keys`` from what ``journal`` gathered."""
    found: dict[str, Any] = {}
    users: dict[str, list[str]] = {}  # SCIM id -> names it was known by
    if journal.resources:
        found["resources"] = list(journal.resources.values())
        for item in found["resources"]:
            if item["type"] == "User":
                names = [item["name"], item.get("previousName", item["name"])]
                users.setdefault(item["id"], []).extend(names)
    if journal.members:
        listed = sorted(journal.members.items(), key=lambda pair: pair[1].casefold())
        found["members"] = [
            {"id": i, "userName": name, "change": journal.member_changes.get(i, GROUP_CHANGED)}
            for i, name in listed[:MAX_LISTED]
        ]
        for user_id, name in listed[:MAX_LISTED]:
            users.setdefault(user_id, []).append(name)
        if len(listed) > MAX_LISTED:
            found["membersNotListed"] = len(listed) - MAX_LISTED
    # Outcomes whose plans or state did not move named nobody: nothing to say.
    moved = [o for o in journal.outcomes.values() if o.assoc_id in journal.identities]
    if moved:
        moved.sort(key=lambda o: (journal.identities[o.assoc_id].user_name.casefold(), o.assoc_id))
        found["plans"] = [
            _plan_change(o, journal.identities[o.assoc_id]) for o in moved[:MAX_LISTED]
        ]
        for change in found["plans"]:
            if change["id"]:
                users.setdefault(change["id"], []).append(change["userName"])
        if len(moved) > MAX_LISTED:
            found["plansNotListed"] = len(moved) - MAX_LISTED
        seats: Counter[str] = Counter()
        for outcome in moved:
            seats.update({name: 1 for name in outcome.added})
            seats.subtract({name: 1 for name in outcome.removed})
        moved_seats = {name: delta for name, delta in sorted(seats.items()) if delta}
        if moved_seats:
            found["seats"] = moved_seats
    found.update(journal.details)
    keys = {key for user_id, names in users.items() for key in (user_id, *names)}
    return _redacted(found), sorted({redact(key.casefold()) for key in keys})


def record(tx, request: RequestInfo) -> None:
    """Append the entry of the write ``tx`` just made (one INSERT), in its
    transaction, to the log of its tenant (or of the one it created). A write
    that concerns no tenant (an operator token's) is in no tenant's log."""
    tenant_id = tx.tenant_id or tx.journal.tenant
    if not tenant_id:
        return
    found, keys = changes(tx.journal)
    tx.storage.audit.append(_values(tx, request, found, keys), tenant_id=tenant_id)


def record_refusal(tx, request: RequestInfo, status: int, error: str) -> None:
    """Append the refusal of a write (the write itself rolled back): its
    request, status and error, no changes.

    :raises UnknownTenant: no such tenant (nothing is recorded).
    """
    get_tenant(tx.session, tx.tenant_id)
    values = _values(tx, request, {}, [])
    tx.storage.audit.append(values | {"status": status, "error": redact(error)[:1024]})


def _values(tx, request: RequestInfo, found: dict, keys: list[str]) -> dict[str, Any]:
    return {
        "at": tx.at,
        "actor": redact(tx.actor)[:255],
        "request": request.as_json(),
        "status": None,
        "error": None,
        "changes": found,
        "user_keys": keys,
    }


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Entry:
    """One entry as the log shows it: ``id`` (its number), ``at`` (naive UTC),
    ``actor``, ``request``, ``status`` and ``error`` (a refusal; None when the
    write succeeded), ``changes``."""

    id: int
    at: datetime
    actor: str
    request: dict[str, Any]
    status: int | None
    error: str | None
    changes: dict[str, Any]

    @property
    def outcome(self) -> str:
        return "success" if self.status is None else "failure"

    def as_json(self) -> dict[str, Any]:
        """The entry's JSON (admin API, ``scimsrv log --format json``)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "actor": self.actor,
            "request": self.request,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "changes": self.changes,
        }


@dataclass(frozen=True)
class LogRequest:
    """Which entries to list, newest first (docs/audit-log.md): ``user`` (a SCIM
    id or userName), ``since``/``until`` (ISO 8601 date or time, UTC unless
    it says otherwise, or an age: ``30m``, ``12h``, ``7d``), and a page:
    ``cursor`` (from a previous page) or ``start_index`` (1-based), at most
    ``count`` entries (1..1000)."""

    user: str | None = None
    since: str | None = None
    until: str | None = None
    cursor: str | None = None
    start_index: int | None = None
    count: int = DEFAULT_COUNT


@dataclass(frozen=True)
class LogPage:
    """``entries`` newest first; ``total`` entries match the filters;
    ``next_cursor`` continues after the last one (None: no more)."""

    entries: list[Entry]
    total: int
    start_index: int | None
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        """The page's JSON (admin API, ``scimsrv log --format json``)."""
        return {
            "totalResults": self.total,
            "itemsPerPage": len(self.entries),
            "startIndex": self.start_index,
            "nextCursor": self.next_cursor,
            "entries": [entry.as_json() for entry in self.entries],
        }


def moment(text: str, now: datetime) -> datetime:
    """A filter's instant (naive UTC): an ISO 8601 date or time, or an age
    (``30m``, ``12h``, ``7d``) before ``now``.

    :raises ScimError: 400 ``invalidValue`` for anything else.
    """
    age = _AGO.match(text.strip())
    if age:
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ScimError(
            400, f"{text!r} is neither an ISO 8601 date or time nor an age like 7d", "invalidValue"
        ) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def encode_cursor(entry_id: int) -> str:
    raw = json.dumps({"before": entry_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry number a cursor continues below.

    :raises ScimError: 400 ``invalidCursor`` when it is not one of ours.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        before = json.loads(raw)["before"]
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ScimError(400, "the cursor is not valid", "invalidCursor") from exc
    if isinstance(before, bool) or not isinstance(before, int) or not 0 < before < 2**63:
        raise ScimError(400, "the cursor is not valid", "invalidCursor")
    return before


def _query(tx, wanted: LogRequest) -> stored.Query:
    if not 1 <= wanted.count <= MAX_COUNT:
        raise ScimError(400, f"count must be between 1 and {MAX_COUNT}", "invalidValue")
    if wanted.cursor is not None and wanted.start_index is not None:
        raise ScimError(400, "send a cursor or a startIndex, not both", "invalidValue")
    if wanted.start_index is not None and not 1 <= wanted.start_index <= 2**31:
        raise ScimError(400, "startIndex must be 1 or more", "invalidValue")
    keys: tuple[str, ...] = ()
    if wanted.user is not None:
        keys = tuple(sorted(tx.storage.audit.user_keys(wanted.user)))
    return stored.Query(
        user_keys=keys,
        since=moment(wanted.since, tx.at) if wanted.since else None,
        until=moment(wanted.until, tx.at) if wanted.until else None,
        before=decode_cursor(wanted.cursor) if wanted.cursor else None,
        offset=(wanted.start_index or 1) - 1,
        limit=wanted.count,
    )


def log_page(tx, wanted: LogRequest) -> LogPage:
    """A page of ``tx.tenant_id``'s log, newest first.

    :raises UnknownTenant: no such tenant.
    :raises ScimError: 400 for a bad filter, count, startIndex or cursor.
    """
    get_tenant(tx.session, tx.tenant_id)
    query = _query(tx, wanted)
    rows = tx.storage.audit.entries(query)
    entries = [Entry(*row) for row in rows]
    full = len(entries) == query.limit
    return LogPage(
        entries,
        tx.storage.audit.count(query),
        None if wanted.cursor else query.offset + 1,
        encode_cursor(entries[-1].id) if full else None,
    )


def recent(tx, user_id: str, limit: int = 10) -> list[Entry]:
    """The ``limit`` newest entries of ``tx.tenant_id`` that concern the user
    with this SCIM id (its own writes, its group memberships, its plans),
    newest first: for pages that show a user's recent changes."""
    keys = tuple(sorted(tx.storage.audit.user_keys(user_id)))
    rows = tx.storage.audit.entries(stored.Query(user_keys=keys, limit=limit))
    return [Entry(*row) for row in rows]


def prune(tx, days: int) -> int:
    """Retention: delete every tenant's entries written more than ``days``
    days before ``tx.at`` (0: keep everything), except each tenant's newest;
    how many went. The one way entries are ever deleted."""
    if days == 0:
        return 0
    return stored.prune(tx.session, tx.at - timedelta(days=days))


def summary(changes: dict) -> list[str]:
    """What an entry's ``changes`` say, a line per fact (the log command and the
    Licenses page show these)."""
    lines = []
    for resource in changes.get("resources", []):
        renamed = f", was {resource['previousName']}" if "previousName" in resource else ""
        lines.append(f"{resource['type']} {resource['name']} ({resource['id']}{renamed})")
    by_change: dict[str | None, list[str]] = {}
    for member in changes.get("members", []):
        by_change.setdefault(member.get("change"), []).append(member["userName"])
    for change, names in by_change.items():
        # Entries written before members said how name them as memberships.
        label = f"members {MEMBER_CHANGES[change]}" if change in MEMBER_CHANGES else "memberships"
        lines.append(f"{label}: " + ", ".join(names))
    if changes.get("membersNotListed"):
        lines.append(f"and {changes['membersNotListed']} more members")
    for plan in changes.get("plans", []):
        reason = f": {plan['reason']}" if "reason" in plan else ""
        before, after = plan["before"] or "(none)", plan["after"] or "(none)"
        lines.append(f"{plan['userName']}: {before} -> {after}, {plan['state']}{reason}")
    if changes.get("plansNotListed"):
        lines.append(f"and {changes['plansNotListed']} more plan changes")
    seats = changes.get("seats", {})
    plans = [f"{module} {delta:+d}" for module, delta in seats.items() if plan_for_module(module)]
    if seats:
        implied = len(seats) - len(plans)
        lines.append("seats: " + ", ".join(plans + [f"{implied} implied licenses"] * bool(implied)))
    if "rules" in changes:
        before, after = changes["rules"]["before"], changes["rules"]["after"]
        lines.append(f"rules: {len(before)} -> {len(after)}")
        for rule in after:
            disabled = "" if rule["enabled"] else " [disabled]"
            lines.append(f"  {rule['position']}. {rule['rule']}{disabled}")
    if "licenseSet" in changes:
        licenses = changes["licenseSet"]
        lines.append(f"license set {licenses['owner']} {licenses['serialNumber']}")
        lines += [f"  {s['module']}: {s['before']} -> {s['after']}" for s in licenses["seats"]]
    if "token" in changes:
        token = changes["token"]
        verb = "issued" if "issued" in token else "revoked"
        lines.append(
            f"token {verb} {token[verb]}" + (f" ({token['label']})" if token["label"] else "")
        )
    if "tenant" in changes:
        lines += _tenant_lines(changes["tenant"])
    return lines


def _tenant_lines(tenant: dict) -> list[str]:
    """A tenant's creation, change, suspension, resumption or deletion."""
    if "created" in tenant:
        return [
            f"tenant created {tenant['created']}"
            + (f" ({tenant['name']})" if tenant["name"] else "")
        ]
    if "deleted" in tenant:
        removed = ", ".join(
            f"{label}: {tenant[key]}"
            for label, key in (
                ("licenses released", "licensesReleased"),
                ("users", "users"),
                ("groups", "groups"),
                ("live tokens", "liveTokens"),
            )
        )
        return [f"tenant deleted {tenant['deleted']} ({removed})"]
    verb = next(key for key in ("changed", "suspended", "resumed") if key in tenant)
    moved = [
        f"{key} {change['before']!r} -> {change['after']!r}"
        for key, change in tenant.get("fields", {}).items()
    ]
    return [f"tenant {verb} {tenant[verb]}" + (": " + ", ".join(moved) if moved else "")]
