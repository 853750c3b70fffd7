"""Usage report at scale: one tenant, 100k users, ~1M ledger rows, on SQLite and PostgreSQL.

Builds the tenant with bulk inserts straight into the tables (sqlite3
``executemany``, PostgreSQL ``COPY``): a pay-per-use license set
(unrestricted), ``--users`` associates, and per user a year of plan holdings
with the hidden ``user``/``web`` rows a real grant writes, some links with
licenseNumber 0, and a pending spell for a few users. Then it times the
monthly, quarterly and yearly reports and one ``--explain``, and prints the
figures and the ratio PostgreSQL/SQLite. Not part of the test run.

    .venv/bin/python bench/report_scale.py [--users 100000] [--postgres URL] [--no-postgres]

The PostgreSQL database is created fresh and dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from licensing_core.db import Database, normalize_url
from licensing_core.license_set import load_default
from licensing_core.plans import BASE_PLANS
from licensing_core.tables import ModuleLicense
from licensing_core.tenants import create_tenant
from licensing_core.usage import explain, usage_report
from scimsrv.storage import schema

TENANT = "bench"
YEAR_START = datetime(2026, 1, 1)
SECONDS_PER_YEAR = 365 * 86_400
PLAN_SPELLS = 4  # plan holdings per user over the year
MAX_SECONDS = 900  # the whole bench gives up after this
AS_OF = datetime(2027, 6, 1)


def _stamp(moment: datetime) -> str:
    # The text SQLAlchemy stores for a DateTime on SQLite.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def history(users: int, modules: dict[str, int], seed: int = 6):
    """Yield ledger rows (at, event, module_id, module_name, is_plan, assoc, number, cause)."""
    rng = random.Random(seed)
    plans = [p.module_name for p in BASE_PLANS]
    for assoc in range(1, users + 1):
        first = YEAR_START + timedelta(seconds=rng.randrange(SECONDS_PER_YEAR // 4))
        last = YEAR_START + timedelta(
            seconds=rng.randrange(SECONDS_PER_YEAR // 2, SECONDS_PER_YEAR)
        )
        leaves = rng.random() < 0.3
        # Some users hold two plans at once (multi-plan users): their spells overlap.
        overlap = 2 if rng.random() < 0.4 else 1
        for name in ("user", "web"):
            yield first, "grant", modules[name], name, False, assoc, 1, "bench"
        span = (last - first).total_seconds()
        for spell in range(PLAN_SPELLS):
            # Two steps along the catalog is always another solution: a valid combination.
            name = plans[(assoc + 2 * spell) % len(plans)]
            a = first + timedelta(seconds=int(span * spell / PLAN_SPELLS))
            end = min(spell + overlap, PLAN_SPELLS)
            b = first + timedelta(seconds=int(span * end / PLAN_SPELLS))
            number = 0 if rng.random() < 0.02 else 1
            yield a, "grant", modules[name], name, True, assoc, number, "bench"
            if leaves or spell < PLAN_SPELLS - 1:
                yield b, "release", modules[name], name, True, assoc, number, "bench"
        if leaves:
            for name in ("user", "web"):
                yield last, "release", modules[name], name, False, assoc, 1, "bench"


def pending_log(users: int, seed: int = 7):
    rng = random.Random(seed)
    for assoc in range(1, users + 1, 20):
        since = YEAR_START + timedelta(seconds=rng.randrange(SECONDS_PER_YEAR))
        yield since, assoc, "pending", "Sales-Premium", "Sales-Premium: no free seat"
        yield since + timedelta(days=rng.randrange(1, 40)), assoc, "licensed", "Sales-Premium", ""


def build(db: Database, users: int) -> int:
    spec = load_default().with_seats({p.name: 1_000_000 for p in BASE_PLANS}, unrestricted=True)
    with db.write() as session:
        create_tenant(session, TENANT, "Bench AS", at=YEAR_START, license_set=spec)
    with db.read() as session:
        modules = dict(
            session.execute(
                select(ModuleLicense.module_name, ModuleLicense.id).where(
                    ModuleLicense.tenant_id == TENANT
                )
            ).all()
        )
    stamp = _stamp(YEAR_START)
    associates = (
        (assoc, TENANT, f"user{assoc}", f"user{assoc}", 1, False, stamp, 0, 0, 0)
        for assoc in range(1, users + 1)
    )
    ledger = (
        (TENANT, _stamp(at), event, mid, name, plan, assoc, n, cause)
        for at, event, mid, name, plan, assoc, n, cause in sorted(
            history(users, modules), key=lambda row: row[0]
        )
    )
    log = (
        (TENANT, _stamp(at), assoc, state, requested, reason)
        for at, assoc, state, requested, reason in sorted(pending_log(users))
    )
    cols_a = (
        'associate_id, tenant_id, name, "userName", type, deleted, registered, '
        'registered_associate_id, updated_associate_id, "updatedCount"'
    )
    cols_l = (
        'tenant_id, at, event, "moduleLicense_id", "moduleName", is_plan, assoc_id, '
        '"licenseNumber", cause'
    )
    cols_p = "tenant_id, at, associate_id, state, requested, reason"
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.executemany(
                f"INSERT INTO associate ({cols_a}) VALUES (?,?,?,?,?,?,?,?,?,?)", associates
            )
            cursor.executemany(
                f"INSERT INTO license_ledger ({cols_l}) VALUES (?,?,?,?,?,?,?,?,?)", ledger
            )
            cursor.executemany(f"INSERT INTO plan_state_log ({cols_p}) VALUES (?,?,?,?,?,?)", log)
        else:
            for table, cols, rows in (
                ("associate", cols_a, associates),
                ("license_ledger", cols_l, ledger),
                ("plan_state_log", cols_p, log),
            ):
                with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        raw.commit()
        cursor.execute("SELECT count(*) FROM license_ledger")
        count = cursor.fetchone()[0]
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return count


def timed(label: str, fn):
    began = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - began
    print(f"  {label:<34} {elapsed:7.2f} s")
    return result, elapsed


def run(db: Database, name: str, users: int) -> dict[str, float]:
    print(f"{name}:")
    schema.upgrade(db.engine)
    rows, build_s = timed(f"build {users} users", lambda: build(db, users))
    print(f"  ledger rows: {rows}")
    figures = {"build": build_s}
    for label in ("2026-10", "2026-Q4", "2026"):
        with db.read() as session:
            report, seconds = timed(
                f"report {label}",
                lambda label=label: usage_report(session, TENANT, label, as_of=AS_OF),
            )
        figures[label] = seconds
        print(
            f"    billable {report.billable}, users at end {report.all_users.in_use_at_end}, "
            f"peak {report.all_users.peak}, pending at end {report.pending.at_end}, "
            f"combinations {len(report.combinations)}"
        )
    with db.read() as session:
        # Python heap of the yearly report, in a run of its own (tracemalloc slows it down).
        tracemalloc.start()
        usage_report(session, TENANT, "2026", as_of=AS_OF)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    print(f"  python heap peak, report 2026      {peak_mb:7.1f} MB")
    with db.read() as session:
        period = usage_report(session, TENANT, "2026-10", as_of=AS_OF).period
        count, seconds = timed(
            "explain Sales-Premium 2026-10",
            lambda: sum(1 for _ in explain(session, TENANT, period, "Sales-Premium", as_of=AS_OF)),
        )
    print(f"    {count} rows explained")
    figures["explain"] = seconds
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.users <= 1_000_000:
        parser.error("--users must be 1..1000000")
    deadline = time.monotonic() + MAX_SECONDS
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{tmp}/bench.db")
        try:
            results["sqlite"] = run(db, "SQLite", args.users)
        finally:
            db.dispose()
    if not args.no_postgres and time.monotonic() < deadline:
        admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
        name = f"scimsrv_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(normalize_url(args.postgres)).set(database=name)
            db = Database.from_url(url)
            try:
                results["postgres"] = run(db, "PostgreSQL", args.users)
            finally:
                db.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if len(results) == 2:
        print("PostgreSQL / SQLite time ratio:")
        for key in results["sqlite"]:
            ratio = results["postgres"][key] / results["sqlite"][key]
            print(f"  {key:<10} {ratio:5.2f}")


if __name__ == "__main__":
    main()
