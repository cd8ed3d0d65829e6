"""Evaluation use cases: count each event of the other services (logged, turned into facts, added to the
daily totals of every unit it belongs to), read figures for any unit and period, drill down to the
records, and rebuild everything by replaying the log."""
from __future__ import annotations

import csv
import functools
import io
import time
import uuid
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator, PercentFormatter
from openpyxl import Workbook
from sqlalchemy import delete, func, select, text, update

from services.evaluation.adapters import orm
from services.evaluation.domain import facts as f
from services.evaluation.domain.figures import COMPLETION_METRICS, rates
from services.evaluation.domain.report import township_summary
from services.evaluation.domain.scores import commendable, components, rank, score
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller, Role
from shared.copies import working_calendar
from shared.db import UnitOfWork, change, insert_new, insert_or_add, insert_or_ignore, within_scope
from shared.divisions import county_of, township_range
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.observability import metrics
from shared.pii import PersonalDataVault
from shared.receipts import LOOKUP_LIMITS, Attempts
from shared.working_days import WorkingCalendar, deadline

# ---- counting ---------------------------------------------------------------------------------------------

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)


def record_event(uow: UnitOfWork, *, event_id: str, source: str, event_type: str, occurred_at: datetime,
                 payload: dict[str, Any]) -> int:
    """Log an event and count it; the caller commits (with the consume-once mark). Returns new facts. An
    event already in the log (replayed from a dead-letter queue, say) is not counted again."""
    if not insert_new(uow.session, orm.EventLogRow, event_id=event_id, source=source, event_type=event_type,
                      occurred_at=occurred_at, payload=payload):
        return 0
    return apply_event(uow, event_type=event_type, occurred_at=occurred_at, payload=payload)


def apply_event(uow: UnitOfWork, *, event_type: str, occurred_at: datetime, payload: dict[str, Any]) -> int:
    day = today_in_china(occurred_at)
    p = payload
    if event_type in APPLICATION_EVENTS:
        app = _follow(uow, event_type, p, day)
        calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(app.township_code)) \
            if app.completed_on and app.township_code else WorkingCalendar()
        steps = f.step_facts(p, day) if event_type == "application_progressed" else []
        return _add(uow, f.application_facts(app, calendar) + steps)
    if event_type == "accountability_recorded":
        return _add(uow, [f.accountability_fact(p, day)])
    if event_type == "activity_recorded":
        return _add(uow, [f.activity_fact(p)])
    if event_type == "session_attendance_recorded":
        return _add(uow, [f.attendance_fact(p)])
    if event_type == "visit_reported":
        return _add(uow, f.visit_facts(p))
    if event_type == "complaint_finding_recorded":
        fact = f.finding_fact(p, day)
        return _add(uow, [fact] if fact else [])
    if event_type == "complaint_registered":
        _keep_rateable(uow, p["receipt_no"], kind="complaint", township_code=p["township_code"],
                       station_code=p.get("station_code"), village_code=p["village_code"],
                       contact_check=p.get("contact_check"))
        return _add(uow, [f.complaint_fact(p, day)])
    if event_type == "complaint_progressed":
        if p["to_status"] == "replied":  # may come before its registration: the row waits for it
            row = _rateable(uow, p["receipt_no"], kind="complaint", township_code=p["township_code"])
            row.ready_on, row.staff_id = row.ready_on or day, p.get("handler_staff_id")
        return 0
    if event_type == "rating_recorded":
        return _add(uow, f.rating_facts(p))
    return 0


def _rateable(uow: UnitOfWork, receipt_no: str, *, kind: str, township_code: str, **values: Any) -> orm.RateableRow:
    row = uow.hold(orm.RateableRow, receipt_no, receipt_no=receipt_no, kind=kind, township_code=township_code,
                   **values)
    change(row, kind=kind, township_code=township_code)
    return row


def _keep_rateable(uow: UnitOfWork, receipt_no: str, *, kind: str, township_code: str, **values: Any) -> None:
    """What may be rated, kept current from the events; never forgets an invitation already sent. A new row
    is inserted with its values (nothing left to update)."""
    kept = {name: value for name, value in values.items() if value is not None or name == "ready_on"}
    change(_rateable(uow, receipt_no, kind=kind, township_code=township_code, **kept), **kept)


APPLICATION_EVENTS = frozenset({"application_filed", "application_completed_on_the_spot", "application_progressed",
                                "supervision_notice_issued"})


