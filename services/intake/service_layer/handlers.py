"""Intake use cases. Each checks the caller's scope, applies the rules, writes rows and events in one
transaction and commits."""
from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from services.intake.adapters import orm
from services.intake.domain import model
from shared.clock import CHINA, today_in_china
from shared.contracts import intake as c
from shared.contracts.approvals import ApplicationClock, ApplicationProgressed, Outcome, ProgressStage
from shared.contracts.caller import Caller
from shared.contracts.directory import ItemKind
from shared.copies import check_occasion, check_staff, check_village, working_calendar
from shared.db import UnitOfWork, insert_rows, values_of, within_scope
from shared.divisions import county_of
from shared.errors import CunbanError, NotFound, ValidationFailed
from shared.idempotency import earlier_use, remember, request_hash
from shared.pii import PersonalDataVault, mask_id_card, mask_name, mask_phone
from shared.receipts import LOOKUP_LIMITS, Attempts, next_sequence

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)


# ---- filing ----------------------------------------------------------------------------------------

def file_application(uow: UnitOfWork, *, caller: Caller, cmd: c.ApplicationFile, idempotency_key: str | None,
                     vault: PersonalDataVault, now: datetime) -> c.ApplicationView:
    township = model.require_filer(caller)
    digest = request_hash(cmd)
    # a retry (same Idempotency-Key) is rare: it is not looked for first, but found when its key collides
    # at the flush below, or when the checks refuse what they accepted the first time
    try:
        item = _item(uow, township, cmd.item_code)
        check_village(uow, orm.VillageCopy, cmd.applicant.village_code, township, field="applicant.village_code")
        station_code = _station_in_township(uow, caller.station_of_new_record(cmd.station_code), township)
        check_occasion(uow, orm.OccasionCopy, township, session_id=cmd.session_id, visit_id=cmd.visit_id)
        model.check_item_can_be_filed(item_status=item.status, item_kind=ItemKind(item.kind),
                                      complete_now=cmd.complete_now, required=item.required_materials,
                                      provided=cmd.materials_provided)
    except CunbanError:
        earlier = _replay(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier
    day = today_in_china(now)
    app = orm.Application(
        id=uuid.uuid4().hex, township_code=township, station_code=station_code,
        village_code=cmd.applicant.village_code, item_code=item.code, item_name=item.name, item_kind=item.kind,
        handling_level=item.handling_level, promised_days=item.promised_days, channel=cmd.channel.value,
        session_id=cmd.session_id, visit_id=cmd.visit_id, status=c.ApplicationStatus.RECEIVED.value, filed_at=now,
        accountable_staff_id=caller.staff_id, materials_provided=cmd.materials_provided,
        description=cmd.description, applicant_name_enc=vault.encrypt(cmd.applicant.name),
        applicant_phone_enc=vault.encrypt(cmd.applicant.phone),
        applicant_id_card_enc=vault.encrypt(cmd.applicant.id_card),
        applicant_address_enc=vault.encrypt(cmd.applicant.address) if cmd.applicant.address else None,
        applicant_id_hash=vault.search_hash(cmd.applicant.id_card))
    stages = [orm.ApplicationStage(application_id=app.id, stage=model.RECEIVED_STAGE, occurred_at=now,
                                   actor_staff_id=caller.staff_id)]
    if cmd.complete_now:
        app.status, app.outcome, app.completed_at = c.ApplicationStatus.COMPLETED.value, Outcome.APPROVED.value, now
        app.promised_deadline, app.result_note, app.days_late = day, cmd.result_note, 0
        stages.append(orm.ApplicationStage(application_id=app.id, stage=ProgressStage.COMPLETED.value,
                                           occurred_at=now, actor_staff_id=caller.staff_id, note=cmd.result_note))
    else:  # the clock starts at filing: the receipt carries the deadline (approvals' clock keeps it after)
        calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(township), after=day)
        app.promised_deadline = model.promised_deadline(calendar, day, item.promised_days)
    # the number holds the township's counter row until the commit (filings of a township take turns on
    # it): everything that does not need the number is built before it is taken
    app.receipt_no = model.format_receipt(township, day, next_sequence(uow.session, orm.ReceiptCounter, township,
                                                                         day))
    try:  # the key's primary key stops a racing retry at its INSERT or the commit
        insert_rows(uow.session, orm.Application, [values_of(app)])  # the objects are never added: plain INSERTs
        insert_rows(uow.session, orm.ApplicationStage, [values_of(stage) for stage in stages])
        if idempotency_key is not None:
            remember(uow, orm.IdempotencyKey, caller, idempotency_key, digest, app.id, now)
        _announce_filing(uow, app, item.required_materials,
                         vault.contact_check(app.receipt_no, cmd.applicant.phone[-4:]), now)
        view = _view(app, stages, [], caller, vault, day)  # what is being written: no need to read it back
        uow.commit(answer=view)
    except IntegrityError:
        uow.rollback()
        earlier = _replay(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier  # the same key raced in from a retry and won
    return view


def _facts(app: orm.Application) -> dict[str, Any]:
    return {name: getattr(app, name) for name in c.ApplicationFacts.model_fields}


def _announce_filing(uow: UnitOfWork, app: orm.Application, required: list[str], contact_check: str,
                     now: datetime) -> None:
    filed = c.ApplicationFiled(**_facts(app), required_materials=required,
                               completed_on_the_spot=app.completed_at is not None, contact_check=contact_check)
    uow.record_event("application_filed", filed.model_dump(mode="json"), township_code=app.township_code, now=now)
    if app.completed_at is not None:
        done = c.ApplicationCompletedOnTheSpot(id=app.id, receipt_no=app.receipt_no, township_code=app.township_code,
                                               item_code=app.item_code, completed_at=app.completed_at,
                                               accountable_staff_id=app.accountable_staff_id,
                                               outcome=Outcome.APPROVED)
        uow.record_event("application_completed_on_the_spot", done.model_dump(mode="json"),
                         township_code=app.township_code, now=now)


def _replay(uow: UnitOfWork, caller: Caller, key: str, digest: str, vault: PersonalDataVault,
            now: datetime) -> c.ApplicationView | None:
    """A retried filing (same Idempotency-Key) gets the first result, never a second application."""
    used = earlier_use(uow, orm.IdempotencyKey, caller, key, digest)
    if used is None:
        return None
    return _views(uow, [uow.session.get(orm.Application, used.record_id)], caller, vault, today_in_china(now))[0]


def _item(uow: UnitOfWork, township: str, code: str) -> orm.CatalogueItemCopy:
    item = uow.copy(orm.CatalogueItemCopy, (township, code))
    if item is None:
        raise ValidationFailed(f"no catalogue item {code} in this township",
                               [{"field": "item_code", "message": "unknown item"}], code="unknown_item")
    return item


def _station_in_township(uow: UnitOfWork, station_code: str | None, township: str) -> str | None:
    if station_code is None:
        return None
    station = uow.copy(orm.StationCopy, station_code)
    if station is None or station.township_code != township:
        raise ValidationFailed("the station is not in this township",
                               [{"field": "station_code", "message": "not a station of your township"}],
                               code="station_outside_township")
    return station_code


# ---- reading --------------------------------------------------------------------------------------

def get_application(uow: UnitOfWork, *, caller: Caller, receipt_or_id: str, vault: PersonalDataVault,
                    now: datetime) -> c.ApplicationView:
    column = orm.Application.receipt_no if model.is_receipt_number(receipt_or_id) else orm.Application.id
    app = uow.session.execute(select(orm.Application).where(column == receipt_or_id)).scalar_one_or_none()
    if app is None or not caller.sees_station(app.township_code, app.station_code):
        raise NotFound("application not found", code="application_not_found")
    return _views(uow, [app], caller, vault, today_in_china(now))[0]


def list_applications(uow: UnitOfWork, *, caller: Caller, query: c.ApplicationQuery, vault: PersonalDataVault,
                      now: datetime) -> c.ApplicationPage:
    """Newest first, keyset-paged on (filed_at, id): each page is one index range scan."""
    if caller.role.value == "public" or (caller.township_filter() is None and not caller.is_county):
        raise NotFound("application not found", code="application_not_found")
    today = today_in_china(now)
    a = orm.Application
    stmt = select(a).where(*within_scope(caller, a.township_code))
    if (station := caller.station_filter()) is not None:
        stmt = stmt.where(a.station_code == station)
    filters = {a.township_code: query.township_code, a.station_code: query.station_code,
               a.status: query.status and query.status.value,
               a.item_code: query.item_code, a.channel: query.channel and query.channel.value,
               a.village_code: query.village_code}
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if query.mine:
        stmt = stmt.where(a.accountable_staff_id == caller.staff_id)
    if query.filed_from:
        stmt = stmt.where(a.filed_at >= _china_midnight(query.filed_from))
    if query.filed_to:
        stmt = stmt.where(a.filed_at < _china_midnight(query.filed_to + timedelta(days=1)))
    if query.overdue is not None:
        overdue = (a.promised_deadline < today) & a.status.not_in([s.value for s in model.FINAL_STATUSES])
        stmt = stmt.where(overdue if query.overdue else ~overdue | a.promised_deadline.is_(None))
    if query.completed_late is not None:
        late = a.completed_at.is_not(None) & (a.days_late > 0)
        stmt = stmt.where(late if query.completed_late else ~late | a.days_late.is_(None))
    if query.cursor:
        filed_at, app_id = _decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(a.filed_at, a.id) < tuple_(filed_at, app_id))
    rows = list(uow.session.execute(stmt.order_by(a.filed_at.desc(), a.id.desc()).limit(query.limit + 1)).scalars())
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = _encode_cursor(rows[-1]) if more else None
    return c.ApplicationPage(items=_views(uow, rows, caller, vault, today), next_cursor=cursor)


