"""Consultations 咨询, service activities and practical deeds 办实事: light records a station or cadre keeps,
counted by evaluation."""
from __future__ import annotations

from datetime import datetime

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from services.intake.domain import model
from services.intake.service_layer.filing import station_in_township
from shared.contracts import intake as c
from shared.contracts.caller import Caller
from shared.copies import check_occasion, check_staff, check_village
from shared.errors import NotFound

OCCURRED_ON = {"consultation": "occurred_on", "service_activity": "held_on", "practical_deed": "done_on"}
PEOPLE = {"consultation": "people_count", "service_activity": "attendance", "practical_deed": "beneficiaries"}


def record_activity(uow: IntakeUnitOfWork, *, caller: Caller, kind: c.RecordKind,
                    record: c.ConsultationRecord | c.ServiceActivityRecord | c.PracticalDeedRecord,
                    now: datetime) -> c.ActivityView:
    township = model.require_filer(caller)
    village = getattr(record, "village_code", None)
    if village is not None:
        check_village(uow, orm.VillageCopy, village, township)
    station = station_in_township(uow, caller.station_of_new_record(getattr(record, "station_code", None)), township)
    session_id, visit_id = getattr(record, "session_id", None), getattr(record, "visit_id", None)
    check_occasion(uow, orm.OccasionCopy, township, session_id=session_id, visit_id=visit_id)
    check_staff(uow, orm.StaffCopy, getattr(record, "staff_ids", []), township)
    row = uow.activities.add(orm.ActivityRecord(
        kind=kind.value, township_code=township, station_code=station, village_code=village,
        staff_id=caller.staff_id, occurred_on=getattr(record, OCCURRED_ON[kind]), recorded_at=now,
        details=record.model_dump(mode="json")))
    event = c.ActivityRecorded(id=row.id, kind=kind, township_code=township, station_code=station,
                               village_code=village, staff_id=caller.staff_id, occurred_on=row.occurred_on,
                               people=getattr(record, PEOPLE[kind]), category=getattr(record, "category", None),
                               session_id=session_id, visit_id=visit_id)
    uow.record_event("activity_recorded", event.model_dump(mode="json"), township_code=township, now=now)
    uow.commit()
    return _activity_view(row)


def list_activities(uow: IntakeUnitOfWork, *, caller: Caller, query: c.RecordQuery) -> list[c.ActivityView]:
    if caller.role.value == "public":
        raise NotFound("record not found", code="record_not_found")
    rows = uow.activities.listed(caller, kind=query.kind.value, village_code=query.village_code,
                                 occurred_from=query.occurred_from, occurred_to=query.occurred_to,
                                 limit=query.limit, offset=query.offset)
    return [_activity_view(row) for row in rows]


def _activity_view(row: orm.ActivityRecord) -> c.ActivityView:
    return c.ActivityView(id=row.id, kind=row.kind, township_code=row.township_code, staff_id=row.staff_id,
                          recorded_at=row.recorded_at, occurred_on=row.occurred_on, details=row.details)
