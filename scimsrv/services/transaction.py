"""Run a use case: one database transaction, the caller's token checked inside it,
its audit entry appended in it, aborts retried, lock waits bounded.

Every use case (a SCIM request, one operation of a ``/Bulk``, a rule change,
a license import, a CLI command) is a function of a :class:`Tx`; the
:class:`Service` runs it. The token check is the transaction's first
statement, so a revoked token is refused at once by every worker with no
cache to invalidate. A transaction PostgreSQL aborts for a deadlock or a
serialization failure, or whose connection dropped, runs again from the
start (at most :data:`ATTEMPTS` times, after a jittered pause); a lock or
connection wait that exceeds ``lock_timeout`` ends as :class:`Busy`.

A write that says where it comes from (``request``: an HTTP request, a
``/Bulk`` operation, a command) appends its audit entry
(:func:`scimsrv.services.audit.record`) as the transaction's last statement.
"""

from __future__ import annotations

import getpass
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from licensing_core.clock import Clock, utcnow
from licensing_core.db import Database, Failure, failure_kind
from licensing_core.errors import LicensingError, UnknownTenant
from licensing_core.identities import Identity
from licensing_core.plan_state import PlanBook
from licensing_core.signing import KeyRing
from licensing_core.tenants import is_tenant_id
from scimsrv.provisioning.decisions import Decision, decision
from scimsrv.scim.errors import ScimError
from scimsrv.services import audit, tokens
from scimsrv.services.audit import Journal, RequestInfo
from scimsrv.services.errors import Busy, Unauthorized
from scimsrv.services.observer import UNOBSERVED, Handling, Observer
from scimsrv.settings import Settings
from scimsrv.storage.protocol import Storage
from scimsrv.storage.sql import SqlStorage

T = TypeVar("T")
log = logging.getLogger("scimsrv")

ATTEMPTS = 5
BASE_PAUSE = 0.02  # seconds; doubled per attempt, with full jitter


@dataclass(frozen=True)
class Caller:
    """Who asks: the holder of a tenant's token (``owner`` = that tenant), of an
    operator token (``owner`` None), or the local operator at the command line
    (``local``: no token, the database itself is the credential)."""

    credential: str | None
    owner: str | None
    local: bool = False

    @property
    def missing(self) -> str:
        return "missing operator token" if self.owner is None else "missing bearer token"

    @property
    def invalid(self) -> str:
        return "invalid operator token" if self.owner is None else "invalid bearer token"


LOCAL = Caller(None, None, local=True)