def _china_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def _encode_cursor(app: orm.Application) -> str:
    return base64.urlsafe_b64encode(f"{app.filed_at.isoformat()}|{app.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        filed_at, app_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        parsed = datetime.fromisoformat(filed_at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, app_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor is not one this service issued",
                               [{"field": "cursor", "message": "invalid"}]) from None


def _views(uow: UnitOfWork, apps: list[orm.Application], caller: Caller, vault: PersonalDataVault,
           today: date) -> list[c.ApplicationView]:
    ids = [a.id for a in apps]
    stages: dict[str, list[orm.ApplicationStage]] = defaultdict(list)
    handlers: dict[str, list[int]] = defaultdict(list)
    if ids:
        for stage in uow.session.execute(select(orm.ApplicationStage).where(orm.ApplicationStage.application_id
                                                                            .in_(ids)).order_by(
                orm.ApplicationStage.occurred_at, orm.ApplicationStage.id)).scalars():
            stages[stage.application_id].append(stage)
        for handler in uow.session.execute(select(orm.ApplicationHandler).where(
                orm.ApplicationHandler.application_id.in_(ids))).scalars():
            handlers[handler.application_id].append(handler.staff_id)
    return [_view(app, stages[app.id], sorted(handlers[app.id]), caller, vault, today) for app in apps]


