"""The Status tab's messages: what is wrong with the license set, and who waits for seats.

A license set that does not verify is one message, however many of its rows
fail: what fails and what follows (those licenses are not granted until a valid
set is imported),
with the failing licenses grouped by reason under it. The per-row reasons
stay on the rows themselves (struck through, the reason as their title).
Users pending for lack of seats are listed whatever the state of the set:
an invalid set is precisely when they pile up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from licensing_core.license_status import LicenseStatus
from licensing_core.plural import plural
from licensing_core.usage import Pending

SHOWN_PENDING = 10  # users named in the pending message
SHOWN_MODULES = 8  # licenses named per reason in the invalid-set message

ERROR, WARNING, OK = "error", "warning", "ok"


@dataclass(frozen=True)
class Message:
    """One message: ``kind`` error, warning or ok; ``details`` are shown folded under it."""

    kind: str
    text: str
    details: tuple[str, ...] = ()


def status_messages(status: LicenseStatus, pending: Pending) -> list[Message]:
    """Errors first, then warnings, then the users waiting; one ``ok`` message when
    there is nothing to say."""
    items = [] if status.valid else [invalid_set(status)]
    items += [Message(ERROR, text) for text in status.date_errors]
    items += [Message(WARNING, text) for text in status.warnings]
    if pending.at_end:
        items.append(_waiting(pending))
    return items or [Message(OK, "No problems: every license is valid and no user is waiting.")]


def invalid_set(status: LicenseStatus) -> Message:
    """The one message of a license set that does not verify (docs/licensing.md §3, signatures)."""
    if not status.verification.sets:
        return Message(ERROR, "No license set: no license works. Import one.")
    failing = [m for m in status.modules if m.problem]
    owners = [s for s in status.verification.sets if s.owner_problem]
    if owners:
        cause = "; ".join(f"owner {s.owner_name}'s signature: {s.owner_problem}" for s in owners)
    else:
        cause = "their signatures do not verify"
    text = (
        f"License set invalid: {plural(len(failing), 'license')} of {len(status.modules)} "
        f"not working ({cause}). None of them can be granted: users who need one wait "
        "until a valid license set is imported."
    )
    by_problem: dict[str, list[str]] = defaultdict(list)
    for module in failing:
        by_problem[module.problem].append(module.module_name)
    details = tuple(f"{problem}: {_names(names)}" for problem, names in by_problem.items())
    return Message(ERROR, text, details)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_MODULES])
    more = len(names) - SHOWN_MODULES
    return f"{shown} and {more} more" if more > 0 else shown


def _waiting(pending: Pending) -> Message:
    shown = pending.users[:SHOWN_PENDING]
    names = ", ".join(f"{p.name} ({p.requested})" for p in shown)
    more = pending.at_end - len(shown)
    tail = f" and {more} more" if more > 0 else ""
    waiting = plural(pending.at_end, "user")
    return Message(WARNING, f"{waiting} waiting for seats: {names}{tail}")
