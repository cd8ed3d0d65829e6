"""Notifications as a nameko service: other services' events become messages to applicants, villagers,
complainants and staff (made once per event, recipient and notice, in the event's own transaction);
a timer sends what is due through the county's SMS provider; staff read theirs in the console."""
from __future__ import annotations

from nameko.timer import timer

from services.notifications.adapters.contacts import Contacts
from services.notifications.adapters.orm import Base
from services.notifications.adapters.providers import Providers
from services.notifications.service_layer import county, inbox, reports, telling
from services.notifications.service_layer import handlers as h
from shared.clock import utcnow
from shared.contracts import notifications as c
from shared.contracts.approvals import ApplicationProgressed
from shared.contracts.base import parse, to_wire
from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import ApplicationFiled
from shared.db import Database
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc
from shared.settings import get_settings

SEND_SECONDS = 1.0  # how often the sender looks for due messages


class NotificationsService(DeadLetters):
    name = "notifications"

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    vault = PersonalData()
    contacts = Contacts()
    providers = Providers()
    observed = Observed()

    # ---- what a county configures and reads ----------------------------------------------------------------
    @rpc
    def county_settings(self, county_code: str) -> dict:
        return to_wire(county.get_settings(self.db, caller=self.caller(), county_code=county_code))

    @rpc
    def set_county_settings(self, county_code: str, settings: dict) -> dict:
        return to_wire(county.set_settings(self.db, caller=self.caller(), county_code=county_code,
                                           cmd=parse(c.CountySettings, settings), now=utcnow(), vault=self.vault))

    @rpc
    def templates(self, county_code: str) -> list:
        return to_wire(county.list_templates(self.db, caller=self.caller(), county_code=county_code))

    @rpc
    def save_template(self, county_code: str, kind: str, template: dict) -> dict:
        return to_wire(county.save_template(self.db, caller=self.caller(), county_code=county_code, kind=kind,
                                            cmd=parse(c.TemplateSave, template), now=utcnow()))

    @rpc
    def preview_template(self, county_code: str, kind: str, draft: dict | None = None) -> dict:
        return to_wire(county.preview(self.db, caller=self.caller(), county_code=county_code, kind=kind,
                                      cmd=parse(c.PreviewRequest, draft or {})))

    @rpc
    def messages(self, query: dict | None = None) -> dict:
        return to_wire(county.messages(self.db, caller=self.caller(), query=parse(c.MessageQuery, query or {})))

    # ---- a staff member's notices in the console ----------------------------------------------------------
    @rpc
    def my_notices(self, query: dict | None = None) -> dict:
        return to_wire(inbox.my_notices(self.db, caller=self.caller(), query=parse(c.NoticeQuery, query or {})))

    @rpc
    def mark_notices_read(self, cmd: dict | None = None) -> int:
        return inbox.mark_read(self.db, caller=self.caller(), cmd=parse(c.MarkRead, cmd or {}), now=utcnow())

    # ---- what events tell ---------------------------------------------------------------------------------
    @on_event("intake", "application_filed")
    def on_application_filed(self, envelope: EventEnvelope) -> None:
        telling.application_filed(self.db, event_id=envelope.event_id, filed=parse(ApplicationFiled, envelope.payload),
                                  public_url=_public_url(), now=utcnow())

    @on_event("approvals", "application_progressed")
    def on_application_progressed(self, envelope: EventEnvelope) -> None:
        telling.application_progressed(self.db, event_id=envelope.event_id,
                                       progressed=parse(ApplicationProgressed, envelope.payload), now=utcnow())

    @on_event("directory", "station_changed")
    def on_station_changed(self, envelope: EventEnvelope) -> None:
        telling.keep_station(self.db, envelope.payload)

    # ---- sending ----------------------------------------------------------------------------------------------
    @timer(interval=SEND_SECONDS, eager=True)
    def send_due(self) -> None:
        for message_id in h.due(self.db, now=utcnow()):
            h.send(self.db, message_id, contacts=self.contacts, providers=self.providers, vault=self.vault,
                   now=utcnow(), clock=utcnow)

    # ---- what providers report back (the gateway's callback routes, as the platform's own caller) ----------
    @rpc
    def delivery_reports(self, provider: str, county_code: str, callback: dict) -> dict:
        return to_wire(reports.delivery_reports(self.db, provider=provider, county_code=county_code,
                                                callback=parse(c.Callback, callback), vault=self.vault, now=utcnow()))

    @rpc
    def record_opt_outs(self, provider: str, county_code: str, callback: dict) -> dict:
        return to_wire(reports.record_opt_outs(self.db, provider=provider, county_code=county_code,
                                               callback=parse(c.Callback, callback), vault=self.vault, now=utcnow()))


def _public_url() -> str:
    settings = get_settings()
    return settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
