"""The SMS sender on PostgreSQL: how fast events become messages, and how many messages a second one sender
(and two side by side) sends through the `log` provider, with a large history of sent messages behind them
(the daily cap counts a phone's messages of the day; the due query must not slow as `messages` grows).

Usage: .venv/bin/python bench/sms_sender.py [history] [due]
Needs a PostgreSQL the `cunban` role can create databases on (deploy/scripts/local-servers.sh start);
CUNBAN_BENCH_PG_URL overrides the server URL. Creates and drops its own database.

The phone book here is a dict: in the running system each send also asks the service that keeps the phone
(one RPC, about a millisecond on a local broker: bench/broker_ceiling.py), and a real provider answers in
tens to hundreds of milliseconds, so the rate here is the sender's own ceiling, not the provider's.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from scratch import scratch_database  # bench/scratch.py, beside this script
from sqlalchemy import func, select, text

from services.notifications.adapters import orm
from services.notifications.adapters.providers import LogProvider
from services.notifications.domain import sending as s
from services.notifications.service_layer import sending
from shared.db import ServiceDatabase
from shared.migrate import upgrade
from shared.pii import PersonalDataVault
from shared.settings import DEVELOPMENT_PII_KEY

VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)
NOW = datetime(2026, 12, 3, 4, tzinfo=UTC)  # 12:00 in China, outside quiet hours
TOWNSHIPS = [f"4310991{n:02d}" for n in range(1, 31)]
VALUES = {"item": "最低生活保障", "receipt_no": "431099101-20261203-0001", "days": "20",
          "lookup_url": "https://cunban.example.gov.cn/q/431099101-20261203-0001"}


def load_history(db: ServiceDatabase, history: int) -> None:
    """`history` messages sent over the past 30 days to 50,000 phones: what a county's table holds."""
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO messages (send_key, event_id, kind, audience, recipient, county_code, township_code,
                values, text, segments, status, send_after, attempts, phone_hash, phone_masked, provider,
                provider_message_id, created_at, sent_at)
            SELECT md5('h' || g), md5('e' || g), 'application_filed', 'applicant', 'application:h' || g, '431099',
                '4310991' || lpad((1 + g % 30)::text, 2, '0'), '{}', '【村办】…', 1, 'sent',
                :now - (g % 43200 || ' minutes')::interval, 1, md5('p' || g % 50000), '138****0000', 'log',
                'log-' || g, :now - (g % 43200 || ' minutes')::interval, :now - (g % 43200 || ' minutes')::interval
            FROM generate_series(1, :history) AS g"""), {"history": history, "now": NOW})
        conn.execute(text("ANALYZE"))


def made(db: ServiceDatabase, count: int, tag: str) -> float:
    """Events become `count` messages (one transaction per event, as the handlers run): seconds taken."""
    started = time.perf_counter()
    for n in range(count):
        uow = db.unit_of_work()
        sending.notify(uow, event_id=f"{tag}{n}", kind="application_filed", recipient=f"application:{tag}{n}",
                       township_code=TOWNSHIPS[n % 30], values=VALUES, now=NOW)
        uow.commit()
        uow.close()
    return time.perf_counter() - started


def phone(recipient: str) -> str:
    return f"139{abs(hash(recipient)) % 10**8:08d}"


def sender(db: ServiceDatabase, provider: LogProvider, outcomes: list) -> None:
    """One sender as the service's timer runs it (`sending.send_due`), until nothing is due."""
    now = NOW + timedelta(seconds=1)
    while True:
        uow = db.unit_of_work()
        done = sending.send_due(uow, contacts=phone, providers=lambda _: provider, vault=VAULT,
                                clock=lambda: now).outcomes
        uow.close()
        if not done:
            return
        outcomes += done


def sent_by(db: ServiceDatabase, senders: int) -> tuple[float, list]:
    """What is due sent by `senders` senders side by side (threads, each with its own transactions)."""
    provider, outcomes = LogProvider(db), []
    threads = [threading.Thread(target=sender, args=(db, provider, outcomes)) for _ in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, outcomes


def due_ms(db: ServiceDatabase, runs: int = 20) -> float:
    took = []
    for _ in range(runs):
        uow = db.unit_of_work()
        started = time.perf_counter()
        sending.due(uow, now=NOW)
        took.append((time.perf_counter() - started) * 1000)
        uow.close()
    return statistics.median(took)


def main(history: int, due: int) -> None:
    with scratch_database() as url:
        upgrade("notifications", url)
        db = ServiceDatabase("notifications", orm.Base.metadata, url)
        started = time.perf_counter()
        load_history(db, history)
        print(f"loaded {history:,} sent messages in {time.perf_counter() - started:.1f} s\n")
        seconds = made(db, due, "m")
        print(f"events → messages: {due:,} in {seconds:.1f} s = {due / seconds:,.0f} a second (one sender)")
        print(f"due query (50 of {due:,} due, {history:,} sent behind): {due_ms(db):.1f} ms median of 20")
        for senders in (1, 2):
            if senders > 1:
                made(db, due, f"s{senders}-")
            seconds, outcomes = sent_by(db, senders)
            sent = outcomes.count(s.Status.SENT)
            print(f"{senders} sender(s): {sent:,} sent in {seconds:.1f} s = {sent / seconds:,.0f} a second; "
                  f"{outcomes.count(None)} skipped (another sender had it)")
        with db.sessions() as session:
            logged = session.execute(select(func.count()).select_from(orm.LoggedSmsRow)).scalar_one()
            waiting = session.execute(select(func.count()).select_from(orm.MessageRow)
                                      .where(orm.MessageRow.status != "sent")).scalar_one()
        print(f"\nthe provider's log holds {logged:,} (each message once); not sent: {waiting:,}")
        db.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 5_000)
