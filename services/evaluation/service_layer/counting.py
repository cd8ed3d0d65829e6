"""Counting: each event of the other services logged once, turned into facts (each record once per
metric) and added to the daily totals of every unit it belongs to; what may be rated kept current from
the same events; and everything rebuilt by replaying the log. Every filing passes through here: the
statements it costs are the repositories' (adapters/repositories/counting.py)."""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Any

from services.evaluation.adapters import orm
from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from services.evaluation.domain import facts as f
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.copies import working_calendar
from shared.db import change
from shared.divisions import county_of
from shared.working_days import WorkingCalendar


def record_event(uow: EvaluationUnitOfWork, *, event_id: str, source: str, event_type: str, occurred_at: datetime,
                 payload: dict[str, Any]) -> int:
    """Log an event and count it; the caller commits (with the consume-once mark). Returns new facts. An
    event already in the log (replayed from a dead-letter queue, say) is not counted again."""
    if not uow.events.add(event_id=event_id, source=source, event_type=event_type, occurred_at=occurred_at,
                          payload=payload):
        return 0
    return apply_event(uow, event_type=event_type, occurred_at=occurred_at, payload=payload)


def apply_event(uow: EvaluationUnitOfWork, *, event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> int:
    day = today_in_china(occurred_at)
    p = payload
    if event_type in APPLICATION_EVENTS:
        app = _follow(uow, event_type, p, day)
        calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(app.township_code)) \
            if app.completed_on and app.township_code else WorkingCalendar()
        steps = f.step_facts(p, day) if event_type == "application_progressed" else []
        return _add(uow, f.application_facts(app, calendar) + steps)
    if event_type == "accountability_recorded":
        return _add(uow, [f.accountability_fact(p, day)])
    if event_type == "activity_recorded":
        return _add(uow, [f.activity_fact(p)])
    if event_type == "session_attendance_recorded":
        return _add(uow, [f.attendance_fact(p)])
    if event_type == "visit_reported":
        return _add(uow, f.visit_facts(p))
    if event_type == "complaint_finding_recorded":
        fact = f.finding_fact(p, day)
        return _add(uow, [fact] if fact else [])
    if event_type == "complaint_registered":
        _keep_rateable(uow, p["receipt_no"], kind="complaint", township_code=p["township_code"],
                       station_code=p.get("station_code"), village_code=p["village_code"],
                       contact_check=p.get("contact_check"))
        return _add(uow, [f.complaint_fact(p, day)])
    if event_type == "complaint_progressed":
        if p["to_status"] == "replied":  # may come before its registration: the row waits for it
            row = uow.rateables.hold(p["receipt_no"], kind="complaint", township_code=p["township_code"])
            row.ready_on, row.staff_id = row.ready_on or day, p.get("handler_staff_id")
        return 0
    if event_type == "rating_recorded":
        return _add(uow, f.rating_facts(p))
    return 0


def _keep_rateable(uow: EvaluationUnitOfWork, receipt_no: str, *, kind: str, township_code: str,
                   **values: Any) -> None:
    """What may be rated, kept current from the events; never forgets an invitation already sent. A new row
    is inserted with its values (nothing left to update)."""
    kept = {name: value for name, value in values.items() if value is not None or name == "ready_on"}
    change(uow.rateables.hold(receipt_no, kind=kind, township_code=township_code, **kept), **kept)


APPLICATION_EVENTS = frozenset({"application_filed", "application_completed_on_the_spot", "application_progressed",
                                "supervision_notice_issued"})


def _follow(uow: EvaluationUnitOfWork, event_type: str, p: dict[str, Any], day: date) -> f.ApplicationRecord:
    """Update what is known of an application from one of its events, in whatever order they come. The
    application's first event inserts its row as that event leaves it, so nothing is left to update."""
    app_id = p["id"] if event_type in ("application_filed", "application_completed_on_the_spot") \
        else p["application_id"]
    first = _learn(f.ApplicationRecord(id=app_id, receipt_no=p["receipt_no"]), event_type, p, day)
    row = uow.applications.hold(app_id, **asdict(first))
    app = _learn(f.ApplicationRecord(**{k: getattr(row, k) for k in f.ApplicationRecord.__dataclass_fields__}),
                 event_type, p, day)
    change(row, **asdict(app))
    if app.township_code is not None:
        _keep_rateable(uow, app.receipt_no, kind="application", township_code=app.township_code,
                       station_code=app.station_code, village_code=app.village_code, staff_id=app.staff_id,
                       contact_check=p.get("contact_check"), ready_on=app.completed_on)
    return app


def _learn(app: f.ApplicationRecord, event_type: str, p: dict[str, Any], day: date) -> f.ApplicationRecord:
    """What one event of an application adds to what was known of it."""
    if event_type == "application_filed":
        return replace(app, township_code=p["township_code"], station_code=p["station_code"],
                       village_code=p["village_code"], staff_id=p["accountable_staff_id"],
                       filed_on=today_in_china(datetime.fromisoformat(p["filed_at"])))
    if event_type == "application_completed_on_the_spot":
        done = today_in_china(datetime.fromisoformat(p["completed_at"]))
        return replace(app, completed_on=done, promised_deadline=done)
    if event_type == "supervision_notice_issued":
        return replace(app, overdue_on=app.overdue_on or day)
    if p.get("promised_deadline"):
        app = replace(app, promised_deadline=date.fromisoformat(p["promised_deadline"]))
    if p["stage"] == "completed":
        app = replace(app, completed_on=today_in_china(datetime.fromisoformat(p["occurred_at"])))
    return app


def _add(uow: EvaluationUnitOfWork, facts: list[f.Fact]) -> int:
    """Count the facts not yet counted: each added to the daily totals of every unit it belongs to (written
    just before the commit), and each unit's township noted."""
    added = 0
    for fact in facts:
        if not uow.facts.add(metric=fact.metric.value, ref=fact.ref, day=fact.day, township_code=fact.township_code,
                             station_code=fact.station_code, village_code=fact.village_code,
                             staff_id=fact.staff_id, value=fact.value):
            continue  # counted already
        units = fact.units()
        uow.daily_totals.add(fact.metric.value, fact.day, units, fact.value)
        uow.unit_townships.learn(units, fact.township_code)
        added += 1
    return added


def keep_township(uow: EvaluationUnitOfWork, *, township: dict[str, Any]) -> None:
    uow.townships.keep(township)


def rebuild(uow: EvaluationUnitOfWork, *, batch: int = 5000) -> c.RebuildReport:
    """Forget every figure and count the logged events again, in the order they arrived. The same events
    give the same figures (facts are keyed by record, not by event)."""
    started = time.perf_counter()
    uow.events.forget_what_was_counted()
    events = facts = 0
    for rows in uow.events.in_order(batch):
        for row in rows:
            facts += apply_event(uow, event_type=row.event_type, occurred_at=row.occurred_at, payload=row.payload)
        events += len(rows)
        uow.write_gathered()  # each chunk's totals, not the whole log's held in memory
    uow.commit()
    return c.RebuildReport(events=events, facts=facts, seconds=round(time.perf_counter() - started, 3))
