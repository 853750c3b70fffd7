"""Usage counting reports for pay-per-use billing, derived from the license ledger only.

Every figure of who held which plan comes from ``license_ledger`` (and who
waited for seats from ``plan_state_log``); both are append-only, so a report
over a past period gives the same numbers whenever it is run. The current
``licenseassoclink`` rows are never read.

What is counted (docs/licensing.md §3, approach 2):

* Plan links (``is_plan``, a base plan's module) with ``licenseNumber`` > 0.
  Grants and releases with ``licenseNumber`` 0 are ignored.
* Retired users are not counted: retiring a user writes release rows for all
  it held, so from that instant on it holds nothing. Nothing is looked up in
  ``associate`` (a later retirement must not rewrite an earlier period).
* A link is held over the half-open span [grant, release). An instant's count
  is taken after every ledger row stamped with that instant, so a transaction
  that releases and grants at once never shows as a spike.

Figures, per plan, per combination (the set of plans one user holds at once,
multi-plan users included) and for all plan holders together, over the
counted span [period start, min(period end, as_of)):

* ``in_use_at_end``: held at the end of the counted span (after every row
  stamped before it).
* ``peak``: the largest count at any instant.
* ``peak_day``: the largest end-of-day count (UTC days; for a day cut short by
  ``as_of``, the count at ``as_of``); ``peak_day_date`` is the first such day.
* ``average``: the time-weighted mean count, ``plan_days`` / length of the
  counted span in days, where ``plan_days`` is the total time the plan was
  held, in days (one user holding a plan for 12 hours adds 0.5).
* ``users``: distinct associates that held it for some time in the span.
* ``bought``: the seats of the license set in force at the end of the
  counted span, from the license history (approach 1 for ``user``/``web``;
  the plan's ``licenseNumber``), and ``bought_most``: the most in force at
  any moment of it, when a set was imported within it. A later import never
  changes a past period's figures (:mod:`licensing_core.license_history`).

A report says what it covers (``status``): ``complete``, ``in progress``
(counted until now), ``future`` or ``before the tenant existed`` (zeros
there mean nothing was counted, not that nothing was used). When the set
installed now fails verification, ``license_problems`` lists why: plans
granted from its rows have stopped working.

**Billable figure**: for each plan, ``peak_day``, i.e. the most licenses of
that plan held by active users at the close of any day of the period; the
tenant's billable total is their sum. Why this one: period-end counts can be
lowered by removing users just before the period closes; the instant peak
bills a whole period for a transient overlap (a user moved between two groups
by two IdP requests); the mean bills fractions of users and is hard to explain
user by user. The end-of-day peak is what was really in use, cannot be gamed
without removing users every evening, and ``--explain`` lists the users on
that day.

Users pending for lack of seats are read from ``plan_state_log``: those
pending at the end of the counted span (with what they asked for and why they
wait) and the number that waited at some time in it.

The package, one job a module:

* :mod:`~licensing_core.usage.report`: ``usage_report`` and ``tenant_period``,
  assembling a report from the parts below;
* :mod:`~licensing_core.usage.model`: the report's data types and their JSON;
* :mod:`~licensing_core.usage.names`: plan bits, combination names, what a
  figure name asks for;
* :mod:`~licensing_core.usage.tally`: the figures, in one streamed pass over
  the ledger;
* :mod:`~licensing_core.usage.intervals`: the counted ledger rows and the
  intervals each plan and combination was held (SQL window functions);
* :mod:`~licensing_core.usage.pending`: users pending for seats, from
  ``plan_state_log``;
* :mod:`~licensing_core.usage.explanation`: the users behind a figure
  (``--explain``);
* :mod:`~licensing_core.usage.sqltime`: datetimes into and out of the queries.
"""

from licensing_core.usage.explanation import ExplainRow, explain
from licensing_core.usage.model import (
    BEFORE_TENANT,
    BILLABLE_RULE,
    COMPLETE,
    FUTURE,
    IN_PROGRESS,
    LoginSeats,
    Pending,
    PendingUser,
    Usage,
    UsageReport,
)
from licensing_core.usage.names import (
    ALL_USERS,
    PENDING_USERS,
    PLAN_BITS,
    combination_name,
    explain_target,
)
from licensing_core.usage.pending import PENDING_LISTED
from licensing_core.usage.report import tenant_period, usage_report
from licensing_core.usage.tally import plans_held_at

__all__ = [
    "ALL_USERS",
    "BEFORE_TENANT",
    "BILLABLE_RULE",
    "COMPLETE",
    "FUTURE",
    "IN_PROGRESS",
    "PENDING_LISTED",
    "PENDING_USERS",
    "PLAN_BITS",
    "ExplainRow",
    "LoginSeats",
    "Pending",
    "PendingUser",
    "Usage",
    "UsageReport",
    "combination_name",
    "explain",
    "explain_target",
    "plans_held_at",
    "tenant_period",
    "usage_report",
]
