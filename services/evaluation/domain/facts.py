"""What counts, and for whom: each event of another service becomes facts — one per record and metric,
with the staff member, station, village and township it belongs to and the day it counts on. A fact is
keyed by its metric and record, so the same record arriving twice (a redelivery, a replay) counts once.
Pure: events and the working-day calendar in, facts out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.contracts.evaluation import Level, Metric
from shared.divisions import county_of
from shared.working_days import WorkingCalendar, working_days_used

PREVIOUS_COUNTY_UNIT = "county"  # how the release before counties as tenants named the one county


@dataclass(frozen=True)
class Fact:
    metric: Metric
    ref: str
    day: date
    township_code: str
    station_code: str | None = None
    village_code: str | None = None
    staff_id: int | None = None
    value: float = 1

    def units(self) -> list[tuple[Level, str]]:
        """Every unit this fact counts for, from the staff member up to the county: its own county's code,
        and the previous release's single unit for every county (kept counting, so that a rollback to that
        release finds its figures whole; the contract step that drops it comes a release later)."""
        units = [(Level.COUNTY, county_of(self.township_code)), (Level.COUNTY, PREVIOUS_COUNTY_UNIT),
                 (Level.TOWNSHIP, self.township_code)]
        if self.village_code:
            units.append((Level.VILLAGE, self.village_code))
        if self.station_code:
            units.append((Level.STATION, self.station_code))
        if self.staff_id is not None:
            units.append((Level.STAFF, str(self.staff_id)))
        return units


@dataclass(frozen=True)
class ApplicationRecord:
    """What evaluation remembers of an application, from intake's and approvals' events."""

    id: str
    receipt_no: str
    township_code: str | None = None  # None until the filing has arrived
    station_code: str | None = None
    village_code: str | None = None
    staff_id: int | None = None  # 首问: the accountable first receiver, answerable for the whole case
    filed_on: date | None = None
    promised_deadline: date | None = None
    completed_on: date | None = None
    overdue_on: date | None = None


def application_facts(app: ApplicationRecord, calendar: WorkingCalendar) -> list[Fact]:
    """Received when filed; completed, on time or not, and the working days it took once completed;
    overdue once a limit passed. Nothing until the filing itself is known (events may come out of order)."""
    if app.township_code is None or app.filed_on is None:
        return []
    where = {"township_code": app.township_code, "station_code": app.station_code,
             "village_code": app.village_code, "staff_id": app.staff_id}
    facts = [Fact(Metric.RECEIVED, app.receipt_no, app.filed_on, **where)]
    if app.completed_on is not None:
        days = working_days_used(calendar, app.filed_on, app.completed_on)
        on_time = app.promised_deadline is None or app.completed_on <= app.promised_deadline
        # flow: on the day it was completed; cohort: on the day it was received, beside its RECEIVED
        for day, completed, working_days, in_time in (
                (app.completed_on, Metric.COMPLETED, Metric.WORKING_DAYS, Metric.ON_TIME),
                (app.filed_on, Metric.COHORT_COMPLETED, Metric.COHORT_WORKING_DAYS, Metric.COHORT_ON_TIME)):
            facts.append(Fact(completed, app.receipt_no, day, **where))
            facts.append(Fact(working_days, app.receipt_no, day, value=days, **where))
            if on_time:
                facts.append(Fact(in_time, app.receipt_no, day, **where))
        if not on_time:  # 超期办结, on the day it was completed
            facts.append(Fact(Metric.COMPLETED_LATE, app.receipt_no, app.completed_on, **where))
    if app.overdue_on is not None:
        facts.append(Fact(Metric.OVERDUE, app.receipt_no, app.overdue_on, **where))
    return facts


ACTIVITY_METRICS = {"consultation": Metric.CONSULTATIONS, "service_activity": Metric.SERVICE_ACTIVITIES,
                    "practical_deed": Metric.PRACTICAL_DEEDS}


def activity_fact(p: dict[str, Any]) -> Fact:
    """Consultations count people (人次); service activities and deeds count themselves."""
    kind = p["kind"]
    return Fact(ACTIVITY_METRICS[kind], f"{kind}:{p['id']}", date.fromisoformat(p["occurred_on"]),
                p["township_code"], p.get("station_code"), p.get("village_code"), p["staff_id"],
                value=p["people"] if kind == "consultation" else 1)


def attendance_fact(p: dict[str, Any]) -> Fact:
    metric = Metric.SESSIONS_ATTENDED if p["attendance"] == "attended" else Metric.SESSIONS_MISSED
    return Fact(metric, f"session:{p['session_id']}:{p['staff_id']}", date.fromisoformat(p["day"]),
                p["township_code"], staff_id=p["staff_id"])


def visit_facts(p: dict[str, Any]) -> list[Fact]:
    day = date.fromisoformat(p["day"])
    return [Fact(metric, f"visit:{p['visit_id']}:{staff}", day, p["township_code"], village_code=p["village_code"],
                 staff_id=staff)
            for metric, key in ((Metric.VISITS_MADE, "went_staff_ids"), (Metric.VISITS_MISSED, "missed_staff_ids"))
            for staff in p[key]]


def step_facts(p: dict[str, Any], day: date) -> list[Fact]:
    """A review step closed (application_progressed naming the step it closed): handled by whoever held
    it, and on time when closed by its due day. The step's own instance is the record: a step entered
    again after a return is another one."""
    holder = p.get("step_holder_staff_id") or p.get("actor_staff_id")
    if not p.get("handled_step") or holder is None:
        return []
    closed_at = datetime.fromisoformat(p["occurred_at"])
    ref = f"{p['receipt_no']}:{p['handled_step']}@{int(closed_at.timestamp() * 1000)}"  # within the 80 characters
    where = {"township_code": p["township_code"], "staff_id": holder}
    facts = [Fact(Metric.STEPS_HANDLED, ref, day, **where)]
    due = p.get("handled_step_due")
    if due is None or day <= date.fromisoformat(due):
        facts.append(Fact(Metric.STEPS_ON_TIME, ref, day, **where))
    return facts


def accountability_fact(p: dict[str, Any], day: date) -> Fact:
    """责任追究 as approvals recorded it: against whoever held the late step (nobody, for the township only,
    when no one had), never against the first receiver for someone else's step."""
    ref = f"{p['receipt_no']}:{p['deadline_kind']}:{p.get('step_name') or ''}:{p['due_on']}"
    return Fact(Metric.ACCOUNTABILITY, ref, day, p["township_code"], staff_id=p.get("responsible_staff_id"))


def finding_fact(p: dict[str, Any], day: date) -> Fact | None:
    """A complaint found substantiated, wholly or partly, counts against the staff member."""
    if p["finding"] not in ("substantiated", "partly"):
        return None
    return Fact(Metric.SUBSTANTIATED, p["receipt_no"], day, p["township_code"], staff_id=p["accused_staff_id"])


def complaint_fact(p: dict[str, Any], day: date) -> Fact:
    return Fact(Metric.COMPLAINTS, p["receipt_no"], day, p["township_code"], p.get("station_code"),
                p["village_code"])


def rating_facts(p: dict[str, Any]) -> list[Fact]:
    """A rating counts for whoever the item counts for: one rating, satisfied or not."""
    where = {"township_code": p["township_code"], "station_code": p.get("station_code"),
             "village_code": p.get("village_code"), "staff_id": p.get("staff_id")}
    day = date.fromisoformat(p["day"])
    facts = [Fact(Metric.RATINGS, p["receipt_no"], day, **where)]
    if p["satisfied"]:
        facts.append(Fact(Metric.SATISFIED, p["receipt_no"], day, **where))
    return facts