def _follow(uow: UnitOfWork, event_type: str, p: dict[str, Any], day: date) -> f.ApplicationRecord:
    """Update what is known of an application from one of its events, in whatever order they come. The
    application's first event inserts its row as that event leaves it, so nothing is left to update."""
    app_id = p["id"] if event_type in ("application_filed", "application_completed_on_the_spot") \
        else p["application_id"]
    first = _learn(f.ApplicationRecord(id=app_id, receipt_no=p["receipt_no"]), event_type, p, day)
    row = uow.hold(orm.ApplicationRow, app_id, **asdict(first))
    app = _learn(f.ApplicationRecord(**{k: getattr(row, k) for k in f.ApplicationRecord.__dataclass_fields__}),
                 event_type, p, day)
    change(row, **asdict(app))
    if app.township_code is not None:
        _keep_rateable(uow, app.receipt_no, kind="application", township_code=app.township_code,
                       station_code=app.station_code, village_code=app.village_code, staff_id=app.staff_id,
                       contact_check=p.get("contact_check"), ready_on=app.completed_on)
    return app


def _learn(app: f.ApplicationRecord, event_type: str, p: dict[str, Any], day: date) -> f.ApplicationRecord:
    """What one event of an application adds to what was known of it."""
    if event_type == "application_filed":
        return replace(app, township_code=p["township_code"], station_code=p["station_code"],
                       village_code=p["village_code"], staff_id=p["accountable_staff_id"],
                       filed_on=today_in_china(datetime.fromisoformat(p["filed_at"])))
    if event_type == "application_completed_on_the_spot":
        done = today_in_china(datetime.fromisoformat(p["completed_at"]))
        return replace(app, completed_on=done, promised_deadline=done)
    if event_type == "supervision_notice_issued":
        return replace(app, overdue_on=app.overdue_on or day)
    if p.get("promised_deadline"):
        app = replace(app, promised_deadline=date.fromisoformat(p["promised_deadline"]))
    if p["stage"] == "completed":
        app = replace(app, completed_on=today_in_china(datetime.fromisoformat(p["occurred_at"])))
    return app


def _add(uow: UnitOfWork, facts: list[f.Fact]) -> int:
    """Insert the facts not yet counted and add each to the daily totals of every unit it belongs to
    (gathered over the transaction, summed per row and written just before the commit: `_write_totals`)."""
    totals = uow.gathered("daily_totals", _write_totals)
    added = 0
    for fact in facts:
        if not insert_new(uow.session, orm.FactRow, metric=fact.metric.value, ref=fact.ref, day=fact.day,
                          township_code=fact.township_code, station_code=fact.station_code,
                          village_code=fact.village_code, staff_id=fact.staff_id, value=fact.value):
            continue  # counted already
        units = fact.units()
        for level, unit in units:
            key = (level.value, unit, fact.metric.value, fact.day)
            total, records = totals.get(key, (0, 0))
            totals[key] = (total + fact.value, records + 1)
        # a unit's township is written once and read through the process's copy cache: a busy station's
        # facts find it there instead of inserting it again and again
        unknown = [{"level": level.value, "unit": unit, "township_code": fact.township_code}
                   for level, unit in units
                   if level is not c.Level.COUNTY and uow.copy(orm.UnitTownship, (level.value, unit)) is None]
        if unknown:
            insert_or_ignore(uow.session, orm.UnitTownship, unknown)
        added += 1
    return added


def _write_totals(uow: UnitOfWork, totals: dict[tuple[str, str, str, date], tuple[float, int]]) -> None:
    """One upsert adding what the transaction counted to each daily total, in key order (two transactions
    adding to the same rows lock them in the same order)."""
    insert_or_add(uow.session, orm.DailyTotal, [
        {"level": level, "unit": unit, "metric": metric, "day": day, "total": total, "records": records}
        for (level, unit, metric, day), (total, records) in sorted(totals.items())],
        key=["level", "unit", "metric", "day"], summed=["total", "records"])


# ---- reading ---------------------------------------------------------------------------------------------

def _township_of(uow: UnitOfWork, caller: Caller, level: c.Level, unit: str | None) -> str | None:
    """The unit's township, after checking the caller may see the unit's figures."""
    if caller.role is Role.PUBLIC:
        raise NotFound("no figures for this unit", code="unit_not_found")
    if level is c.Level.COUNTY:
        if not caller.is_county:
            raise Forbidden("the county's figures are for the county's roles", code="not_county")
        if unit is None and caller.county is None:
            raise ValidationFailed("name the county", [{"field": "unit", "message": "a 6-digit county code"}],
                                   code="county_required")
        if unit is not None and not caller.sees_county(unit):
            raise NotFound("no figures for this unit", code="unit_not_found")
        return None
    township = unit if level is c.Level.TOWNSHIP else uow.session.execute(
        select(orm.UnitTownship.township_code).where(orm.UnitTownship.level == level.value,
                                                     orm.UnitTownship.unit == unit)).scalar_one_or_none()
    if township is None or not caller.sees_township(township):
        raise NotFound("no figures for this unit", code="unit_not_found")
    return township