def _view(app: orm.Application, stages: list[orm.ApplicationStage], handler_ids: list[int], caller: Caller,
          vault: PersonalDataVault, today: date) -> c.ApplicationView:
    full = model.sees_personal_data(caller, app.accountable_staff_id, handler_ids)
    name, phone, id_card = (vault.decrypt(app.applicant_name_enc), vault.decrypt(app.applicant_phone_enc),
                            vault.decrypt(app.applicant_id_card_enc))
    address = vault.decrypt(app.applicant_address_enc) if app.applicant_address_enc else None
    applicant = c.ApplicantView(
        name=name if full else mask_name(name), phone=phone if full else mask_phone(phone),
        id_card=id_card if full else mask_id_card(id_card), village_code=app.village_code,
        address=address if full else None, masked=not full)
    status = c.ApplicationStatus(app.status)
    done = app.completed_at is not None
    return c.ApplicationView(
        **_facts(app), status=status, outcome=app.outcome, promised_deadline=app.promised_deadline,
        completed_at=app.completed_at, overdue=model.is_overdue(status, app.promised_deadline, today),
        paused=app.paused_on is not None, paused_on=app.paused_on, awaiting_materials=app.awaiting_materials or [],
        completed_late=done and (app.days_late or 0) > 0, days_late=app.days_late if done else None,
        handler_staff_ids=handler_ids, description=app.description, result_note=app.result_note, applicant=applicant,
        stages=[c.StageView(stage=s.stage, occurred_at=s.occurred_at, actor_staff_id=s.actor_staff_id, note=s.note)
                for s in stages])


