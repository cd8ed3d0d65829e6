"""Evaluation as a nameko service: every event that counts is logged and turned into facts and daily
totals as it arrives (idempotently); figures and their records by RPC; the directory's calendar kept
for working days."""
from __future__ import annotations

import base64

from nameko.timer import timer

from services.evaluation.adapters import orm
from services.evaluation.adapters.orm import Base
from services.evaluation.service_layer import counting, figures, rankings, ratings, reports
from shared.clock import utcnow
from shared.contracts import evaluation as c
from shared.contracts.base import parse, to_wire
from shared.contracts.directory import CountyQuery
from shared.contracts.envelope import EventEnvelope
from shared.copies import KeepsCalendar
from shared.db import Database
from shared.errors import ValidationFailed
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc
from shared.settings import get_settings


class EvaluationService(KeepsCalendar, DeadLetters):
    name = "evaluation"
    calendar_copy = orm.CalendarDayCopy

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    vault = PersonalData()
    observed = Observed()

    @rpc
    def figures(self, query: dict) -> dict:
        return to_wire(figures.figures(self.db, caller=self.caller(), query=parse(c.FiguresQuery, query)))

    @rpc
    def records(self, query: dict) -> list:
        return to_wire(figures.records(self.db, caller=self.caller(), query=parse(c.RecordsQuery, query)))

    @rpc
    def township_report(self, query: dict) -> dict:
        return to_wire(reports.township_report(self.db, caller=self.caller(), query=parse(c.ReportQuery, query),
                                               now=utcnow()))

    @rpc
    def township_report_file(self, query: dict, format: str, names: dict | None = None) -> str:
        """The report as CSV text, or an .xlsx workbook or the trend chart (PNG) in base64; `names` (the
        directory's names of the township's stations, villages and staff) name the units in the files."""
        report = reports.township_report(self.db, caller=self.caller(), query=parse(c.ReportQuery, query), now=utcnow())
        named = parse(c.ReportNames, names or {})
        if format == "csv":
            return reports.report_csv(report, named)
        if format == "xlsx":
            return base64.b64encode(reports.report_xlsx(report, named)).decode()
        if format == "png":
            return base64.b64encode(reports.trend_png(report)).decode()
        raise ValidationFailed("format is csv, xlsx or png", [{"field": "format", "message": str(format)}])

    @rpc
    def score_settings(self, county_code: str | None = None) -> dict:
        return to_wire(rankings.score_settings(self.db, rankings.settings_county(self.caller(), _county(county_code))))

    @rpc
    def set_score_settings(self, settings: dict, county_code: str | None = None) -> dict:
        return to_wire(rankings.set_score_settings(self.db, caller=self.caller(), cmd=parse(c.ScoreSettings, settings),
                                                   now=utcnow(), county_code=_county(county_code)))

    @rpc
    def ranking(self, query: dict) -> dict:
        return to_wire(rankings.ranking(self.db, caller=self.caller(), query=parse(c.RankingQuery, query)))

    @rpc
    def honour_lists(self, query: dict) -> dict:
        return to_wire(rankings.honour_lists(self.db, caller=self.caller(), query=parse(c.RankingQuery, query)))

    # ---- ratings 好差评 -------------------------------------------------------------------------------
    @rpc
    def rate(self, rating: dict) -> dict:
        return to_wire(ratings.rate(self.db, caller=self.caller(), cmd=parse(c.RatingCreate, rating), vault=self.vault,
                                    now=utcnow()))

    @rpc
    def rate_public(self, rating: dict) -> dict:
        return to_wire(ratings.rate(self.db, caller=self.caller(), cmd=parse(c.PublicRating, rating), vault=self.vault,
                                    now=utcnow()))

    @rpc
    def get_rating(self, receipt_no: str) -> dict:
        return to_wire(ratings.get_rating(self.db, caller=self.caller(), receipt_no=receipt_no))

    @rpc
    def follow_up(self, receipt_no: str, note: str) -> dict:
        note = parse(c.FollowUpNote, {"note": note}).note
        return to_wire(ratings.follow_up(self.db, caller=self.caller(), receipt_no=receipt_no, note=note, now=utcnow()))

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def sweep_ratings(self) -> None:
        """Invitations to rate, and 督办 for bad ratings not called back in time."""
        ratings.sweep(self.db, now=utcnow())

    @timer(interval=get_settings().sweep_seconds, eager=True)
    def publish_gauges(self) -> None:
        figures.update_gauges(self.db, now=utcnow())

    @on_event("directory", "township_changed")
    def on_township_changed(self, envelope: EventEnvelope) -> None:
        counting.keep_township(self.db, township=envelope.payload)

    # ---- what counts: one handler per event, all through the same log, which keeps each event id once ----
    # (so no inbox row: once=False)
    def _count(self, envelope: EventEnvelope) -> None:
        counting.record_event(self.db, event_id=envelope.event_id, source=envelope.source, event_type=envelope.type,
                              occurred_at=envelope.occurred_at, payload=envelope.payload)

    @on_event("intake", "application_filed", once=False)
    def on_application_filed(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("intake", "application_completed_on_the_spot", once=False)
    def on_application_completed_on_the_spot(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("intake", "activity_recorded", once=False)
    def on_activity_recorded(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("approvals", "application_progressed", once=False)
    def on_application_progressed(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("approvals", "supervision_notice_issued", once=False)
    def on_supervision_notice_issued(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("approvals", "accountability_recorded", once=False)
    def on_accountability_recorded(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("scheduling", "session_attendance_recorded", once=False)
    def on_session_attendance_recorded(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("scheduling", "visit_reported", once=False)
    def on_visit_reported(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("complaints", "complaint_registered", once=False)
    def on_complaint_registered(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("complaints", "complaint_progressed", once=False)
    def on_complaint_progressed(self, envelope: EventEnvelope) -> None:
        self._count(envelope)

    @on_event("complaints", "complaint_finding_recorded", once=False)
    def on_complaint_finding_recorded(self, envelope: EventEnvelope) -> None:
        self._count(envelope)


def _county(value: str | None) -> str | None:
    return None if value is None else parse(CountyQuery, {"county_code": value}).county_code
