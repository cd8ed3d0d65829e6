"""Approvals as a nameko service: cases opened from intake's filings, staff actions by RPC, the
deadline sweep on a timer, and the directory's workflows and calendar kept as read models."""
from __future__ import annotations

import logging

from nameko.timer import timer

from services.approvals.adapters import orm
from services.approvals.adapters.orm import Base
from services.approvals.service_layer import actions, from_directory, opening, reading, sweep
from shared.clock import utcnow
from shared.contracts import approvals as c
from shared.contracts.base import IdempotencyQuery, parse
from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import ApplicationFiled
from shared.copies import KeepsStaff
from shared.db import Database
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed
from shared.service import CallerContext, rpc
from shared.settings import get_settings

log = logging.getLogger(__name__)


class ApprovalsService(KeepsStaff, DeadLetters):
    name = "approvals"
    staff_copy = orm.StaffCopy

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    observed = Observed()

    @rpc
    def act(self, ref: str, action: dict, idempotency_key: str | None = None) -> dict:
        """One staff action on an application's case: accept, refuse, claim, approve, return, …"""
        key = parse(IdempotencyQuery, {"idempotency_key": idempotency_key}).idempotency_key
        return actions.act(self.db, caller=self.caller(), ref=ref, cmd=parse(c.CaseAction, action), now=utcnow(),
                           idempotency_key=key).model_dump(mode="json")

    @rpc
    def get_case(self, ref: str) -> dict:
        return reading.get_case(self.db, caller=self.caller(), ref=ref, now=utcnow()).model_dump(mode="json")

    @rpc
    def inbox(self, query: dict | None = None) -> dict:
        """What waits for me, by time left, filtered and paged by keyset (`InboxPage`)."""
        return reading.inbox(self.db, caller=self.caller(), query=parse(c.InboxQuery, query or {}),
                             now=utcnow()).model_dump(mode="json")

    @rpc
    def counts(self, township_code: str | None = None) -> dict:
        return reading.counts(self.db, caller=self.caller(), township_code=township_code)

    @rpc
    def notices(self, kind: str, limit: int = 50, offset: int = 0, township_code: str | None = None,
                open_only: bool = False) -> list:
        query = parse(c.NoticeQuery, {"kind": kind, "limit": limit, "offset": offset, "township_code": township_code,
                                      "open_only": open_only})
        return [v.model_dump(mode="json") for v in reading.notices(self.db, caller=self.caller(), kind=query.kind,
                                                                   limit=query.limit, offset=query.offset,
                                                                   township_code=query.township_code,
                                                                   open_only=query.open_only)]

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def sweep_deadlines(self) -> None:
        """Warnings, 督办 and 责任追究 for the limits that have come due (reads only those)."""
        warned, noticed = sweep.sweep(self.db, now=utcnow())
        if warned or noticed:
            log.info("deadline sweep: %d warnings, %d overdue", warned, noticed, extra={"service": self.name})

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def publish_gauges(self) -> None:
        """Open, warned and overdue applications per township: a grouped count over open cases, kept
        apart from the sweep so that the sweep's cost stays that of the work due."""
        sweep.update_gauges(self.db, now=utcnow())

    # ---- what other services tell us -------------------------------------------------------------
    @on_event("intake", "application_filed")
    def on_application_filed(self, envelope: EventEnvelope) -> None:
        opening.open_case(self.db, filed=ApplicationFiled.model_validate(envelope.payload), now=utcnow())

    @on_event("directory", "catalogue_item_changed")
    def on_catalogue_item_changed(self, envelope: EventEnvelope) -> None:
        from_directory.keep_workflow(self.db, item=envelope.payload)

    @on_event("directory", "calendar_changed")
    def on_calendar_changed(self, envelope: EventEnvelope) -> None:
        from_directory.note_calendar_change(self.db, payload=envelope.payload)