# ---- the public look-up ----------------------------------------------------------------------------

def public_progress(uow: UnitOfWork, *, lookup: c.PublicLookup, vault: PersonalDataVault,
                    now: datetime) -> c.PublicProgress:
    """Anyone with the receipt number and the last four digits of the applicant's phone. A wrong guess
    and an unknown number look the same; guesses are limited per receipt number and client, and per
    receipt number (shared/receipts.py)."""
    LOOKUPS.check(uow, lookup.receipt_no, lookup.client, now)
    app = uow.session.execute(select(orm.Application).where(orm.Application.receipt_no == lookup.receipt_no)
                              ).scalar_one_or_none()
    if app is None or vault.decrypt(app.applicant_phone_enc)[-4:] != lookup.phone_last4:
        LOOKUPS.fail(uow, lookup.receipt_no, lookup.client, now,
                     NotFound("no application matches this receipt number and phone", code="application_not_found"))
    stages = uow.session.execute(select(orm.ApplicationStage).where(orm.ApplicationStage.application_id == app.id)
                                 .order_by(orm.ApplicationStage.occurred_at, orm.ApplicationStage.id)).scalars()
    return c.PublicProgress(
        receipt_no=app.receipt_no, item_name=app.item_name, status=app.status, outcome=app.outcome,
        filed_on=today_in_china(app.filed_at), promised_deadline=app.promised_deadline,
        completed_on=today_in_china(app.completed_at) if app.completed_at else None,
        stages=[c.PublicStage(stage=s.stage, on=today_in_china(s.occurred_at)) for s in stages],
        paused=app.paused_on is not None, paused_on=app.paused_on, awaiting_materials=app.awaiting_materials or [])


def notice_contact(uow: UnitOfWork, *, application_id: str, vault: PersonalDataVault) -> str | None:
    """The applicant's phone, for the message notifications is about to send (the platform's own caller
    only: the number never travels in an event). None for an application it does not know."""
    phone_enc = uow.session.execute(select(orm.Application.applicant_phone_enc)
                                    .where(orm.Application.id == application_id)).scalar_one_or_none()
    return vault.decrypt(phone_enc) if phone_enc else None


# ---- progress reported by approvals -------------------------------------------------------------------

def apply_progress(uow: UnitOfWork, *, progress: ApplicationProgressed) -> bool:
    """Keep the look-up and the lists current. False when the application is not known here."""
    app = uow.session.get(orm.Application, progress.application_id)
    if app is None:
        return False
    note = progress.reason or progress.step_name or ("、".join(progress.missing_materials) or None)
    uow.session.add(orm.ApplicationStage(application_id=app.id, stage=progress.stage.value,
                                         occurred_at=progress.occurred_at, actor_staff_id=progress.actor_staff_id,
                                         note=note))
    actor = progress.actor_staff_id
    if actor is not None and actor != app.accountable_staff_id and \
            uow.session.get(orm.ApplicationHandler, (app.id, actor)) is None:
        uow.session.add(orm.ApplicationHandler(application_id=app.id, staff_id=actor, first_at=progress.occurred_at))
    if progress.promised_deadline is not None and app.clock_seq is None:  # approvals' clock is the better source
        app.promised_deadline = progress.promised_deadline
    if progress.stage is ProgressStage.COMPLETED:
        app.outcome, app.completed_at = progress.outcome and progress.outcome.value, progress.occurred_at
        app.result_note = progress.reason or app.result_note  # 办结's result, in the handler's words
    uow.session.flush()
    stages = uow.session.execute(select(orm.ApplicationStage.stage, orm.ApplicationStage.occurred_at)
                                 .where(orm.ApplicationStage.application_id == app.id)).all()
    app.status = model.current_status((s.stage, s.occurred_at) for s in stages).value
    return True