def figures(uow: UnitOfWork, *, caller: Caller, query: c.FiguresQuery) -> c.Figures:
    township = _township_of(uow, caller, query.level, query.unit)
    unit = query.unit or caller.county if query.level is c.Level.COUNTY else query.unit
    counts = _counts(uow, query.level, [unit], query.start, query.end)[unit]
    return c.Figures(level=query.level, unit=query.unit, township_code=township, start=query.start, end=query.end,
                     basis=query.basis, counts=counts, **rates(counts, query.basis))


def _counts(uow: UnitOfWork, level: c.Level, units: list[str], start: date,
            end: date) -> dict[str, dict[c.Metric, float]]:
    """Every metric's total for each unit over a period: one grouped query over the daily totals."""
    t = orm.DailyTotal
    sums: dict[str, dict[c.Metric, float]] = {unit: dict.fromkeys(c.Metric, 0.0) for unit in units}
    if units:
        for unit, metric, total in uow.session.execute(
                select(t.unit, t.metric, func.sum(t.total)).where(
                    t.level == level.value, t.unit.in_(units), t.day >= start, t.day <= end)
                .group_by(t.unit, t.metric)):
            sums[unit][c.Metric(metric)] = float(total)
    return sums


UNIT_COLUMNS = {c.Level.STAFF: orm.FactRow.staff_id, c.Level.STATION: orm.FactRow.station_code,
                c.Level.VILLAGE: orm.FactRow.village_code, c.Level.TOWNSHIP: orm.FactRow.township_code}


def records(uow: UnitOfWork, *, caller: Caller, query: c.RecordsQuery) -> list[c.FactView]:
    """The records behind one figure: the numbers are never a black box."""
    _township_of(uow, caller, query.level, query.unit)
    r = orm.FactRow
    stmt = select(r).where(r.metric == query.metric.value, r.day >= query.start, r.day <= query.end)
    if query.level is c.Level.COUNTY:
        first, last = township_range(query.unit or caller.county)
        stmt = stmt.where(r.township_code.between(first, last))
    else:
        column = UNIT_COLUMNS[query.level]
        stmt = stmt.where(column == (int(query.unit) if query.level is c.Level.STAFF else query.unit))
    stmt = stmt.order_by(r.day, r.ref).limit(query.limit).offset(query.offset)
    return [c.FactView(metric=x.metric, ref=x.ref, day=x.day, township_code=x.township_code,
                       station_code=x.station_code, village_code=x.village_code, staff_id=x.staff_id, value=x.value)
            for x in uow.session.execute(stmt).scalars()]


# ---- ratings 好差评 ---------------------------------------------------------------------------------------

FOLLOW_UP_DAYS = 15  # working days to call back after a bad rating
INVITE_AFTER = timedelta(days=3)


def rate(uow: UnitOfWork, *, caller: Caller, cmd: c.RatingCreate | c.PublicRating, vault: PersonalDataVault,
         now: datetime) -> c.RatingView:
    """Once per item, once it is completed (or, for a complaint, replied). In public, the receipt number
    with the phone's last four digits (or the look-up code), guesses limited as for the look-up."""
    # locked: a station's retry racing its first try waits for it, then finds the rating it made
    row = uow.session.get(orm.RateableRow, cmd.receipt_no, with_for_update=True)
    if isinstance(cmd, c.PublicRating):
        LOOKUPS.check(uow, cmd.receipt_no, cmd.client, now)
        if row is None or row.contact_check != vault.contact_check(cmd.receipt_no, cmd.code.strip().upper()):
            LOOKUPS.fail(uow, cmd.receipt_no, cmd.client, now,
                         NotFound("nothing to rate matches this receipt number and code", code="rateable_not_found"))
        channel = "public_lookup"
    else:
        if row is None or not caller.sees_station(row.township_code, row.station_code):  # a key: its station's
            raise NotFound("nothing to rate with this receipt number", code="rateable_not_found")
        if caller.staff_id is not None and caller.staff_id == row.staff_id:
            raise Forbidden("a rating of your own work is recorded by a colleague or given in public",
                            code="own_work")
        channel = cmd.channel
    if row.ready_on is None:
        raise Conflict("rate once it is completed (an application) or replied (a complaint)", code="not_rateable")
    existing = uow.session.get(orm.RatingRow, row.receipt_no)
    if existing is not None:
        if _same_rating(existing, cmd, channel, caller):
            return _rating_view(existing)  # the same rating sent again (a retry): the first one stands, once
        raise Conflict("this has been rated already: one rating per item", code="already_rated")
    today = today_in_china(now)
    bad = cmd.level < c.SATISFIED_FROM
    follow_up_due = deadline(working_calendar(uow, orm.CalendarDayCopy, county_of(row.township_code)), today,
                             FOLLOW_UP_DAYS) if bad else None
    rating = orm.RatingRow(receipt_no=row.receipt_no, kind=row.kind, township_code=row.township_code, level=cmd.level,
                           comment=cmd.comment, efficiency=cmd.efficiency, attitude=cmd.attitude,
                           clarity=cmd.clarity, channel=channel, rated_on=today, rated_at=now,
                           recorded_by=caller.staff_id, follow_up_due=follow_up_due)
    uow.session.add(rating)
    event = {"receipt_no": row.receipt_no, "kind": row.kind, "level": cmd.level, "satisfied": not bad,
             "township_code": row.township_code, "station_code": row.station_code, "village_code": row.village_code,
             "staff_id": row.staff_id, "day": today.isoformat(), "follow_up_due": follow_up_due and
             follow_up_due.isoformat()}
    record_event(uow, event_id=uuid.uuid4().hex, source="evaluation", event_type="rating_recorded", occurred_at=now,
                 payload=event)
    uow.record_event("rating_recorded", event, township_code=row.township_code, now=now)
    uow.commit()
    return _rating_view(rating)


