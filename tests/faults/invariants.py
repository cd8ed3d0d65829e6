"""What must hold once the system has caught up, checked against the gateway's acknowledged answers and
against what each service stored (read straight from its database, not through the system's own API)."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from cunban.registry import SERVICES, service_class
from tests.faults.deployment import Deployment
from tests.faults.traffic import Ledger

INBOX = "SELECT event_id FROM inbox WHERE handler = :h"
# where a handler that keeps no inbox (once=False: idempotent by itself) keeps the ids of the events it applied
APPLIED_WITHOUT_INBOX = {"evaluation": "SELECT event_id FROM event_log WHERE source = :s AND event_type = :t"}


def subscriptions() -> list[tuple[str, str, str, str, Any, str]]:
    """(consumer, handler, source, event type, which payloads concern it or None, the query of the event ids
    it applied) of every event handler of one service's events by another that keeps an inbox, or keeps
    the events it applied elsewhere."""
    found = []
    for consumer in SERVICES:
        cls = service_class(consumer)
        for name in dir(cls):
            subscription = getattr(getattr(cls, name), "subscription", None)
            if subscription is None or subscription[0] not in SERVICES:
                continue
            source, event_type, once, when = subscription
            applied = INBOX if once else APPLIED_WITHOUT_INBOX.get(consumer)
            if applied:
                found.append((consumer, f"{consumer}.{name}", source, event_type, when, applied))
    return found


def _rows(deployment: Deployment, service: str, sql: str, **params: Any) -> list[Any]:
    with deployment.engine(service).connect() as connection:
        return list(connection.execute(text(sql), params))


def wait_for_quiescence(deployment: Deployment, rabbit_api: str, vhost: str, timeout: float = 120) -> float:
    """Until every outbox is published, every queue is empty and unacknowledged-free and no SMS is due
    unsent, twice in a row a second apart; returns the seconds it took."""
    started = time.monotonic()
    url = httpx.URL(rabbit_api)
    auth = (url.username or "guest", url.password or "guest")
    queues_url = f"{url.scheme}://{url.host}:{url.port}/api/queues/{vhost}"
    quiet_in_a_row = 0
    last: Any = None
    while time.monotonic() - started < timeout:
        try:
            backlog = {s: _rows(deployment, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
                       for s in SERVICES}
            queues = httpx.get(queues_url, auth=auth, timeout=5).json()
            busy = {q["name"]: q.get("messages", 0) for q in queues if q.get("messages", 0)}
            # an SMS cut off mid-send by the fault is sent again when its lease ends
            busy["sms due"] = _rows(deployment, "notifications",
                                    "SELECT count(*) FROM messages WHERE status = 'sending' "
                                    "OR (status = 'waiting' AND send_after <= :now)", now=datetime.now(UTC))[0][0]
            # audit entries the gateway keeps until the broker confirmed them
            busy["audit entries spooled"] = deployment.audit_spooled()
            busy = {name: n for name, n in busy.items() if n}
            last = (backlog, busy)
            quiet = not any(backlog.values()) and not busy and all("messages" in q for q in queues)
        except Exception as exc:  # a server still coming back
            last, quiet = exc, False
        quiet_in_a_row = quiet_in_a_row + 1 if quiet else 0
        if quiet_in_a_row >= 2:
            return time.monotonic() - started
        time.sleep(1.0)
    raise AssertionError(f"the system did not catch up within {timeout:.0f}s: {last!r}")


@dataclass
class Report:
    """Counts of one check (the figures docs/RELIABILITY.md reports) and what went wrong."""

    counts: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.counts.items())


def check(deployment: Deployment, ledger: Ledger, *, counties: bool = True) -> Report:
    """Every invariant, once the system has caught up. `counties=False`: the release before counties as
    tenants runs (a rollback), which keeps its one county unit only."""
    report = Report()
    _applications(deployment, ledger, report)
    _complaints(deployment, ledger, report)
    _actions(deployment, ledger, report)
    _ratings(deployment, ledger, report)
    _events_reached_every_consumer(deployment, report)
    _totals_match_records(deployment, report, counties=counties)
    _messages(deployment, report)
    _audit_log(deployment, ledger, report)
    for service in SERVICES:
        dead = _rows(deployment, service,
                     "SELECT handler, event_type, error FROM dead_letters WHERE replayed_at IS NULL")
        for row in dead:
            report.violations.append(f"unexplained dead letter in {service}: {tuple(row)}")
    report.violations += [f"refused: {r}" for r in ledger.refused]
    return report


def _applications(deployment: Deployment, ledger: Ledger, report: Report) -> None:
    acknowledged = ledger.acknowledged_filings()
    keys = dict(_rows(deployment, "intake", "SELECT key, application_id FROM idempotency_keys"))
    applications = _rows(deployment, "intake",
                         "SELECT id, receipt_no, completed_at IS NOT NULL, result_note FROM applications")
    receipts = {row[1]: row for row in applications}
    cases = {row[0] for row in _rows(deployment, "approvals", "SELECT receipt_no FROM cases")}
    received = Counter(row[0] for row in _rows(deployment, "evaluation",
                                               "SELECT ref FROM facts WHERE metric = 'received'"))
    lost = [r for r in acknowledged.values() if r not in receipts]
    # a filing sent once without a key is found by its note: once if answered, at most once if not
    noted = Counter(row[3] for row in applications if row[3] in ledger.keyless)
    lost += [f["receipt_no"] for note, f in ledger.keyless.items() if f["receipt_no"] and not noted[note]]
    mismatched_keyless = [note for note, f in ledger.keyless.items() if f["receipt_no"] and noted[note] and
                          not any(row[3] == note and row[1] == f["receipt_no"] for row in applications)]
    # an application neither a key nor a keyless filing accounts for would be a second filing of a request
    # (a retry, or a redelivery after its service died between commit and acknowledgement)
    doubled = (len(applications) - len(set(keys.values()) & {row[0] for row in applications}) - len(noted)
               + sum(n - 1 for n in noted.values()))
    by_key = {key: next((row[1] for row in applications if row[0] == app_id), None) for key, app_id in keys.items()}
    mismatched = [k for k, r in acknowledged.items() if by_key.get(k) != r]
    not_in_approvals = [r for r, row in receipts.items() if not row[2] and r not in cases]
    not_counted = [r for r in receipts if received[r] != 1]
    report.counts |= {"filings_sent": len(ledger.filings) + len(ledger.keyless),
                      "filings_acknowledged": len(acknowledged) + sum(1 for f in ledger.keyless.values()
                                                                      if f["receipt_no"]),
                      "keyless_filings_acknowledged": sum(1 for f in ledger.keyless.values() if f["receipt_no"]),
                      "applications_found": len(applications), "applications_lost": len(lost),
                      "applications_doubled": doubled}
    if len(receipts) != len(applications):
        report.violations.append("receipt numbers repeat in intake")
    for what, items in (("acknowledged but not in intake", lost), ("answered with another key's receipt", mismatched),
                        ("sent without a key, answered with another receipt", mismatched_keyless),
                        ("filed but no approval case", not_in_approvals),
                        ("not counted exactly once as received", not_counted)):
        if items:
            report.violations.append(f"applications {what}: {items[:5]} ({len(items)})")
    if doubled:
        report.violations.append(f"{doubled} applications filed twice")
    if strangers := set(received) - set(receipts):
        report.violations.append(f"evaluation counts applications intake does not have: {strangers}")


def _complaints(deployment: Deployment, ledger: Ledger, report: Report) -> None:
    acknowledged = ledger.acknowledged_complaints()
    stored = {row[0] for row in _rows(deployment, "complaints", "SELECT receipt_no FROM complaints")}
    keyed = len(_rows(deployment, "complaints", "SELECT key FROM idempotency_keys"))
    counted = Counter(row[0] for row in _rows(deployment, "evaluation",
                                              "SELECT ref FROM facts WHERE metric = 'complaints'"))
    lost = [r for r in acknowledged.values() if r not in stored]
    report.counts |= {"complaints_sent": len(ledger.complaints), "complaints_acknowledged": len(acknowledged),
                      "complaints_found": len(stored), "complaints_lost": len(lost),
                      "complaints_doubled": len(stored) - keyed}
    if lost:
        report.violations.append(f"complaints acknowledged but not stored: {lost[:5]} ({len(lost)})")
    if len(stored) != keyed:
        report.violations.append(f"{len(stored) - keyed} complaints registered twice")
    if set(counted) != stored or any(n != 1 for n in counted.values()):
        report.violations.append("complaints not counted exactly once in evaluation")


def _actions(deployment: Deployment, ledger: Ledger, report: Report) -> None:
    audit = Counter(tuple(row) for row in _rows(deployment, "approvals", """
        SELECT c.receipt_no, a.action FROM audit_entries a JOIN cases c ON c.application_id = a.application_id"""))
    acknowledged = [(a["receipt_no"], a["action"]) for a in ledger.actions if a["outcome"] == "acknowledged"]
    lost = [a for a in acknowledged if audit[a] == 0]
    doubled = [a for a, n in audit.items() if n > 1]
    report.counts |= {"actions_acknowledged": len(acknowledged), "actions_lost": len(lost),
                      "actions_doubled": len(doubled)}
    if lost:
        report.violations.append(f"approval actions acknowledged but not recorded: {lost[:5]}")
    if doubled:
        report.violations.append(f"approval actions recorded twice: {doubled[:5]}")
    # every consumer agrees with approvals on where each case stands
    status = dict(_rows(deployment, "approvals", "SELECT receipt_no, status FROM cases"))
    intake = dict(_rows(deployment, "intake", "SELECT receipt_no, status FROM applications"))
    completed = {row[0] for row in _rows(deployment, "evaluation",
                                         "SELECT ref FROM facts WHERE metric = 'completed'")}
    behind = [r for r, s in status.items() if s in ("completed", "delivered") and r not in completed]
    disagree = [r for r, s in status.items() if s == "delivered" and intake.get(r) != "delivered"]
    if behind:
        report.violations.append(f"completed cases evaluation did not count: {behind[:5]}")
    if disagree:
        report.violations.append(f"delivered cases intake does not show delivered: {disagree[:5]}")


def _ratings(deployment: Deployment, ledger: Ledger, report: Report) -> None:
    stored = dict(_rows(deployment, "evaluation", "SELECT receipt_no, level FROM ratings"))
    counted = Counter(row[0] for row in _rows(deployment, "evaluation",
                                              "SELECT ref FROM facts WHERE metric = 'ratings'"))
    acknowledged = {r: v["level"] for r, v in ledger.ratings.items() if v["outcome"] == "acknowledged"}
    lost = [r for r in acknowledged if r not in stored]
    changed = [r for r, level in acknowledged.items() if r in stored and stored[r] != level]
    report.counts |= {"ratings_acknowledged": len(acknowledged), "ratings_found": len(stored),
                      "ratings_lost": len(lost)}
    if lost or changed:
        report.violations.append(f"ratings lost {lost[:5]} or changed {changed[:5]}")
    if set(counted) != set(stored) or any(n != 1 for n in counted.values()):
        report.violations.append("ratings not counted exactly once")


def _events_reached_every_consumer(deployment: Deployment, report: Report) -> None:
    """Every event each service published reached every handler that listens to it, once (its inbox or log); a
    handler that says which payloads concern it (`when`) is owed only those."""
    published: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    missing = 0
    for consumer, handler, source, event_type, when, applied_query in subscriptions():
        if (source, event_type) not in published:
            published[(source, event_type)] = {row[0]: row[1]["payload"] for row in _rows(
                deployment, source, "SELECT event_id, body FROM outbox WHERE event_type = :t", t=event_type)}
        applied = {row[0] for row in _rows(deployment, consumer, applied_query, h=handler, s=source, t=event_type)}
        owed = {event_id for event_id, payload in published[(source, event_type)].items()
                if when is None or when(payload)}
        absent = owed - applied
        if absent:
            missing += len(absent)
            report.violations.append(f"{handler} never applied {len(absent)} {source}.{event_type} events")
    unpublished = sum(_rows(deployment, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
                      for s in SERVICES)
    report.counts |= {"events_published": sum(len(v) for v in published.values()), "events_not_delivered": missing,
                      "events_unpublished": unpublished}
    if unpublished:
        report.violations.append(f"{unpublished} outbox events never published")


def _totals_match_records(deployment: Deployment, report: Report, *, counties: bool = True) -> None:
    """The county's daily totals add up to the facts beneath them: no count added twice or missed."""
    facts = dict(_rows(deployment, "evaluation", "SELECT metric, count(*) FROM facts GROUP BY metric"))
    # each county under its own code, and (kept for a rollback) the previous release's one unit 'county',
    # which is all that release keeps
    kept = [("each county's", "unit <> 'county'")] if counties else []
    for units, where in (*kept, ("the one county unit's", "unit = 'county'")):
        totals = dict(_rows(deployment, "evaluation", "SELECT metric, sum(records) FROM daily_totals "
                            f"WHERE level = 'county' AND {where} GROUP BY metric"))
        wrong = {m: (facts.get(m), totals.get(m)) for m in set(facts) | set(totals) if facts.get(m) != totals.get(m)}
        if wrong:
            report.violations.append(f"{units} totals differ from the records (facts, totals): {wrong}")