def _local_actor() -> str:
    """``cli <login>`` for the operator at the command line."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        login = f"uid {os.getuid()}"
    return f"cli {login}"


LOCAL_ACTOR = _local_actor()


@dataclass(frozen=True)
class Tx:
    """One use case's transaction: its session (for the licensing core), the
    tenant it acts on, the moment it stamps on everything it writes, the
    cause the ledger records, the trusted license keys, the storage, who
    asked, and the journal of what it changed (its audit entry and its
    provisioning decisions)."""

    session: Session
    tenant_id: str
    at: datetime
    cause: str
    keyring: KeyRing
    storage: Storage
    # Who asked: "token <prefix> (<label>)", or the local operator.
    actor: str = ""
    journal: Journal = field(default_factory=Journal)

    def identify(self, associate_ids: Sequence[int]) -> Mapping[int, Identity]:
        """Who these associates are as SCIM knows them (userName, SCIM id),
        noted in the journal: the plan book asks only for those whose links
        or plan state change."""
        found = self.storage.users.identities(associate_ids)
        self.journal.identified(found)
        return found

    def plan_book(self, known: Mapping[int, Identity] | None = None) -> PlanBook:
        """A :class:`PlanBook` for this transaction that records who each
        associate is as SCIM knows them (userName, SCIM id); ``known``: the
        identities the caller has at hand, by associate id (the others are
        read when needed). Its outcomes join the journal (the recompute
        notes them there)."""
        given = dict(known or {})

        def identify(associate_ids: Sequence[int]) -> Mapping[int, Identity]:
            missing = [i for i in associate_ids if i not in given]
            found = {i: given[i] for i in associate_ids if i in given}
            self.journal.identified(found)
            return found | dict(self.identify(missing)) if missing else found

        return PlanBook(
            self.session,
            self.tenant_id,
            at=self.at,
            cause=self.cause,
            keyring=self.keyring,
            identify=identify,
        )

    @property
    def decided(self) -> list[Decision]:
        """The provisioning decisions of this transaction: one per user whose
        plans or state changed, from where it started to where it ended."""
        nobody = Identity("")
        return [
            decision(self.tenant_id, outcome, self.journal.identities.get(assoc_id, nobody))
            for assoc_id, outcome in self.journal.outcomes.items()
            if outcome.moved
        ]


class Service:
    """Runs use cases against one database (one per process, shared by threads),
    telling ``observer`` how it went."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock = utcnow,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.observer = observer

    @property
    def keyring(self) -> KeyRing:
        return self.settings.keyring()

    def run(
        self,
        work: Callable[[Tx], T],
        *,
        caller: Caller,
        tenant_id: str = "",
        cause: str = "",
        write: bool = True,
        dry_run: bool = False,
        request: RequestInfo | None = None,
    ) -> T:
        """``work`` in one transaction (rolled back when ``dry_run``), after
        checking ``caller``'s token in it; a write with a ``request`` appends
        its audit entry last, in the same transaction.

        :raises Unauthorized: the caller's token does not pass.
        :raises Busy: a lock wait ran out, or every attempt was aborted.
        """
        if not caller.local and not caller.credential:
            raise Unauthorized(caller.missing)
        tenant_known = not tenant_id or is_tenant_id(tenant_id)
        keyring = self.keyring
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._transaction(write, dry_run) as session:
                    storage = SqlStorage(session, tenant_id)
                    actor = LOCAL_ACTOR if caller.local else None
                    if actor is None:
                        actor = tokens.authenticate(
                            storage, caller.owner, caller.credential or "", write=write
                        )
                        if actor is None:
                            raise Unauthorized(caller.invalid)
                    if not tenant_known:  # no such tenant can exist: no query with it
                        raise UnknownTenant(f"no tenant {tenant_id!r}")
                    tx = Tx(session, tenant_id, self.clock(), cause, keyring, storage, actor)
                    self.observer.admitted(tx, caller)
                    result = work(tx)
                    if request is not None and write and not dry_run and not tx.journal.purged:
                        audit.record(tx, request)
                if not dry_run:
                    self.observer.committed(tx)
                return result
            except (DBAPIError, PoolTimeout) as exc:
                kind = failure_kind(exc)
                handling: Handling = (
                    "unexpected"
                    if kind is None
                    else "busy"
                    if kind is Failure.BUSY or attempt == ATTEMPTS
                    else "retried"
                )
                self.observer.database_failed(exc, handling)
                if kind is None:
                    raise
                if handling == "busy":
                    log.info("database busy (%s) on %s", kind.value, cause)
                    raise Busy("the database is busy; try again", self.retry_after) from exc
                log.info("retrying %s after %s (attempt %d)", cause, exc.__class__, attempt)
                time.sleep(random.uniform(0, BASE_PAUSE * 2**attempt))
        raise AssertionError("unreachable")

    def refused(
        self, caller: Caller, tenant_id: str, request: RequestInfo, status: int, error: str
    ) -> None:
        """Append the refusal of ``request`` (its write rolled back) to the
        tenant's audit log, in a transaction of its own, as ``caller``. A
        caller or tenant that does not pass, or a busy database, records
        nothing (anything unexpected is logged): the refusal is answered all
        the same."""
        try:
            self.run(
                lambda tx: audit.record_refusal(tx, request, status, error),
                caller=caller,
                tenant_id=tenant_id,
                cause="refusal",
            )
        except (Unauthorized, Busy, LicensingError, ScimError) as exc:
            log.info("refusal of %s not recorded: %s", request.path, exc.__class__.__name__)
        except Exception:  # a side record never turns the refusal into a 500
            log.exception("refusal of %s not recorded", request.path)

    def _transaction(self, write: bool, dry_run: bool):
        if dry_run:
            return self.db.dry_run()
        return self.db.write() if write else self.db.read()

    @property
    def retry_after(self) -> int:
        """Seconds a client should wait before trying again (``Retry-After``)."""
        return max(1, math.ceil(self.settings.lock_timeout))