def _same_rating(existing: orm.RatingRow, cmd: c.RatingCreate | c.PublicRating, channel: str, caller: Caller) -> bool:
    return (existing.level, existing.comment, existing.efficiency, existing.attitude, existing.clarity,
            existing.channel, existing.recorded_by) == (cmd.level, cmd.comment, cmd.efficiency, cmd.attitude,
                                                        cmd.clarity, channel, caller.staff_id)


def follow_up(uow: UnitOfWork, *, caller: Caller, receipt_no: str, note: str, now: datetime) -> c.RatingView:
    """The call-back after a bad rating (差评回访), by the township's staff."""
    rating = uow.session.get(orm.RatingRow, receipt_no)
    if rating is None or not caller.sees_township(rating.township_code):
        raise NotFound("no rating with this receipt number", code="rating_not_found")
    if rating.follow_up_due is None or rating.followed_up_at is not None:
        raise Conflict("no follow-up is open for this rating", code="no_follow_up")
    rating.followed_up_at, rating.follow_up_note = now, note
    uow.record_event("rating_followed_up", {"receipt_no": receipt_no, "township_code": rating.township_code,
                                            "by_staff_id": caller.staff_id}, township_code=rating.township_code,
                     now=now)
    uow.commit()
    return _rating_view(rating)


def get_rating(uow: UnitOfWork, *, caller: Caller, receipt_no: str) -> c.RatingView:
    rating = uow.session.get(orm.RatingRow, receipt_no)
    if rating is None or not caller.sees_township(rating.township_code):
        raise NotFound("no rating with this receipt number", code="rating_not_found")
    return _rating_view(rating)


def _rating_view(r: orm.RatingRow) -> c.RatingView:
    return c.RatingView(receipt_no=r.receipt_no, kind=r.kind, level=r.level, words=c.RATING_WORDS[r.level],
                        satisfied=r.level >= c.SATISFIED_FROM, comment=r.comment, efficiency=r.efficiency,
                        attitude=r.attitude, clarity=r.clarity, channel=r.channel, rated_on=r.rated_on,
                        follow_up_due=r.follow_up_due)


def sweep(uow: UnitOfWork, *, now: datetime, batch: int = 200) -> tuple[int, int]:
    """Invite a rating 3 days after completion when none came; a 督办 when a bad rating's call-back is
    late. Each claimed once with a conditional UPDATE, as every sweep here."""
    today = today_in_china(now)
    rt, rg = orm.RateableRow, orm.RatingRow
    to_invite = list(uow.session.execute(select(rt.receipt_no).where(
        rt.invited_at.is_(None), rt.ready_on <= today - INVITE_AFTER,
        ~select(rg.receipt_no).where(rg.receipt_no == rt.receipt_no).exists()).limit(batch)).scalars())
    invited = 0
    for receipt_no in to_invite:
        if uow.claim(update(rt).where(rt.receipt_no == receipt_no, rt.invited_at.is_(None)).values(invited_at=now)):
            row = uow.session.get(rt, receipt_no)
            uow.record_event("rating_invitation", {"receipt_no": receipt_no, "kind": row.kind,
                                                   "township_code": row.township_code},
                             township_code=row.township_code, now=now)
            uow.commit()
            invited += 1
    late = list(uow.session.execute(select(rg.receipt_no).where(
        rg.followed_up_at.is_(None), rg.overdue_at.is_(None), rg.follow_up_due < today).limit(batch)).scalars())
    supervised = 0
    for receipt_no in late:
        if uow.claim(update(rg).where(rg.receipt_no == receipt_no, rg.overdue_at.is_(None),
                                      rg.followed_up_at.is_(None)).values(overdue_at=now)):
            rating = uow.session.get(rg, receipt_no)
            uow.record_event("rating_follow_up_overdue", {"receipt_no": receipt_no, "township_code":
                                                          rating.township_code, "due_on": rating.follow_up_due
                                                          .isoformat()}, township_code=rating.township_code, now=now)
            uow.commit()
            supervised += 1
    return invited, supervised


# ---- composite score, rankings, commendation and accountability ---------------------------------------

INSTALLATION_SETTINGS = 1  # the row of the installation's default weights; a county's own has its code


