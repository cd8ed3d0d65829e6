"""Complaints as a nameko service: registration and actions by RPC, the public look-up, the stage
sweep and gauges on timers, and read models of the directory (staff, villages, calendar) and of
scheduling (sessions, visits)."""
from __future__ import annotations

import logging

from nameko.timer import timer

from services.complaints.adapters import orm
from services.complaints.adapters.orm import Base
from services.complaints.service_layer import actions, alerts, county_settings, reading, registration, stages
from shared.clock import utcnow
from shared.contracts import complaints as c
from shared.contracts.base import IdempotencyQuery, parse, to_wire
from shared.copies import KeepsCalendar, KeepsOccasions, KeepsStaff, KeepsStations, KeepsVillages
from shared.db import Database
from shared.errors import ValidationFailed
from shared.messaging import DeadLetters, OutboxRelay
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc
from shared.settings import get_settings

log = logging.getLogger(__name__)


class ComplaintsService(KeepsStaff, KeepsVillages, KeepsStations, KeepsCalendar, KeepsOccasions, DeadLetters):
    name = "complaints"
    staff_copy, village_copy, calendar_copy = orm.StaffCopy, orm.VillageCopy, orm.CalendarDayCopy
    station_copy, occasion_copy = orm.StationCopy, orm.OccasionCopy

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    vault = PersonalData()
    observed = Observed()

    @rpc
    def register(self, complaint: dict, idempotency_key: str | None = None) -> dict:
        key = parse(IdempotencyQuery, {"idempotency_key": idempotency_key}).idempotency_key
        return to_wire(registration.register(self.db, caller=self.caller(), cmd=parse(c.ComplaintRegister, complaint),
                                             vault=self.vault, now=utcnow(), idempotency_key=key))

    @rpc
    def register_online(self, complaint: dict) -> dict:
        self.caller()
        return to_wire(registration.register_online(self.db, cmd=parse(c.PublicComplaint, complaint), vault=self.vault,
                                                    now=utcnow()))

    @rpc
    def notice_contact(self, complaint_id: str) -> str | None:
        self.caller()
        return registration.notice_contact(self.db, complaint_id=complaint_id, vault=self.vault)

    @rpc
    def act(self, ref: str, action: dict) -> dict:
        return to_wire(actions.act(self.db, caller=self.caller(), ref=ref, cmd=parse(c.ComplaintAction, action),
                                   vault=self.vault, now=utcnow()))

    @rpc
    def get(self, ref: str) -> dict:
        return to_wire(reading.get(self.db, caller=self.caller(), ref=ref, vault=self.vault, now=utcnow()))

    @rpc
    def list_complaints(self, query: dict | None = None) -> list:
        return to_wire(reading.list_complaints(self.db, caller=self.caller(),
                                               query=parse(c.ComplaintQuery, query or {}), vault=self.vault,
                                               now=utcnow()))

    @rpc
    def waiting_counts(self) -> dict:
        """How many complaints wait for the caller's action, overdue and due within a working day."""
        return to_wire(reading.waiting_counts(self.db, caller=self.caller(), now=utcnow()))

    @rpc
    def public_progress(self, lookup: dict) -> dict:
        self.caller()
        return to_wire(reading.public_progress(self.db, lookup=parse(c.PublicComplaintLookup, lookup), vault=self.vault,
                                               now=utcnow()))

    # ---- early warning and the county's settings ---------------------------------------------------
    @rpc
    def alerts(self, status: str | None = None) -> list:
        if status not in (None, "open", "acknowledged"):
            raise ValidationFailed("status is open or acknowledged", [{"field": "status", "message": str(status)}])
        return to_wire(alerts.list_alerts(self.db, caller=self.caller(), status=status))

    @rpc
    def acknowledge_alert(self, alert_id: int, acknowledgement: dict) -> dict:
        return to_wire(alerts.acknowledge_alert(self.db, caller=self.caller(), alert_id=alert_id,
                                                cmd=parse(c.AlertAcknowledge, acknowledgement), now=utcnow()))

    @rpc
    def limits(self) -> dict:
        self.caller()
        return to_wire(county_settings.limits(self.db))

    @rpc
    def set_limits(self, kind: str, limits: dict) -> dict:
        kind_ = parse(c.StageLimitsFor, {"kind": kind}).kind
        return to_wire(county_settings.set_limits(self.db, caller=self.caller(), kind=kind_,
                                                  cmd=parse(c.StageLimits, limits), now=utcnow()))

    @rpc
    def warning_rule(self) -> dict:
        self.caller()
        return to_wire(county_settings.warning_rule(self.db))

    @rpc
    def set_warning_rule(self, rule: dict) -> dict:
        return to_wire(county_settings.set_warning_rule(self.db, caller=self.caller(), cmd=parse(c.WarningRule, rule),
                                                        now=utcnow()))

    # ---- timers ----------------------------------------------------------------------------------------
    @timer(interval=get_settings().sweep_seconds, eager=True)
    def sweep_stages(self) -> None:
        """Warnings and 督办 for the stages whose limits have come (reads only those)."""
        warned, noticed = stages.sweep(self.db, now=utcnow())
        if warned or noticed:
            log.info("complaint sweep: %d warnings, %d overdue", warned, noticed, extra={"service": self.name})

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def publish_gauges(self) -> None:
        stages.update_gauges(self.db, now=utcnow())
