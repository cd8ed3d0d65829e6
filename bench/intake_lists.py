"""Staff list queries of intake at a million applications on PostgreSQL: the plan and the time of each.

Usage: .venv/bin/python bench/intake_lists.py [rows]
Needs a PostgreSQL the `cunban` role can create databases on (deploy/scripts/local-servers.sh start);
CUNBAN_BENCH_PG_URL overrides the server URL. Creates and drops its own database.
"""
from __future__ import annotations

import re
import sys
import time

from scratch import scratch_database  # bench/scratch.py, beside this script
from sqlalchemy import create_engine, text

from shared.migrate import upgrade

QUERIES = {
    "township, newest first": "township_code = '431099101' ORDER BY filed_at DESC, id DESC LIMIT 51",
    "township, page 20 (keyset)": "township_code = '431099101' AND (filed_at, id) < (now() - interval '300 days', 'z')"
                                  " ORDER BY filed_at DESC, id DESC LIMIT 51",
    "station": "station_code = 'ST7' ORDER BY filed_at DESC, id DESC LIMIT 51",
    "township + status": "township_code = '431099101' AND status = 'accepted' ORDER BY filed_at DESC, id DESC LIMIT 51",
    "mine": "accountable_staff_id = 6 ORDER BY filed_at DESC, id DESC LIMIT 51",
    "overdue": "township_code = '431099101' AND promised_deadline < current_date AND status NOT IN "
               "('refused','completed','delivered') ORDER BY filed_at DESC, id DESC LIMIT 51",
}


def main(rows: int) -> None:
    with scratch_database() as url:
        upgrade("intake", url)
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO applications (id, receipt_no, township_code, station_code, village_code, item_code,
                    item_name, item_kind, handling_level, promised_days, channel, status, filed_at, promised_deadline,
                    accountable_staff_id, materials_provided, applicant_name_enc, applicant_phone_enc,
                    applicant_id_card_enc, applicant_id_hash)
                SELECT md5(g::text), '4310991' || lpad((g % 30)::text, 2, '0') || '-x-' || g,
                    '4310991' || lpad((g % 30)::text, 2, '0'), 'ST' || g % 300, '431099101001', 'DB-001', 'x',
                    'promised', 'township', 20, 'station', (ARRAY['received','accepted','completed'])[1 + g % 3],
                    now() - (g || ' minutes')::interval, current_date - (g % 90), g % 500, '[]', 'k:x', 'k:x',
                    'k:x', md5(g::text)
                FROM generate_series(1, :rows) AS g"""), {"rows": rows})
            conn.execute(text("ANALYZE applications"))
        print(f"loaded {rows:,} applications in {time.perf_counter() - started:.1f} s\n")
        print(f"{'query':32} {'ms':>8}  plan")
        with engine.connect() as conn:
            for label, where in QUERIES.items():
                plan = list(conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM applications WHERE {where}"))
                            .scalars())
                took = next(float(m.group(1)) for line in plan if (m := re.search(r"Execution Time: ([\d.]+)", line)))
                access = next(line.strip().lstrip("-> ").split("  (")[0] for line in plan
                              if "Scan" in line)
                print(f"{label:32} {took:8.2f}  {access}")
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
