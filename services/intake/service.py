"""Intake as a nameko service: filing and reading applications, light records, the public look-up, and
the read models fed by the directory's and approvals' events."""
from __future__ import annotations

import logging
from typing import Any

from services.intake.adapters import orm
from services.intake.adapters.orm import Base
from services.intake.service_layer import activities, filing, from_approvals, reading
from shared.clock import utcnow
from shared.contracts import intake as c
from shared.contracts.approvals import ApplicationClock, ApplicationProgressed
from shared.contracts.base import IdempotencyQuery, parse
from shared.contracts.envelope import EventEnvelope
from shared.copies import KeepsCalendar, KeepsOccasions, KeepsStaff, KeepsVillages
from shared.db import Database
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc

log = logging.getLogger(__name__)

RECORD_CONTRACTS: dict[c.RecordKind, type[c.Contract]] = {
    c.RecordKind.CONSULTATION: c.ConsultationRecord,
    c.RecordKind.SERVICE_ACTIVITY: c.ServiceActivityRecord,
    c.RecordKind.PRACTICAL_DEED: c.PracticalDeedRecord,
}


class IntakeService(KeepsVillages, KeepsStaff, KeepsCalendar, KeepsOccasions, DeadLetters):
    name = "intake"
    village_copy, staff_copy, occasion_copy = orm.VillageCopy, orm.StaffCopy, orm.OccasionCopy
    calendar_copy = orm.CalendarDayCopy

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    vault = PersonalData()
    observed = Observed()

    # ---- applications -------------------------------------------------------------------------
    @rpc
    def file_application(self, application: dict, idempotency_key: str | None = None) -> dict:
        key = parse(IdempotencyQuery, {"idempotency_key": idempotency_key}).idempotency_key
        return filing.file_application(self.db, caller=self.caller(), cmd=parse(c.ApplicationFile, application),
                                       idempotency_key=key, vault=self.vault, now=utcnow()).model_dump(mode="json")

    @rpc
    def get_application(self, ref: str) -> dict:
        return reading.get_application(self.db, caller=self.caller(), receipt_or_id=ref, vault=self.vault,
                                       now=utcnow()).model_dump(mode="json")

    @rpc
    def list_applications(self, query: dict | None = None) -> dict:
        return reading.list_applications(self.db, caller=self.caller(), query=parse(c.ApplicationQuery, query or {}),
                                         vault=self.vault, now=utcnow()).model_dump(mode="json")

    @rpc
    def public_progress(self, lookup: dict) -> dict:
        self.caller()
        return reading.public_progress(self.db, lookup=parse(c.PublicLookup, lookup), vault=self.vault,
                                       now=utcnow()).model_dump(mode="json")

    @rpc
    def notice_contact(self, application_id: str) -> str | None:
        self.caller()
        return reading.notice_contact(self.db, application_id=application_id, vault=self.vault)

    # ---- consultations, service activities, practical deeds ---------------------------------------
    @rpc
    def record_activity(self, kind: str, record: dict) -> dict:
        record_kind = parse(c.RecordKindQuery, {"kind": kind}).kind
        return activities.record_activity(self.db, caller=self.caller(), kind=record_kind,
                                          record=parse(RECORD_CONTRACTS[record_kind], record),
                                          now=utcnow()).model_dump(mode="json")

    @rpc
    def list_activities(self, query: dict) -> list:
        return [v.model_dump(mode="json") for v in
                activities.list_activities(self.db, caller=self.caller(), query=parse(c.RecordQuery, query))]

    # ---- what other services tell us -----------------------------------------------------------------
    @on_event("directory", "catalogue_item_changed")
    def on_catalogue_item_changed(self, envelope: EventEnvelope) -> None:
        item = envelope.payload
        self.db.keep_newest(orm.CatalogueItemCopy, (item["township_code"], item["code"]), {
            "township_code": item["township_code"], "code": item["code"], "name": item["name"],
            "category": item["category"], "kind": item["kind"], "handling_level": item["handling_level"],
            "promised_days": item["promised_days"], "required_materials": item["required_materials"],
            "status": item["status"], "version": item["version"]})

    @on_event("directory", "station_changed")
    def on_station_changed(self, envelope: EventEnvelope) -> None:
        s = envelope.payload
        self.db.keep_newest(orm.StationCopy, s["code"],
                            _pick(s, "code", "township_code", "village_code", "name", "version"))

    @on_event("approvals", "application_progressed")
    def on_application_progressed(self, envelope: EventEnvelope) -> None:
        progress = ApplicationProgressed.model_validate(envelope.payload)
        if not from_approvals.apply_progress(self.db, progress=progress):
            log.warning("progress for an application intake does not know: %s", progress.receipt_no,
                        extra={"service": self.name, "event_type": envelope.type})

    @on_event("approvals", "application_clock_changed")
    def on_application_clock_changed(self, envelope: EventEnvelope) -> None:
        clock = ApplicationClock.model_validate(envelope.payload)
        if not from_approvals.apply_clock(self.db, clock=clock):
            log.warning("a clock for an application intake does not know: %s", clock.receipt_no,
                        extra={"service": self.name, "event_type": envelope.type})


def _pick(payload: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: payload[name] for name in names}