def apply_clock(uow: UnitOfWork, *, clock: ApplicationClock) -> bool:
    """Approvals' count of the promised deadline, from the filing on: the deadline (None while a 补正 holds
    the clock), the pause and the materials it waits for, and at 办结 the working days it was late. The
    newest by `seq` wins, whatever order the events arrive in. False when the application is not known here."""
    app = uow.session.get(orm.Application, clock.application_id)
    if app is None:
        return False
    if app.clock_seq is not None and clock.seq <= app.clock_seq:
        return True  # a late arrival: something newer is already shown
    app.clock_seq, app.promised_deadline, app.paused_on = clock.seq, clock.promised_deadline, clock.paused_on
    app.awaiting_materials = clock.awaiting_materials or None
    if clock.days_late is not None:
        app.days_late = clock.days_late
    return True


# ---- consultations, service activities, practical deeds --------------------------------------------

def record_activity(uow: UnitOfWork, *, caller: Caller, kind: c.RecordKind,
                    record: c.ConsultationRecord | c.ServiceActivityRecord | c.PracticalDeedRecord,
                    now: datetime) -> c.ActivityView:
    township = model.require_filer(caller)
    village = getattr(record, "village_code", None)
    if village is not None:
        check_village(uow, orm.VillageCopy, village, township)
    station = _station_in_township(uow, caller.station_of_new_record(getattr(record, "station_code", None)), township)
    session_id, visit_id = getattr(record, "session_id", None), getattr(record, "visit_id", None)
    check_occasion(uow, orm.OccasionCopy, township, session_id=session_id, visit_id=visit_id)
    check_staff(uow, orm.StaffCopy, getattr(record, "staff_ids", []), township)
    occurred_on = {"consultation": "occurred_on", "service_activity": "held_on", "practical_deed": "done_on"}[kind]
    people = {"consultation": "people_count", "service_activity": "attendance", "practical_deed": "beneficiaries"}
    row = orm.ActivityRecord(kind=kind.value, township_code=township, station_code=station, village_code=village,
                             staff_id=caller.staff_id, occurred_on=getattr(record, occurred_on), recorded_at=now,
                             details=record.model_dump(mode="json"))
    uow.session.add(row)
    uow.session.flush()
    event = c.ActivityRecorded(id=row.id, kind=kind, township_code=township, station_code=station,
                               village_code=village, staff_id=caller.staff_id, occurred_on=row.occurred_on,
                               people=getattr(record, people[kind]), category=getattr(record, "category", None),
                               session_id=session_id, visit_id=visit_id)
    uow.record_event("activity_recorded", event.model_dump(mode="json"), township_code=township, now=now)
    uow.commit()
    return _activity_view(row)


def list_activities(uow: UnitOfWork, *, caller: Caller, query: c.RecordQuery) -> list[c.ActivityView]:
    if caller.role.value == "public":
        raise NotFound("record not found", code="record_not_found")
    r = orm.ActivityRecord
    stmt = select(r).where(r.kind == query.kind.value)
    stmt = stmt.where(*within_scope(caller, r.township_code))
    if (station := caller.station_filter()) is not None:
        stmt = stmt.where(r.station_code == station)
    if query.village_code:
        stmt = stmt.where(r.village_code == query.village_code)
    if query.occurred_from:
        stmt = stmt.where(r.occurred_on >= query.occurred_from)
    if query.occurred_to:
        stmt = stmt.where(r.occurred_on <= query.occurred_to)
    stmt = stmt.order_by(r.occurred_on.desc(), r.id.desc()).limit(query.limit).offset(query.offset)
    return [_activity_view(row) for row in uow.session.execute(stmt).scalars()]


def _activity_view(row: orm.ActivityRecord) -> c.ActivityView:
    return c.ActivityView(id=row.id, kind=row.kind, township_code=row.township_code, staff_id=row.staff_id,
                          recorded_at=row.recorded_at, occurred_on=row.occurred_on, details=row.details)
