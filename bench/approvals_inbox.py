"""待办 at a million approval cases on PostgreSQL: the inbox use case as the console calls it (first page,
a page by cursor, with filters), timed end to end in the service layer (query, counts and case views).

Usage: .venv/bin/python bench/approvals_inbox.py [cases]
Needs a PostgreSQL the `cunban` role can create databases on (deploy/scripts/local-servers.sh start);
CUNBAN_BENCH_PG_URL overrides the server URL. Creates and drops its own database.
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from scratch import scratch_database  # bench/scratch.py, beside this script
from sqlalchemy import text

from services.approvals.adapters import orm
from services.approvals.service_layer import reading
from shared.contracts import approvals as c
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase
from shared.migrate import upgrade

WORKFLOW = ('{"warning_share": 0.75, "steps": [{"name": "review", "title": "乡镇审核", "roles": '
            '["department_staff", "supervisor", "township_cadre"], "level": "township", "limit_days": 20, '
            '"on_approve": "approved"}]}')
CADRE = Caller(staff_id=2, role=Role.TOWNSHIP_CADRE, township_code="431099101")
NOW = datetime(2026, 12, 3, 2, tzinfo=UTC)


def load(db: ServiceDatabase, cases: int) -> None:
    """`cases` over 30 townships and 12 villages each, a third of them open (waiting for the township's three
    roles, due over the past and coming 60 days), the rest closed."""
    with db.engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO cases (application_id, receipt_no, township_code, station_code, item_code, village_code,
                accountable_staff_id, workflow, promised_days, received_on, filed_at, status, step_index,
                extension_days, pauses, clock_seq, overall_due, step_due, updated_at)
            SELECT md5(g::text), '4310991' || lpad((g % 30)::text, 2, '0') || '-x-' || g,
                '4310991' || lpad((g % 30)::text, 2, '0'), 'ST' || g % 300, (ARRAY['DB-001','SP-008'])[1 + g % 2],
                '4310991' || lpad((g % 30)::text, 2, '0') || lpad((1 + g % 12)::text, 3, '0'), g % 500,
                '{WORKFLOW}', 20, current_date - (g % 120), now() - (g || ' minutes')::interval,
                CASE WHEN (g / 30) % 3 = 0 THEN 'in_review' ELSE 'completed' END, 0, 0, '[]', 1,
                CASE WHEN (g / 30) % 3 = 0 THEN current_date + (g % 120) - 60 END,
                CASE WHEN (g / 30) % 3 = 0 THEN current_date + (g % 120) - 60 END, now()
            FROM generate_series(1, :cases) AS g"""), {"cases": cases})
        conn.execute(text("""
            INSERT INTO waiting (application_id, role, township_code, station_code, due_on, warn_on, item_code,
                village_code, status, filed_at)
            SELECT application_id, r, township_code, NULL, overall_due, overall_due - 5, item_code, village_code,
                status, filed_at
            FROM cases, unnest(ARRAY['township_cadre', 'department_staff', 'supervisor']) AS r
            WHERE status = 'in_review'"""))
        conn.execute(text("ANALYZE"))


def timed(db: ServiceDatabase, runs: int = 20, **query) -> tuple[float, c.InboxPage]:
    took, page = [], None
    for _ in range(runs):
        started = time.perf_counter()
        page = reading.inbox(db.unit_of_work(), caller=CADRE, query=c.InboxQuery(**query), now=NOW)
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), page


def main(cases: int) -> None:
    with scratch_database() as url:
        upgrade("approvals", url)
        db = ServiceDatabase("approvals", orm.Base.metadata, url)
        started = time.perf_counter()
        load(db, cases)
        print(f"loaded {cases:,} cases in {time.perf_counter() - started:.1f} s\n")
        first_ms, first = timed(db, limit=20)
        print(f"{'inbox':36} {'median ms':>10}  rows  counts")
        print(f"{'first page (20)':36} {first_ms:10.1f}  {len(first.items):4}  {first.counts}")
        page, cursor = first, first.next_cursor
        for _ in range(20):  # twenty pages in
            page = reading.inbox(db.unit_of_work(), caller=CADRE, query=c.InboxQuery(limit=20, cursor=cursor), now=NOW)
            cursor = page.next_cursor
        deep_ms, deep = timed(db, limit=20, cursor=cursor)
        print(f"{'page 21 by cursor':36} {deep_ms:10.1f}  {len(deep.items):4}")
        for label, query in (("item filter", {"item_code": "SP-008"}), ("village filter",
                                                                        {"village_code": "431099101002"}),
                             ("stage filter (awaiting_supplement)", {"status": "awaiting_supplement"})):
            ms, found = timed(db, limit=20, **query)
            print(f"{label:36} {ms:10.1f}  {len(found.items):4}")
        db.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