def _county_settings(uow: UnitOfWork, county: str) -> orm.ScoreSettingsRow | None:
    s = orm.ScoreSettingsRow
    return uow.session.execute(select(s).where(s.county_code == county)).scalar_one_or_none()


def score_settings(uow: UnitOfWork, county: str | None = None) -> c.ScoreSettings:
    """The weights a county's scores are made with (完善考评制度: "weights the county sets"): its own once it
    has set them, else the installation's default, else the built-in one."""
    row = _county_settings(uow, county) if county else None
    row = row or uow.session.get(orm.ScoreSettingsRow, INSTALLATION_SETTINGS)
    return c.ScoreSettings.model_validate(row.settings) if row else c.ScoreSettings()


def settings_county(caller: Caller, county_code: str | None) -> str | None:
    """Whose weights a call reads or sets: the county named (the system administrator's choice; another
    county's is not found), else the caller's own; None: the installation's default."""
    if county_code is not None and not caller.sees_county(county_code):
        raise NotFound("no such county here", code="county_not_found")
    return county_code or caller.county


def set_score_settings(uow: UnitOfWork, *, caller: Caller, cmd: c.ScoreSettings, now: datetime,
                       county_code: str | None = None) -> c.ScoreSettings:
    """A county admin sets its county's weights; the system administrator the installation's default, or
    a county's it names. Other counties keep theirs."""
    if not caller.is_county:
        raise Forbidden("the county sets the weights of the score", code="not_county")
    county = settings_county(caller, county_code)
    values = {"settings": cmd.model_dump(mode="json"), "updated_by": caller.staff_id, "updated_at": now}
    if county is None:
        uow.put(orm.ScoreSettingsRow, INSTALLATION_SETTINGS, {"id": INSTALLATION_SETTINGS, **values})
    elif (row := _county_settings(uow, county)) is not None:
        change(row, **values)
    else:  # a new row never takes the installation's id
        last = uow.session.execute(select(func.max(orm.ScoreSettingsRow.id))).scalar() or 0
        uow.session.add(orm.ScoreSettingsRow(id=max(last, INSTALLATION_SETTINGS) + 1, county_code=county, **values))
    uow.commit()
    return score_settings(uow, county)


def unit_figures(uow: UnitOfWork, level: c.Level, township_code: str | None, start: date,
                 end: date, basis: c.Basis = c.Basis.COHORT, *, within: Caller | None = None) -> list[c.Figures]:
    """The figures of every unit of a level (in one township, or all those `within` the caller's reach),
    with one grouped query."""
    u = orm.UnitTownship
    stmt = select(u.unit, u.township_code).where(u.level == level.value).order_by(u.unit)
    if within is not None:
        stmt = stmt.where(*within_scope(within, u.township_code))
    if township_code:
        stmt = stmt.where(u.township_code == township_code)
    townships = dict(uow.session.execute(stmt).all())
    sums = _counts(uow, level, list(townships), start, end)
    return [c.Figures(level=level, unit=unit, township_code=township, start=start, end=end, basis=basis,
                      counts=sums[unit], **rates(sums[unit], basis)) for unit, township in townships.items()]


def ranking(uow: UnitOfWork, *, caller: Caller, query: c.RankingQuery) -> c.Ranking:
    """Every unit of a level within a township (or, for townships, across the county), scored; ranked
    when it has the minimum sample (applications received; for a staff member, with the review steps
    they handled), shown but not ranked otherwise."""
    if caller.role is Role.PUBLIC:
        raise NotFound("no ranking here", code="unit_not_found")
    if query.township_code is None and not caller.is_county:
        raise Forbidden("rankings across the county are for the county's roles", code="not_county")
    if query.township_code is not None and not caller.sees_township(query.township_code):
        raise NotFound("no ranking here", code="unit_not_found")
    settings = score_settings(uow, county_of(query.township_code) if query.township_code else caller.county)
    scored = []
    staff = query.level is c.Level.STAFF
    for figures_ in unit_figures(uow, query.level, query.township_code, query.start, query.end, query.basis,
                                 within=caller):
        parts = components(figures_.counts, query.basis, staff=staff)
        scored.append((figures_.unit, figures_.township_code, score(parts, settings), parts,
                       int(figures_.counts[c.Metric.RECEIVED]), figures_))
    ranks = rank([(unit, value, received + (int(f_.counts[c.Metric.STEPS_HANDLED]) if staff else 0))
                  for unit, _, value, _, received, f_ in scored], settings.min_sample)
    units = [c.ScoredUnit(unit=unit, township_code=township, score=value, components=parts, received=received,
                          rank=ranks[unit], figures=figures_)
             for unit, township, value, parts, received, figures_ in scored]
    units.sort(key=lambda x: (x.rank is None, x.rank or 0, -(x.score or 0), x.unit))
    return c.Ranking(level=query.level, township_code=query.township_code, start=query.start, end=query.end,
                     settings=settings, units=units, basis=query.basis)