def _messages(deployment: Deployment, report: Report) -> None:
    """Every application filed to be handled later (not done on the spot) made exactly one receipt SMS, and
    once caught up each message was sent exactly once: none left waiting or cut off mid-send, every sent one
    in the provider's log once (the embedded `log` provider keeps each under its key) with the message id it
    answered, and nothing in the provider's log that notifications does not count as sent."""
    filed = {row[0]["payload"]["id"] for row in _rows(
        deployment, "intake", "SELECT body FROM outbox WHERE event_type = 'application_filed'")
        if not row[0]["payload"]["completed_on_the_spot"]}
    receipts = Counter(row[0].split(":", 1)[1] for row in _rows(
        deployment, "notifications", "SELECT recipient FROM messages WHERE kind = 'application_filed'"))
    statuses = Counter(row[0] for row in _rows(deployment, "notifications", "SELECT status FROM messages"))
    sent = dict(_rows(deployment, "notifications",
                      "SELECT send_key, provider_message_id FROM messages WHERE status = 'sent' AND provider = 'log'"))
    logged = dict(_rows(deployment, "notifications", "SELECT send_key, message_id FROM sms_log"))
    lost = filed - set(receipts)
    doubled = [app for app, n in receipts.items() if n > 1]
    report.counts |= {"sms_made": sum(statuses.values()), "sms_sent": len(sent), "sms_lost": len(lost),
                      "sms_unsent": statuses["waiting"] + statuses["sending"]}
    if lost:
        report.violations.append(f"applications whose applicant got no receipt SMS: {sorted(lost)[:5]} ({len(lost)})")
    if doubled:
        report.violations.append(f"applications with two receipt SMS: {doubled[:5]}")
    if statuses["waiting"] or statuses["sending"]:
        report.violations.append(f"SMS never sent: {statuses['waiting']} waiting, {statuses['sending']} cut off")
    if sent != logged:
        report.violations.append(f"SMS sent and the provider's log disagree: {len(sent)} sent, {len(logged)} logged, "
                                 f"{len(set(sent) ^ set(logged))} not in both")


def _audit_log(deployment: Deployment, ledger: Ledger, report: Report) -> None:
    """Every write the gateway answered has its entry in the directory's audit log, with the answer it got:
    an entry is spooled before the answer leaves, and sent once the broker takes it."""
    answered = dict(ledger.answered_writes)
    stored = dict(_rows(deployment, "directory", "SELECT correlation_id, outcome FROM audit_log "
                                                 "WHERE correlation_id IS NOT NULL"))
    missing = [c for c in answered if c not in stored]
    wrong = [c for c, status in answered.items() if c in stored and stored[c] != status]
    report.counts |= {"writes_answered": len(answered), "audit_entries_missing": len(missing)}
    if missing:
        report.violations.append(f"answered writes without an audit entry: {missing[:5]} ({len(missing)})")
    if wrong:
        report.violations.append(f"audit entries with another outcome than the answer: {wrong[:5]} ({len(wrong)})")
