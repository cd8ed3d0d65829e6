"""Evaluation's figures at ten million applications on PostgreSQL: how long the county's year, a
township's report, a ranking and a drill-down take when the store is that big.

Usage: .venv/bin/python bench/evaluation_scale.py [applications]
Needs a PostgreSQL the `cunban` role can create databases on (deploy/scripts/local-servers.sh start);
CUNBAN_BENCH_PG_URL overrides the server URL. Creates and drops its own database.

The store is loaded as evaluation would have built it (facts, then the daily totals of every unit),
with SQL rather than by replaying ten million events: 30 townships, 300 villages, 300 stations and
3,000 staff over four years; 95 % of applications completed, 90 % on time. The timings then call the
service's own use cases (the code behind GET /figures, /townships/{code}/report, /rankings and
/figures/records) in a warm database, 30 times each.
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, date, datetime

from scratch import scratch_database  # bench/scratch.py, beside this script
from sqlalchemy import create_engine, text

from services.evaluation.adapters import orm
from services.evaluation.service_layer import figures, rankings, reports
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase
from shared.migrate import upgrade

ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN)
TOWNSHIP = "431099107"
YEAR = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
FACTS = """
INSERT INTO facts (metric, ref, day, township_code, station_code, village_code, staff_id, value)
SELECT :metric, 'R' || g, DATE '2023-01-01' + (g % 1460) + :shift,
       '4310991' || lpad((g % 30)::text, 2, '0'), 'ST' || (g % 300),
       '4310991' || lpad((g % 30)::text, 2, '0') || lpad((g % 10 + 1)::text, 3, '0'), 1000 + g % 3000, :value
FROM generate_series(1, :rows) AS g WHERE g % 100 < :share"""
UNITS = {"county": "'county'", "township": "township_code", "station": "station_code", "village": "village_code",
         "staff": "staff_id::text"}


def load(url: str, rows: int) -> float:
    started = time.perf_counter()
    engine = create_engine(url)
    with engine.begin() as conn:
        indexes = [r[0] for r in conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN ('facts', 'daily_totals') AND indexname NOT LIKE "
            "'%pkey'"))]
        for name in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename IN ('facts', 'daily_totals')"
                                      " AND indexname NOT LIKE '%pkey'")).scalars():
            conn.execute(text(f'DROP INDEX "{name}"'))
        for metric, shift, value, share in (("received", "0", "1", 100), ("completed", "(g % 15)", "1", 95),
                                            ("on_time", "(g % 15)", "1", 90), ("working_days", "(g % 15)",
                                                                               "(g % 12)", 95)):
            conn.execute(text(FACTS.replace(":shift", shift).replace(":value", value)),
                         {"metric": metric, "rows": rows, "share": share})
        for level, unit in UNITS.items():
            conn.execute(text(f"""
                INSERT INTO daily_totals (level, unit, metric, day, total, records)
                SELECT '{level}', {unit}, metric, day, sum(value), count(*) FROM facts
                GROUP BY 2, metric, day"""))
            if level != "county":
                conn.execute(text(f"""INSERT INTO unit_townships (level, unit, township_code)
                    SELECT DISTINCT '{level}', {unit}, township_code FROM facts"""))
        for definition in indexes:
            conn.execute(text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        sizes = conn.execute(text("SELECT (SELECT count(*) FROM facts), (SELECT count(*) FROM daily_totals), "
                                  "pg_size_pretty(pg_database_size(current_database()))")).one()
    engine.dispose()
    print(f"loaded {rows:,} applications: {sizes[0]:,} facts, {sizes[1]:,} daily totals, {sizes[2]} "
          f"in {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


def timed(db: ServiceDatabase, label: str, call) -> None:
    samples = []
    for _ in range(30):
        uow = db.unit_of_work()
        started = time.perf_counter()
        call(uow)
        samples.append((time.perf_counter() - started) * 1000)
        uow.close()
    samples.sort()
    print(f"| {label} | {statistics.median(samples):.1f} ms | {samples[-2]:.1f} ms |")


def main(rows: int) -> None:
    with scratch_database() as url:
        upgrade("evaluation", url)
        load(url, rows)
        db = ServiceDatabase("evaluation", orm.Base.metadata, url)
        now = datetime(2026, 12, 31, 8, tzinfo=UTC)
        print("\n| use case (2026, a warm database) | p50 | p97 |\n| --- | --- | --- |")
        timed(db, "the county's figures for the year (GET /figures?level=county)",
              lambda uow: figures.figures(uow, caller=ADMIN, query=c.FiguresQuery(level=c.Level.COUNTY, **YEAR)))
        timed(db, "a township's figures for the year",
              lambda uow: figures.figures(uow, caller=ADMIN, query=c.FiguresQuery(level=c.Level.TOWNSHIP, unit=TOWNSHIP,
                                                                           **YEAR)))
        timed(db, "a township's report (10 stations, 10 villages, 100 staff, 12 months)",
              lambda uow: reports.township_report(uow, caller=ADMIN, now=now,
                                                  query=c.ReportQuery(township_code=TOWNSHIP, **YEAR)))
        timed(db, "ranking the township's 100 staff",
              lambda uow: rankings.ranking(uow, caller=ADMIN, query=c.RankingQuery(level=c.Level.STAFF,
                                                                                   township_code=TOWNSHIP, **YEAR)))
        timed(db, "ranking the county's 30 townships",
              lambda uow: rankings.ranking(uow, caller=ADMIN, query=c.RankingQuery(level=c.Level.TOWNSHIP, **YEAR)))
        timed(db, "drill-down: a station's completed applications, first 100",
              lambda uow: figures.records(uow, caller=ADMIN, query=c.RecordsQuery(
                  metric=c.Metric.COMPLETED, level=c.Level.STATION, unit="ST7", **YEAR)))
        db.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