def honour_lists(uow: UnitOfWork, *, caller: Caller, query: c.RankingQuery) -> c.HonourLists:
    """责任追究: a ranked score below the line, a substantiated complaint, and — for a staff member — the
    责任追究 records approvals made against them (whoever held the late step), for a station, village or
    township too many overdue items; 表彰: a rank within the top share (`commendable`), and never
    anyone on the accountability list. Each entry with the records behind it."""
    ranked = ranking(uow, caller=caller, query=query)
    settings = ranked.settings
    period = {"start": query.start, "end": query.end}

    def behind(unit: str, *metrics: c.Metric) -> list[c.FactView]:
        return [fact for metric in metrics for fact in records(uow, caller=caller, query=c.RecordsQuery(
            metric=metric, level=query.level, unit=unit, limit=200, **period))]

    accountability = []
    for x in ranked.units:
        reasons = []
        if x.rank is not None and x.score is not None and x.score < settings.accountability_below:
            reasons.append(f"综合得分{x.score:.2f}，低于{settings.accountability_below:.2f}")
        if query.level is c.Level.STAFF:
            late = c.Metric.ACCOUNTABILITY
            if recorded := int(x.figures.counts[late]):
                reasons.append(f"责任追究记录{recorded}件")
        else:
            late = c.Metric.OVERDUE
            if (overdue := int(x.figures.counts[late])) >= settings.accountability_overdue:
                reasons.append(f"超期办件{overdue}件")
        substantiated = int(x.figures.counts[c.Metric.SUBSTANTIATED])
        if substantiated:
            reasons.append(f"被投诉属实{substantiated}件")
        if reasons:
            accountability.append(c.HonourEntry(unit=x.unit, township_code=x.township_code, score=x.score,
                                                reasons=reasons, records=behind(x.unit, late,
                                                                                c.Metric.SUBSTANTIATED)))
    accountable = {entry.unit for entry in accountability}
    top = commendable({x.unit: x.rank for x in ranked.units}, settings)
    commendation = [c.HonourEntry(unit=x.unit, township_code=x.township_code, score=x.score,
                                  reasons=[f"第{x.rank}名，综合得分{x.score:.2f}"],
                                  records=behind(x.unit, c.Metric.SATISFIED))
                    for x in ranked.units if x.unit in top and x.unit not in accountable]
    return c.HonourLists(level=query.level, township_code=query.township_code, start=query.start, end=query.end,
                         commendation=commendation, accountability=accountability, basis=query.basis)


def update_gauges(uow: UnitOfWork, *, now: datetime) -> None:
    """This year's rates per township, for the dashboards (NaN while a rate has nothing under it)."""
    today = today_in_china(now)
    for township in unit_figures(uow, c.Level.TOWNSHIP, None, date(today.year, 1, 1), today):
        for gauge, value in ((metrics.township_completion_ratio, township.completion_rate),
                             (metrics.township_on_time_ratio, township.on_time_rate),
                             (metrics.township_satisfaction_ratio, township.satisfaction_rate)):
            gauge.labels(township.unit).set(float("nan") if value is None else value)
        for metric in (c.Metric.RECEIVED, c.Metric.COMPLETED, c.Metric.COMPLAINTS):
            metrics.township_year_count.labels(township.unit, metric.value).set(township.counts.get(metric, 0))


# ---- the township's report ------------------------------------------------------------------------------

def township_report(uow: UnitOfWork, *, caller: Caller, query: c.ReportQuery, now: datetime) -> c.TownshipReport:
    """The township's sentence with its figures, and the figures of each of its stations and villages."""
    period = {"start": query.start, "end": query.end}
    township = figures(uow, caller=caller, query=c.FiguresQuery(level=c.Level.TOWNSHIP, unit=query.township_code,
                                                                basis=query.basis, **period))
    names = uow.session.get(orm.TownshipCopy, query.township_code)
    name = names.name if names else query.township_code

    def units(level: c.Level) -> list[c.Figures]:
        return unit_figures(uow, level, query.township_code, query.start, query.end, query.basis, within=caller)

    return c.TownshipReport(township_code=query.township_code, township_name=name, start=query.start,
                            end=query.end, basis=query.basis,
                            summary=township_summary(name, township, today_in_china(now)),
                            township=township, stations=units(c.Level.STATION), villages=units(c.Level.VILLAGE),
                            staff=units(c.Level.STAFF), months=_months(uow, query))


