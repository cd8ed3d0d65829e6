"""Scheduling as a nameko service. This first part computes market days from the sites' rules (kept as
a read model of the directory); sessions, rosters, visits and appointments build on it."""
from __future__ import annotations

from nameko.events import event_handler

from services.scheduling.adapters.orm import Base
from services.scheduling.service_layer import handlers as h
from shared.contracts.base import parse
from shared.contracts.envelope import EventEnvelope
from shared.contracts.scheduling import DateRange
from shared.db import Database
from shared.messaging import OutboxRelay, consume_once
from shared.observability import Observed
from shared.service import CallerContext, rpc


class SchedulingService:
    name = "scheduling"

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    observed = Observed()

    @rpc
    def site_market_days(self, site_code: str, start: str, end: str) -> dict:
        """Preview: the market days of one site in a period (staff of its township, county roles)."""
        period = parse(DateRange, {"start": start, "end": end})
        return h.site_market_days(self.db, caller=self.caller(), site_code=site_code,
                                  period=period).model_dump(mode="json")

    @rpc
    def public_market_calendar(self, township_code: str, start: str, end: str) -> list:
        self.caller()
        period = parse(DateRange, {"start": start, "end": end})
        return [v.model_dump(mode="json") for v in
                h.public_market_calendar(self.db, township_code=township_code, period=period)]

    @event_handler("directory", "market_site_changed")
    @consume_once
    def on_market_site_changed(self, envelope: EventEnvelope) -> None:
        h.keep_site(self.db, site=envelope.payload)
