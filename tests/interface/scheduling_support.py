"""What scheduling's interface tests share: a market site, the township's staff and a county day off
delivered as the directory's events, and a way to call a use case with a chosen "now"."""
from __future__ import annotations

from datetime import UTC, datetime

from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.scheduling.service import SchedulingService
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.pii import PersonalDataVault
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY

QS, LX = "431099101", "431099102"
SITE = {"code": "QS-JISHI", "township_code": QS, "village_code": f"{QS}001", "name": "青石镇老街集市",
        "location": "集镇主街", "opens_at": "07:30", "closes_at": "12:00", "version": 1,
        "rule": {"kind": "lunar_days", "pattern": "逢一四七", "days": [1, 4, 7, 11, 14, 17, 21, 24, 27],
                 "weekdays": [], "dates": [],
                 "exceptions": {"skip_dates": [], "add_dates": [], "skip_lunar_new_year_days": 7}}}
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
CADRES = [3, 4, 5]
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)  # 1 December, 10:00 in China
VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)


def service_as(db):
    def as_caller(caller: Caller) -> SchedulingService:
        return worker_factory(SchedulingService, db=db.unit_of_work(), caller=WorkerCaller(caller))
    return as_caller


def deliverer(scheduling, source="directory"):
    def deliver(type_, payload):
        envelope = EventEnvelope(source=source, type=type_, occurred_at=utcnow(), payload=payload)
        getattr(scheduling(Caller.system()), f"on_{type_}")(envelope.model_dump(mode="json"))
    return deliver


def prepare(scheduling) -> None:
    """The market site, the township's staff (3, 4 cadres; 5 department staff; 6 a village agent; 31 the
    supervisor; 40 a cadre of 柳溪乡), two villages and a county day off (19 December)."""
    deliver = deliverer(scheduling)
    deliver("market_site_changed", SITE)
    for staff_id, role, township in [(3, "township_cadre", QS), (4, "township_cadre", QS),
                                     (5, "department_staff", QS), (6, "village_agent", QS), (31, "supervisor", QS),
                                     (40, "township_cadre", LX)]:
        deliver("staff_changed", {"id": staff_id, "township_code": township, "station_code": None, "role": role,
                                  "active": True, "version": 1})
    for code, township in ((f"{QS}001", QS), (f"{QS}002", QS), (f"{LX}001", LX)):
        deliver("village_changed", {"code": code, "township_code": township, "name": f"村{code[-3:]}", "version": 1})
    deliver("calendar_changed", {"county_code": "431099", "day": "2026-12-19", "kind": "local_day_off",
                                 "name": "县庆", "source": "local"})


def run(db, handler, **kwargs):
    """Call a use case in its own unit of work, closed afterwards as a nameko worker's would be."""
    uow = db.unit_of_work()
    try:
        return handler(uow, **kwargs)
    finally:
        uow.close()


def outbox_events(db, event_type: str) -> list[dict]:
    outbox = db.metadata.tables["outbox"]
    with db.sessions() as session:
        return [r.body["payload"] for r in session.execute(select(outbox.c.body).order_by(outbox.c.id))
                if r.body["type"] == event_type]