def _months(uow: UnitOfWork, query: c.ReportQuery) -> list[c.MonthFigures]:
    """The township's figures month by month, from its daily totals: for a cohort, of what each month
    received; for a flow, what each month completed."""
    t = orm.DailyTotal
    completed, on_time, _ = COMPLETION_METRICS[query.basis]
    wanted = [c.Metric.RECEIVED, completed, on_time, c.Metric.RATINGS, c.Metric.SATISFIED]
    by_month: dict[str, dict[c.Metric, float]] = {}
    day = query.start.replace(day=1)
    while day <= query.end:
        by_month[f"{day:%Y-%m}"] = {}
        day = (day + timedelta(days=32)).replace(day=1)
    for day, metric, total in uow.session.execute(select(t.day, t.metric, t.total).where(
            t.level == c.Level.TOWNSHIP.value, t.unit == query.township_code, t.metric.in_([m.value for m in wanted]),
            t.day >= query.start, t.day <= query.end)):
        counts = by_month[f"{day:%Y-%m}"]
        counts[c.Metric(metric)] = counts.get(c.Metric(metric), 0) + total
    return [c.MonthFigures(month=month, received=int(n.get(c.Metric.RECEIVED, 0)), completed=int(n.get(completed, 0)),
                           on_time_rate=r["on_time_rate"], satisfaction_rate=r["satisfaction_rate"])
            for month, n in by_month.items() for r in (rates(n, query.basis),)]


def unit_name(report: c.TownshipReport, names: c.ReportNames | None, row: c.Figures) -> str:
    """What a report's file calls a unit: the township's name, a station's, village's or staff member's
    name from `names`, or its code when none was given."""
    if row.level is c.Level.TOWNSHIP:
        return report.township_name
    known = {c.Level.STATION: names.stations, c.Level.VILLAGE: names.villages,
             c.Level.STAFF: names.staff}.get(row.level, {}) if names else {}
    return known.get(str(row.unit), str(row.unit))


# The report's words: one table for the workbook and the CSV alike (headers, levels, the basis).
BASIS_WORDS = {c.Basis.COHORT: "按期内受理的办件统计", c.Basis.FLOW: "按期内发生的办理统计"}
LEVEL_WORDS = {c.Level.TOWNSHIP: "乡镇", c.Level.STATION: "服务站", c.Level.VILLAGE: "行政村",
               c.Level.STAFF: "工作人员", c.Level.COUNTY: "县"}
LEVEL_SHEETS = {"township": c.Level.TOWNSHIP, "stations": c.Level.STATION, "villages": c.Level.VILLAGE,
                "staff": c.Level.STAFF}
METRIC_NAMES = {"received": "受理数", "completed": "办结数", "on_time": "按期办结", "completed_late": "超期办结",
                "working_days": "办理工作日合计",
                "overdue": "超期", "ratings": "评价数", "satisfied": "满意数", "substantiated": "被投诉属实",
                "sessions_attended": "赶集坐班到岗", "sessions_missed": "赶集坐班缺岗", "visits_made": "下访次数",
                "visits_missed": "下访缺席", "consultations": "接待来访咨询人次", "service_activities": "服务活动",
                "practical_deeds": "办实事", "complaints": "投诉", "cohort_completed": "期内受理已办结",
                "cohort_on_time": "期内受理按期办结", "cohort_working_days": "期内受理办理工作日合计",
                "steps_handled": "经办环节", "steps_on_time": "经办环节按期", "accountability": "责任追究记录"}
RATE_NAMES = {"completion_rate": "办结率", "on_time_rate": "承诺期限兑现率", "satisfaction_rate": "群众满意率",
              "average_working_days": "平均办理工作日", "step_on_time_rate": "经办环节按期率"}
UNIT_HEADER = ["单位", *[METRIC_NAMES[m.value] for m in c.Metric], *RATE_NAMES.values(), "编号"]


def unit_cells(report: c.TownshipReport, names: c.ReportNames | None, row: c.Figures) -> list[Any]:
    """A unit's cells under UNIT_HEADER: its name, its counts, its rates (None where nothing is under one),
    its code."""
    return [unit_name(report, names, row), *[_number(row.counts[m]) for m in c.Metric],
            *[getattr(row, rate) for rate in RATE_NAMES], row.unit]


