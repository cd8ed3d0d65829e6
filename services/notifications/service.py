"""Notifications as a nameko service: other services' events become messages to applicants, villagers,
complainants and staff (made once per event, recipient and notice, in the event's own transaction);
a timer sends what is due through the county's SMS provider; staff read theirs in the console."""
from __future__ import annotations

from nameko.timer import timer

from services.notifications.adapters import orm
from services.notifications.adapters.contacts import Contacts
from services.notifications.adapters.orm import Base
from services.notifications.adapters.providers import Providers
from services.notifications.adapters.repositories.messages import SENDER
from services.notifications.service_layer import county, inbox, reports, sending, telling
from shared.clock import utcnow
from shared.contracts import notifications as c
from shared.contracts.approvals import ApplicationProgressed, CaseWaiting, DeadlineEvent
from shared.contracts.base import parse, to_wire
from shared.contracts.complaints import AlertRaised, ComplaintFacts, ComplaintProgressed
from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import ApplicationFiled
from shared.contracts.scheduling import BookingChanged, OccasionCalledOff, SessionReminder, VisitReminder
from shared.copies import KeepsStaff, KeepsVillages
from shared.db import Database
from shared.messaging import DeadLetters, OutboxRelay, on_event, replayable
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc, ticker
from shared.settings import get_settings

# how often at least the sender looks for due messages: a message made in this process wakes it at its
# commit, and each round says when the next waiting one is due (quiet hours, a retry) to wake then; what
# another replica made, or a send cut off when its process died, is found at the next look
SEND_SECONDS = 30.0


class NotificationsService(KeepsStaff, KeepsVillages, DeadLetters):
    name = "notifications"
    staff_copy = orm.StaffCopy
    village_copy = orm.VillageCopy

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

    @on_event("approvals", "case_waiting")
    def on_case_waiting(self, envelope: EventEnvelope) -> None:
        telling.case_waiting(self.db, event_id=envelope.event_id, waiting=parse(CaseWaiting, envelope.payload),
                             now=utcnow())

    @on_event("evaluation", "rating_invitation")
    def on_rating_invitation(self, envelope: EventEnvelope) -> None:
        telling.rating_invitation(self.db, event_id=envelope.event_id, invitation=envelope.payload,
                                  public_url=_public_url(), now=utcnow())

    @on_event("scheduling", "booking_changed")
    def on_booking_changed(self, envelope: EventEnvelope) -> None:
        telling.booking_changed(self.db, event_id=envelope.event_id, changed=parse(BookingChanged, envelope.payload),
                                now=utcnow())

    @on_event("scheduling", "occasion_called_off", when=lambda p: bool(p.get("booking_ids")))
    def on_occasion_called_off(self, envelope: EventEnvelope) -> None:
        telling.occasion_called_off(self.db, event_id=envelope.event_id,
                                    called_off=parse(OccasionCalledOff, envelope.payload), now=utcnow())

    @on_event("complaints", "complaint_registered")
    def on_complaint_registered(self, envelope: EventEnvelope) -> None:
        telling.complaint_registered(self.db, event_id=envelope.event_id,
                                     facts=parse(ComplaintFacts, envelope.payload), public_url=_public_url(),
                                     now=utcnow())

    @on_event("complaints", "complaint_progressed", when=lambda p: p.get("action") in ("assign", "reply"))
    def on_complaint_progressed(self, envelope: EventEnvelope) -> None:
        telling.complaint_progressed(self.db, event_id=envelope.event_id,
                                     progressed=parse(ComplaintProgressed, envelope.payload),
                                     public_url=_public_url(), now=utcnow())

    @on_event("complaints", "early_warning_raised")
    def on_early_warning_raised(self, envelope: EventEnvelope) -> None:
        telling.early_warning(self.db, event_id=envelope.event_id, alert=parse(AlertRaised, envelope.payload),
                              now=utcnow())

    @on_event("approvals", "approval_warning")
    def on_approval_warning(self, envelope: EventEnvelope) -> None:
        telling.deadline_warning(self.db, event_id=envelope.event_id, event=parse(DeadlineEvent, envelope.payload),
                                 now=utcnow())

    @on_event("approvals", "supervision_notice_issued")
    def on_supervision_notice_issued(self, envelope: EventEnvelope) -> None:
        telling.supervision_notice(self.db, event_id=envelope.event_id,
                                   event=parse(DeadlineEvent, envelope.payload), now=utcnow())

    @on_event("approvals", "accountability_recorded")
    def on_accountability_recorded(self, envelope: EventEnvelope) -> None:
        telling.accountability(self.db, event_id=envelope.event_id, event=parse(DeadlineEvent, envelope.payload),
                               now=utcnow())

    @on_event("scheduling", "session_reminder")
    def on_session_reminder(self, envelope: EventEnvelope) -> None:
        telling.roster_reminder(self.db, event_id=envelope.event_id,
                                reminder=parse(SessionReminder, envelope.payload), now=utcnow())

    @on_event("scheduling", "visit_reminder")
    def on_visit_reminder(self, envelope: EventEnvelope) -> None:
        telling.visit_reminder(self.db, event_id=envelope.event_id, reminder=parse(VisitReminder, envelope.payload),
                               now=utcnow())

    # ---- the directory's names and people --------------------------------------------------------------------
    @on_event("directory", "station_changed")
    def on_station_changed(self, envelope: EventEnvelope) -> None:
        telling.keep_station(self.db, envelope.payload)

    @on_event("directory", "market_site_changed")
    def on_market_site_changed(self, envelope: EventEnvelope) -> None:
        telling.keep_market_site(self.db, envelope.payload)

    # ---- sending ----------------------------------------------------------------------------------------------
    @ticker(interval=SEND_SECONDS, woken_by=SENDER, eager=True)
    def send_due(self) -> float | None:
        """Send what is due; the seconds until the next message is due, for the ticker to wake then."""
        sent = sending.send_due(self.db, contacts=self.contacts, providers=self.providers, vault=self.vault,
                                clock=utcnow)
        return None if sent.next_at is None else (sent.next_at - utcnow()).total_seconds()

    @replayable
    def send_again(self, dead_letter: dict) -> None:
        """Replaying an SMS that failed for good (`cunban dlq replay`, `POST /dead-letters/replay`)."""
        sending.send_again(self.db, int(dead_letter["payload"]["message_id"]), now=utcnow())

    # ---- what providers report back (the gateway's callback routes, as the platform's own caller) ----------
    @rpc
    def delivery_reports(self, provider: str, county_code: str, callback: dict) -> dict:
        return to_wire(reports.delivery_reports(self.db, provider=provider, county_code=county_code,
                                                callback=parse(c.Callback, callback), vault=self.vault, now=utcnow()))

    @rpc
    def record_opt_outs(self, provider: str, county_code: str, callback: dict) -> dict:
        return to_wire(reports.record_opt_outs(self.db, provider=provider, county_code=county_code,
                                               callback=parse(c.Callback, callback), vault=self.vault, now=utcnow()))


    @timer(interval=get_settings().sweep_seconds, eager=True)
    def remind_bookings(self) -> None:
        telling.remind_bookings(self.db, now=utcnow())

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def publish_gauges(self) -> None:
        sending.update_gauges(self.db, now=utcnow())


def _public_url() -> str:
    settings = get_settings()
    return settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