def report_csv(report: c.TownshipReport, names: c.ReportNames | None = None) -> str:
    """The report's figures as CSV in the workbook's words: one row per unit (the township, then its stations,
    villages, staff), each with its level (乡镇 …), the workbook's columns (the unit by name, its figures, its
    code), then the period and the basis in words. The gateway sends it as UTF-8 with a BOM, which Excel on
    Windows needs to read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["层级", *UNIT_HEADER, "开始日期", "结束日期", "统计口径"])
    for row in [report.township, *report.stations, *report.villages, *report.staff]:
        writer.writerow([LEVEL_WORDS[row.level], *["" if v is None else v for v in unit_cells(report, names, row)],
                         row.start, row.end, BASIS_WORDS[row.basis]])
    return out.getvalue()


def report_xlsx(report: c.TownshipReport, names: c.ReportNames | None = None) -> bytes:
    """The report as a workbook: the summary, then one sheet per level (township, stations, villages,
    staff), each unit by its name (its code in the last column), then the months."""
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    summary.append([report.township_name, f"{report.start} 至 {report.end}", BASIS_WORDS[report.basis]])
    summary.append([report.summary])
    for key, level in LEVEL_SHEETS.items():
        sheet = book.create_sheet(LEVEL_WORDS[level])
        sheet.append(UNIT_HEADER)
        for row in [report.township] if key == "township" else getattr(report, key):
            sheet.append(unit_cells(report, names, row))
    months = book.create_sheet("月度趋势")
    months.append(["月份", "受理数", "办结数", "承诺期限兑现率", "群众满意率"])
    for m in report.months:
        months.append([m.month, m.received, m.completed, m.on_time_rate, m.satisfaction_rate])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The chart speaks Chinese with a CJK font of the OS (Debian's fonts-wqy-microhei, installed by the image and
# by deploy/scripts/local-servers.sh); without one it falls back to English rather than draw empty boxes.
CJK_FONT_FILES = ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "wqy-zenhei.ttc")
CHART_WORDS = {
    True: {"received": "受理数", "completed": "办结数", "count": "申请件数", "on_time": "承诺期限兑现率"},
    False: {"received": "received", "completed": "completed", "count": "applications", "on_time": "on-time rate"},
}


@functools.cache
def cjk_font() -> FontProperties | None:
    """The first CJK font found among the OS's fonts, or None."""
    found = {Path(path).name: path for path in font_manager.findSystemFonts()}
    return next((FontProperties(fname=found[name]) for name in CJK_FONT_FILES if name in found), None)


def trend_figure(report: c.TownshipReport) -> Figure:
    """The monthly trend as a chart: applications received and completed per month, and the on-time rate,
    labelled in Chinese where a CJK font is installed."""
    font = cjk_font()
    said = CHART_WORDS[font is not None]
    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.add_subplot()
    months = [m.month for m in report.months]
    positions = range(len(months))
    axes.bar([p - 0.2 for p in positions], [m.received for m in report.months], width=0.4, label=said["received"])
    axes.bar([p + 0.2 for p in positions], [m.completed for m in report.months], width=0.4,
             label=said["completed"])
    axes.set_xticks(list(positions), months, rotation=45, fontsize=8)
    axes.set_ylabel(said["count"], fontproperties=font)
    rate_axes = axes.twinx()
    rate_axes.plot(list(positions), [m.on_time_rate for m in report.months], color="black", marker="o",
                   label=said["on_time"])
    rate_axes.set_ylim(0, 1.05)
    rate_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    rate_axes.set_ylabel(said["on_time"], fontproperties=font)
    title = f"{report.township_name}：{report.start} 至 {report.end}" if font else \
        f"{report.township_code}: {report.start} - {report.end}"
    axes.set_title(title, fontproperties=font)
    handles = axes.get_legend_handles_labels()
    lines = rate_axes.get_legend_handles_labels()
    legend = font.copy() if font else FontProperties()
    legend.set_size(8)
    axes.legend(handles[0] + lines[0], handles[1] + lines[1], loc="upper left", prop=legend)
    figure.tight_layout()
    return figure


def trend_png(report: c.TownshipReport) -> bytes:
    out = io.BytesIO()
    FigureCanvasAgg(trend_figure(report)).print_png(out)
    return out.getvalue()


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def keep_township(uow: UnitOfWork, *, township: dict[str, Any]) -> None:
    uow.keep_newest(orm.TownshipCopy, township["code"], {k: township[k] for k in ("code", "name", "version")})


# ---- rebuilding ------------------------------------------------------------------------------------------

def rebuild(uow: UnitOfWork, *, batch: int = 5000) -> c.RebuildReport:
    """Forget every figure and count the logged events again, in the order they arrived. The same events
    give the same figures (facts are keyed by record, not by event)."""
    started = time.perf_counter()
    if uow.session.bind.dialect.name == "postgresql":  # events arriving meanwhile wait, then count on top
        uow.session.execute(text("LOCK TABLE event_log, facts, daily_totals, unit_townships, applications "
                                 "IN EXCLUSIVE MODE"))
    for model in (orm.DailyTotal, orm.FactRow, orm.UnitTownship, orm.ApplicationRow):
        uow.session.execute(delete(model))
    events = facts = 0
    last = 0
    while True:
        rows = list(uow.session.execute(select(orm.EventLogRow).where(orm.EventLogRow.seq > last)
                                        .order_by(orm.EventLogRow.seq).limit(batch)).scalars())
        if not rows:
            break
        for row in rows:
            facts += apply_event(uow, event_type=row.event_type, occurred_at=row.occurred_at, payload=row.payload)
        events += len(rows)
        last = rows[-1].seq
        uow.write_gathered()  # each chunk's totals, not the whole log's held in memory
        uow.session.expunge_all()
    uow.commit()
    return c.RebuildReport(events=events, facts=facts, seconds=round(time.perf_counter() - started, 3))
