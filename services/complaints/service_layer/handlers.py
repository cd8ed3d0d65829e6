"""Complaints use cases: registration (by staff or online, named or anonymous), actions through the
lifecycle with one stage clock at a time, the staff inbox and lists, the public look-up, the sweep
that warns and issues 督办 notices, early warning, and the county's limits and rule."""
from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from services.complaints.adapters import orm
from services.complaints.domain.complaint import (
    DEFAULT_LIMITS,
    HANDLER_ROLES,
    MANAGERS,
    OPEN,
    Actor,
    ComplaintState,
    actions_for,
    decide,
    staff_unit,
)
from services.complaints.domain.early_warning import assess, history_start, window_start
from shared.clock import CHINA, today_in_china
from shared.contracts import complaints as c
from shared.contracts.access import roles_for
from shared.contracts.caller import COUNTY_ROLES, Caller, Role
from shared.copies import check_occasion, check_station, check_village, working_calendar
from shared.db import UnitOfWork, insert_or_ignore, within_scope
from shared.divisions import county_of
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.idempotency import earlier_use, remember, request_hash
from shared.observability import metrics
from shared.pii import PersonalDataVault, mask_name, mask_phone
from shared.receipts import LOOKUP_LIMITS, Attempts, next_sequence
from shared.working_days import WorkingCalendar, deadline, warning_day, working_days_left

FILERS = roles_for("complaints.register")  # the access matrix decides
WARNING_SHARE = 0.75
SWEEP_BATCH = 200
LOOKUP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out over the phone
NETWORK_OF_ONLINE = {c.ComplaintKind.STAFF_CONDUCT: c.Network.SERVICES, c.ComplaintKind.DISPUTE: c.Network.MEDIATION,
                     c.ComplaintKind.PETITION: c.Network.PETITIONS, c.ComplaintKind.SUGGESTION: c.Network.SERVICES}
_GAUGED: set[str] = set()
HANDLER_WAITS = [c.ComplaintStatus.ASSIGNED.value, c.ComplaintStatus.SIGNED.value, c.ComplaintStatus.HANDLING.value]
MANAGER_WAITS = [c.ComplaintStatus.REGISTERED.value, c.ComplaintStatus.REPLIED.value]

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)


# ---- registration ----------------------------------------------------------------------------------

def register(uow: UnitOfWork, *, caller: Caller, cmd: c.ComplaintRegister, vault: PersonalDataVault,
             now: datetime, idempotency_key: str | None = None) -> c.Registered:
    """登记 from any channel by the township's staff: a receipt number, the assign clock running, the
    event announced (without the complainant), and early warning updated. With an Idempotency-Key a retry
    gets the first registration (with its look-up code), never a second complaint."""
    if caller.role not in FILERS or caller.township_code is None:
        raise Forbidden("complaints are registered by the staff of a township or station", code="not_a_filer")
    digest = request_hash(cmd)
    if idempotency_key is not None and (earlier := _registered_before(uow, caller, idempotency_key, digest, vault,
                                                                      now)):
        return earlier
    township = caller.township_code
    check_village(uow, orm.VillageCopy, cmd.village_code, township)
    check_occasion(uow, orm.OccasionCopy, township, session_id=cmd.session_id, visit_id=cmd.visit_id)
    station_code = caller.station_of_new_record(cmd.station_code)
    if station_code != caller.station_code:  # the filer's own station is known; another one named is checked
        check_station(uow, orm.StationCopy, station_code, township)
    accused_unit = None
    if cmd.accused_staff_id is not None:
        accused = uow.session.get(orm.StaffCopy, cmd.accused_staff_id)
        if accused is None or accused.township_code != township:
            raise ValidationFailed("the staff member complained about is not one of this township's",
                                   [{"field": "accused_staff_id", "message": "unknown staff"}], code="unknown_staff")
        accused_unit = staff_unit(accused.township_code, accused.station_code)
    remembered = None if idempotency_key is None else (idempotency_key, digest)
    try:
        return _register(uow, township=township, kind=cmd.kind, network=cmd.network, category=cmd.category,
                         channel=cmd.channel, village_code=cmd.village_code, description=cmd.description,
                         complainant=cmd.complainant, accused_staff_id=cmd.accused_staff_id, accused_unit=accused_unit,
                         station_code=station_code, session_id=cmd.session_id, visit_id=cmd.visit_id,
                         caller=caller, vault=vault, now=now, remembered=remembered)
    except IntegrityError:  # the same key raced in from a retry and won
        uow.rollback()
        earlier = _registered_before(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier


def _registered_before(uow: UnitOfWork, caller: Caller, key: str, digest: str, vault: PersonalDataVault,
                       now: datetime) -> c.Registered | None:
    used = earlier_use(uow, orm.IdempotencyKey, caller, key, digest)
    if used is None:
        return None
    row = uow.session.get(orm.ComplaintRow, used.record_id)
    return c.Registered(complaint=_view(uow, row, caller, vault, today_in_china(now), history=True),
                        lookup_code=vault.decrypt(used.lookup_code_enc) if used.lookup_code_enc else None)


def register_online(uow: UnitOfWork, *, cmd: c.PublicComplaint, vault: PersonalDataVault,
                    now: datetime) -> c.Registered:
    """网上信访: a villager registers themselves, named or anonymous."""
    village = uow.session.get(orm.VillageCopy, cmd.village_code)
    if village is None:
        raise ValidationFailed("unknown village", [{"field": "village_code", "message": "unknown village"}],
                               code="unknown_village")
    return _register(uow, township=village.township_code, kind=cmd.kind, network=NETWORK_OF_ONLINE[cmd.kind],
                     category=cmd.category, channel=c.ComplaintChannel.ONLINE, village_code=cmd.village_code,
                     description=cmd.description, complainant=cmd.complainant, accused_staff_id=None,
                     accused_unit=None, station_code=None, session_id=None, visit_id=None, caller=Caller.public(),
                     vault=vault, now=now)


def _register(uow: UnitOfWork, *, township: str, kind: c.ComplaintKind, network: c.Network, category: c.Category,
              channel: c.ComplaintChannel, village_code: str, description: str, complainant: c.Complainant | None,
              accused_staff_id: int | None, accused_unit: str | None, station_code: str | None,
              session_id: str | None, visit_id: str | None, caller: Caller, vault: PersonalDataVault,
              now: datetime, remembered: tuple[str, str] | None = None) -> c.Registered:
    day = today_in_china(now)
    sequence = next_sequence(uow.session, orm.ReceiptCounter, township, day)
    lookup_code = None if complainant else "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(8))
    row = orm.ComplaintRow(
        id=uuid.uuid4().hex, receipt_no=f"{township}-TS{day:%Y%m%d}-{sequence:04d}", kind=kind.value,
        network=network.value, category=category.value, channel=channel.value, township_code=township,
        village_code=village_code, station_code=station_code, session_id=session_id, visit_id=visit_id,
        description=description, anonymous=complainant is None,
        complainant_name_enc=vault.encrypt(complainant.name) if complainant else None,
        complainant_phone_enc=vault.encrypt(complainant.phone) if complainant else None,
        lookup_code_hash=vault.search_hash(lookup_code) if lookup_code else None,
        accused_staff_id=accused_staff_id, accused_unit=accused_unit, status=c.ComplaintStatus.REGISTERED.value,
        stage_seq=0, reopen_count=0, registered_at=now, registered_by=caller.staff_id)
    uow.session.add(row)
    if remembered is not None:
        remember(uow, orm.IdempotencyKey, caller, *remembered, row.id, now,
                 lookup_code_enc=vault.encrypt(lookup_code) if lookup_code else None)
    _start_clock(uow, row, c.Stage.ASSIGN, day)
    _history(uow, row, "register", caller, now, None, note=None, details={"channel": channel.value})
    uow.session.flush()
    facts = c.ComplaintFacts(id=row.id, receipt_no=row.receipt_no, kind=kind, network=network, category=category,
                             channel=channel, township_code=township, village_code=village_code,
                             station_code=station_code, session_id=session_id, visit_id=visit_id,
                             accused_staff_id=accused_staff_id, registered_by=caller.staff_id,
                             contact_check=vault.contact_check(row.receipt_no, complainant.phone[-4:] if complainant
                                                               else lookup_code))
    uow.record_event("complaint_registered", facts.model_dump(mode="json"), township_code=township, now=now)
    _watch(uow, row, day, now)
    uow.commit()
    return c.Registered(complaint=_view(uow, row, caller, vault, today_in_china(now)), lookup_code=lookup_code)


# ---- stage clocks --------------------------------------------------------------------------------------


def notice_contact(uow: UnitOfWork, *, complaint_id: str, vault: PersonalDataVault) -> str | None:
    """The complainant's phone, for the message notifications is about to send (the platform's own caller
    only). None for an anonymous complaint: it has no phone, and its look-up code is never sent."""
    phone_enc = uow.session.execute(select(orm.ComplaintRow.complainant_phone_enc)
                                    .where(orm.ComplaintRow.id == complaint_id)).scalar_one_or_none()
    return vault.decrypt(phone_enc) if phone_enc else None


def _limits(uow: UnitOfWork, kind: str) -> c.StageLimits:
    row = uow.session.get(orm.StageLimitRow, kind)
    return c.StageLimits.model_validate(row.limits) if row else DEFAULT_LIMITS[c.ComplaintKind(kind)]


def _start_clock(uow: UnitOfWork, row: orm.ComplaintRow, stage: c.Stage, today: date) -> None:
    """A new stage: a new clock (counted in working days from today), warnings and notices afresh."""
    row.stage, row.stage_seq, row.stage_started_on = stage.value, row.stage_seq + 1, today
    row.stage_limit_days = getattr(_limits(uow, row.kind), stage.value)
    row.warned_at = row.overdue_at = None
    _set_due(uow, row)


def _set_due(uow: UnitOfWork, row: orm.ComplaintRow) -> None:
    calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(row.township_code))
    row.stage_due_on = deadline(calendar, row.stage_started_on, row.stage_limit_days)
    row.stage_warn_on = warning_day(calendar, row.stage_started_on, row.stage_limit_days, WARNING_SHARE)


def _stop_clock(row: orm.ComplaintRow) -> None:
    row.stage = row.stage_started_on = row.stage_limit_days = row.stage_due_on = row.stage_warn_on = None


# ---- actions ------------------------------------------------------------------------------------------

def act(uow: UnitOfWork, *, caller: Caller, ref: str, cmd: c.ComplaintAction, vault: PersonalDataVault,
        now: datetime) -> c.ComplaintView:
    row = _visible(uow, caller, ref, lock=True)
    today = today_in_china(now)
    if cmd.action == "assign":
        _check_handler(uow, cmd.staff_id, row.township_code)
    before = c.ComplaintStatus(row.status)
    decision = decide(_state(row), cmd, _actor(caller))
    on_time = row.stage_due_on is None or today <= row.stage_due_on
    after = decision.state
    row.status, row.handler_staff_id, row.reopen_count = after.status.value, after.handler_staff_id, after.reopen_count
    row.finding = after.finding.value if after.finding else None
    if decision.restart_clock:
        _start_clock(uow, row, after.stage, today)
    elif after.stage is None and row.stage is not None:
        _stop_clock(row)
    if decision.extension_days:
        row.stage_limit_days += decision.extension_days
        _set_due(uow, row)
        if row.stage_due_on >= today:
            row.overdue_at = None  # the new limit is not yet passed: a fresh notice is possible again
    details = _apply_fields(row, cmd, now)
    _history(uow, row, cmd.action, caller, now, before, note=cmd.note or cmd.reason, details=details)
    progressed = c.ComplaintProgressed(
        id=row.id, receipt_no=row.receipt_no, township_code=row.township_code, action=cmd.action, from_status=before,
        to_status=after.status, actor_staff_id=caller.staff_id, handler_staff_id=row.handler_staff_id,
        stage=row.stage, stage_due=row.stage_due_on, occurred_at=now, rating=cmd.rating, resolved=cmd.resolved,
        on_time=on_time if cmd.action == "reply" else None)
    uow.record_event("complaint_progressed", progressed.model_dump(mode="json"), township_code=row.township_code,
                     now=now)
    if cmd.action == "finding":
        finding = c.FindingRecorded(complaint_id=row.id, receipt_no=row.receipt_no, township_code=row.township_code,
                                    accused_staff_id=row.accused_staff_id, finding=cmd.finding,
                                    by_staff_id=caller.staff_id, occurred_at=now)
        uow.record_event("complaint_finding_recorded", finding.model_dump(mode="json"),
                         township_code=row.township_code, now=now)
    uow.commit()
    return _view(uow, row, caller, vault, today, history=True)


def _state(row: orm.ComplaintRow) -> ComplaintState:
    return ComplaintState(status=c.ComplaintStatus(row.status), kind=c.ComplaintKind(row.kind),
                          handler_staff_id=row.handler_staff_id, accused_staff_id=row.accused_staff_id,
                          accused_unit=row.accused_unit, finding=c.Finding(row.finding) if row.finding else None,
                          stage=c.Stage(row.stage) if row.stage else None, reopen_count=row.reopen_count)


def _actor(caller: Caller) -> Actor:
    return Actor(staff_id=caller.staff_id, role=caller.role,
                 unit=None if caller.role in COUNTY_ROLES else staff_unit(caller.township_code, caller.station_code))


def _apply_fields(row: orm.ComplaintRow, cmd: c.ComplaintAction, now: datetime) -> dict[str, Any]:
    """What an action records on the complaint besides its status; returns the history's details."""
    if cmd.action == "reply":
        row.reply = cmd.note
    elif cmd.action == "call_back":
        row.rating, row.resolved, row.closed_at = cmd.rating, cmd.resolved, now
        return {"rating": cmd.rating, "resolved": cmd.resolved}
    elif cmd.action == "reopen":
        row.rating = row.resolved = row.closed_at = None
    elif cmd.action == "mediate":
        return {"parties": cmd.parties, "agreement": cmd.agreement}
    elif cmd.action == "assign":
        return {"staff_id": cmd.staff_id}
    elif cmd.action == "extend":
        return {"days": cmd.days, "due_on": row.stage_due_on.isoformat()}
    elif cmd.action == "finding":
        return {"finding": cmd.finding.value}
    return {}


def _check_handler(uow: UnitOfWork, staff_id: int, township: str) -> None:
    staff = uow.session.get(orm.StaffCopy, staff_id)
    if staff is None or not staff.active or staff.township_code != township or Role(staff.role) not in HANDLER_ROLES:
        raise ValidationFailed("complaints are handled by the township's active cadres, department staff and "
                               "supervisors", [{"field": "staff_id", "message": "not a handler here"}],
                               code="not_a_handler")


def _history(uow: UnitOfWork, row: orm.ComplaintRow, action: str, caller: Caller, now: datetime,
             before: c.ComplaintStatus | None, *, note: str | None, details: dict[str, Any]) -> None:
    uow.session.add(orm.HistoryRow(complaint_id=row.id, action=action, actor_staff_id=caller.staff_id,
                                   actor_role=caller.role.value, at=now, from_status=before and before.value,
                                   to_status=row.status, note=note, details=details))


# ---- reading -------------------------------------------------------------------------------------------

def _visible(uow: UnitOfWork, caller: Caller, ref: str, *, lock: bool = False) -> orm.ComplaintRow:
    column = orm.ComplaintRow.receipt_no if "-TS" in ref else orm.ComplaintRow.id
    stmt = select(orm.ComplaintRow).where(column == ref)
    row = uow.session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if row is None or not caller.sees_station(row.township_code, row.station_code):
        raise NotFound("complaint not found", code="complaint_not_found")
    return row


def get(uow: UnitOfWork, *, caller: Caller, ref: str, vault: PersonalDataVault, now: datetime) -> c.ComplaintView:
    """A complaint with its history, the working days left on its stage, and what this person may do now."""
    return _view(uow, _visible(uow, caller, ref), caller, vault, today_in_china(now), history=True)


def list_complaints(uow: UnitOfWork, *, caller: Caller, query: c.ComplaintQuery, vault: PersonalDataVault,
                    now: datetime) -> list[c.ComplaintView]:
    """The inbox and the lists: open complaints by time left (overdue first), then closed ones newest
    first; filtered and paged."""
    if caller.role is Role.PUBLIC:
        raise NotFound("complaint not found", code="complaint_not_found")
    r = orm.ComplaintRow
    stmt = select(r)
    stmt = stmt.where(*within_scope(caller, r.township_code))
    if (station := caller.station_filter()) is not None:
        stmt = stmt.where(r.station_code == station)
    for name in ("status", "kind", "network", "category"):
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(getattr(r, name) == value.value)
    if query.township_code:
        stmt = stmt.where(r.township_code == query.township_code)
    if query.village_code:
        stmt = stmt.where(r.village_code == query.village_code)
    if query.mine:
        stmt = stmt.where(r.handler_staff_id == caller.staff_id)
    if query.waiting:
        stmt = stmt.where(_waiting_for(caller))
    today = today_in_china(now)
    if query.overdue is True:
        stmt = stmt.where(r.stage_due_on < today, r.status.in_([s.value for s in OPEN]))
    elif query.overdue is False:
        stmt = stmt.where((r.stage_due_on >= today) | r.stage_due_on.is_(None))
    if query.after is not None:
        stmt = stmt.where(_after(uow, caller, query.after))
    open_first = sql_case((r.stage_due_on.is_(None), 1), else_=0)
    stmt = stmt.order_by(open_first, r.stage_due_on, r.registered_at.desc(), r.id).limit(query.limit) \
        .offset(query.offset)
    rows = list(uow.session.execute(stmt).scalars())
    calendars = {county: _calendar(uow, county, [row.stage_due_on for row in rows
                                                 if county_of(row.township_code) == county], today)
                 for county in {county_of(row.township_code) for row in rows}}
    return [_view(uow, row, caller, vault, today, calendar=calendars[county_of(row.township_code)]) for row in rows]


def _waiting_for(caller: Caller) -> Any:
    """The complaints waiting for an action of this person's: their 签收 or 答复 as the handler; for a
    township's supervisor also the township's waiting to be assigned (分派) or called back (回访) — not one
    they handle or one about them. (The county's roles may act too, but a township's dispatch is not theirs
    to wait on.)"""
    r = orm.ComplaintRow
    mine = (r.handler_staff_id == caller.staff_id) & r.status.in_(HANDLER_WAITS)
    if caller.role not in MANAGERS or caller.township_code is None:
        return mine
    theirs = r.status.in_(MANAGER_WAITS) & ((r.handler_staff_id != caller.staff_id) | r.handler_staff_id.is_(None)) \
        & ((r.accused_staff_id != caller.staff_id) | r.accused_staff_id.is_(None))
    return mine | theirs


def waiting_counts(uow: UnitOfWork, *, caller: Caller, now: datetime) -> c.WaitingCounts:
    """How many complaints wait for this person (as `ComplaintQuery.waiting`), how many are past their
    stage's limit, how many are due within a working day: one counting query on the stage-due index."""
    if caller.role is Role.PUBLIC or caller.staff_id is None:
        raise NotFound("complaint not found", code="complaint_not_found")
    today = today_in_china(now)
    r = orm.ComplaintRow
    # the caller's county's calendar (the system administrator's counts: weekends only)
    county = caller.county
    soon = deadline(working_calendar(uow, orm.CalendarDayCopy, county, after=today) if county else WorkingCalendar(),
                    today, 1)
    stmt = select(func.count(), func.sum(sql_case((r.stage_due_on < today, 1), else_=0)),
                  func.sum(sql_case(((r.stage_due_on >= today) & (r.stage_due_on <= soon), 1), else_=0))) \
        .where(_waiting_for(caller))
    stmt = stmt.where(*within_scope(caller, r.township_code))
    if (station := caller.station_filter()) is not None:
        stmt = stmt.where(r.station_code == station)
    waiting, overdue, due_soon = uow.session.execute(stmt).one()
    return c.WaitingCounts(waiting=waiting, overdue=overdue or 0, due_soon=due_soon or 0)


def _calendar(uow: UnitOfWork, county: str, due_days: list[date | None], today: date) -> WorkingCalendar:
    """The county's calendar days that the time left on these due days needs (from the earliest of them, or
    today)."""
    first = min([today, *(d for d in due_days if d is not None)])
    return working_calendar(uow, orm.CalendarDayCopy, county, after=first - timedelta(days=1))


def _after(uow: UnitOfWork, caller: Caller, complaint_id: str) -> Any:
    """Keyset: the complaints after this one in the list's order (running clocks by due day, then those with
    none; newest registered first within a day; then by id), whatever filters the page has."""
    r = orm.ComplaintRow
    last = uow.session.get(r, complaint_id)
    if last is None or not caller.sees_station(last.township_code, last.station_code):
        raise ValidationFailed("after names no complaint of the list", [{"field": "after", "message": "unknown"}],
                               code="bad_cursor")
    later = (r.registered_at < last.registered_at) | ((r.registered_at == last.registered_at) & (r.id > last.id))
    if last.stage_due_on is None:
        return r.stage_due_on.is_(None) & later
    return r.stage_due_on.is_(None) | (r.stage_due_on > last.stage_due_on) | (
        (r.stage_due_on == last.stage_due_on) & later)


def _view(uow: UnitOfWork, row: orm.ComplaintRow, caller: Caller, vault: PersonalDataVault, today: date, *,
          history: bool = False, calendar: WorkingCalendar | None = None) -> c.ComplaintView:
    """The complainant in full for those handling the case, masked for other staff of the township, and
    not at all for the staff member complained about; the working days left on the running stage, and the
    actions the rules allow this caller now (`actions_for`, the checks `act` applies)."""
    name = phone = None
    if not row.anonymous and caller.staff_id != row.accused_staff_id:
        name, phone = vault.decrypt(row.complainant_name_enc), vault.decrypt(row.complainant_phone_enc)
        handling = caller.staff_id is not None and caller.staff_id in (row.handler_staff_id, row.registered_by)
        if not (handling or caller.role in MANAGERS):
            name, phone = mask_name(name), mask_phone(phone)
    entries = []
    if history:
        entries = [c.HistoryEntry(action=h.action, actor_staff_id=h.actor_staff_id, at=h.at,
                                  from_status=h.from_status, to_status=h.to_status, note=h.note, details=h.details)
                   for h in uow.session.execute(select(orm.HistoryRow).where(orm.HistoryRow.complaint_id == row.id)
                                                .order_by(orm.HistoryRow.id)).scalars()]
    return c.ComplaintView(
        id=row.id, receipt_no=row.receipt_no, kind=row.kind, network=row.network, category=row.category,
        channel=row.channel, township_code=row.township_code, village_code=row.village_code,
        station_code=row.station_code, session_id=row.session_id, visit_id=row.visit_id, description=row.description,
        anonymous=row.anonymous, complainant_name=name, complainant_phone=phone,
        accused_staff_id=row.accused_staff_id, handler_staff_id=row.handler_staff_id, status=row.status,
        stage=row.stage, stage_due=row.stage_due_on,
        overdue=row.stage_due_on is not None and today > row.stage_due_on, reopen_count=row.reopen_count,
        finding=row.finding, rating=row.rating, registered_at=row.registered_at, closed_at=row.closed_at,
        history=entries,
        working_days_left=working_days_left(calendar or _calendar(uow, county_of(row.township_code),
                                                                  [row.stage_due_on], today),
                                            row.stage_due_on, today),
        allowed_actions=actions_for(_state(row), _actor(caller)) if caller.staff_id is not None else [])


def public_progress(uow: UnitOfWork, *, lookup: c.PublicComplaintLookup, vault: PersonalDataVault,
                    now: datetime) -> c.PublicComplaintProgress:
    """Anyone with the receipt number and the phone's last four digits (or, anonymous, the look-up
    code). A wrong guess and an unknown number look the same; guesses are limited."""
    LOOKUPS.check(uow, lookup.receipt_no, lookup.client, now)
    row = uow.session.execute(select(orm.ComplaintRow).where(orm.ComplaintRow.receipt_no == lookup.receipt_no)
                              ).scalar_one_or_none()
    if row is None or not _secret_matches(row, lookup.secret, vault):
        LOOKUPS.fail(uow, lookup.receipt_no, lookup.client, now,
                     NotFound("no complaint matches this receipt number and code", code="complaint_not_found"))
    stages = uow.session.execute(select(orm.HistoryRow.to_status, orm.HistoryRow.at)
                                 .where(orm.HistoryRow.complaint_id == row.id).order_by(orm.HistoryRow.id)).all()
    seen: list[tuple[str, date]] = []
    for status, at in stages:
        if not seen or seen[-1][0] != status:
            seen.append((status, today_in_china(at)))
    return c.PublicComplaintProgress(receipt_no=row.receipt_no, kind=row.kind, status=row.status,
                                     registered_on=today_in_china(row.registered_at), stages=seen, reply=row.reply)


def _secret_matches(row: orm.ComplaintRow, secret: str, vault: PersonalDataVault) -> bool:
    if row.anonymous:
        return row.lookup_code_hash == vault.search_hash(secret.strip().upper())
    return vault.decrypt(row.complainant_phone_enc)[-4:] == secret


# ---- the sweep: warnings and 督办 -----------------------------------------------------------------------

def sweep(uow: UnitOfWork, *, now: datetime) -> tuple[int, int]:
    """Warn at 75% of a stage's limit and issue a 督办 notice once it has passed. Reads only complaints
    whose warning or due day has come (two indexes); each is claimed with a conditional UPDATE so two
    instances or a restart never say anything twice."""
    today = today_in_china(now)
    r = orm.ComplaintRow
    to_warn = list(uow.session.execute(select(r.id, r.stage_seq).where(
        r.warned_at.is_(None), r.stage_warn_on <= today, r.stage_due_on >= today).limit(SWEEP_BATCH)).all())
    warned = sum(_claim(uow, cid, seq, r.warned_at, now, _warn) for cid, seq in to_warn)
    to_notice = list(uow.session.execute(select(r.id, r.stage_seq).where(
        r.overdue_at.is_(None), r.stage_due_on < today).limit(SWEEP_BATCH)).all())
    noticed = sum(_claim(uow, cid, seq, r.overdue_at, now, _supervise) for cid, seq in to_notice)
    return warned, noticed


def _claim(uow: UnitOfWork, complaint_id: str, stage_seq: int, flag: Any, now: datetime, effect: Any) -> int:
    r = orm.ComplaintRow
    if not uow.claim(update(r).where(r.id == complaint_id, r.stage_seq == stage_seq, flag.is_(None))
                     .values({flag.key: now})):
        return 0
    effect(uow, uow.session.get(r, complaint_id), now)
    uow.commit()
    return 1


def _overdue_event(row: orm.ComplaintRow) -> dict[str, Any]:
    return c.StageOverdue(complaint_id=row.id, receipt_no=row.receipt_no, township_code=row.township_code,
                          stage=row.stage, due_on=row.stage_due_on,
                          handler_staff_id=row.handler_staff_id).model_dump(mode="json")


def _warn(uow: UnitOfWork, row: orm.ComplaintRow, now: datetime) -> None:
    uow.record_event("complaint_warning", _overdue_event(row), township_code=row.township_code, now=now)


def _supervise(uow: UnitOfWork, row: orm.ComplaintRow, now: datetime) -> None:
    row.warned_at = row.warned_at or now
    uow.session.add(orm.NoticeRow(complaint_id=row.id, stage_seq=row.stage_seq, stage=row.stage,
                                  township_code=row.township_code, due_on=row.stage_due_on, recorded_at=now,
                                  handler_staff_id=row.handler_staff_id))
    uow.record_event("complaint_supervision_notice_issued", _overdue_event(row), township_code=row.township_code,
                     now=now)


def update_gauges(uow: UnitOfWork, *, now: datetime) -> None:
    """Open, warned and overdue complaints and open early-warning alerts per township."""
    today = today_in_china(now)
    r, a = orm.ComplaintRow, orm.AlertRow
    rows = uow.session.execute(select(
        r.township_code, func.count(), func.sum(sql_case((r.stage_due_on < today, 1), else_=0)),
        func.sum(sql_case((r.stage_warn_on <= today, 1), else_=0)))
        .where(r.status.in_([s.value for s in OPEN])).group_by(r.township_code)).all()
    alerts = dict(uow.session.execute(select(a.township_code, func.count()).where(a.status == "open")
                                      .group_by(a.township_code)).all())
    seen = {t: (n, overdue or 0, warned or 0) for t, n, overdue, warned in rows}
    known = set(uow.session.execute(select(orm.VillageCopy.township_code).distinct()).scalars())  # 0, not absent
    for township in _GAUGED | known | set(seen) | set(alerts):
        n, overdue, warned = seen.get(township, (0, 0, 0))
        metrics.complaints_open.labels(township).set(n)
        metrics.complaints_overdue.labels(township).set(overdue)
        metrics.complaints_warned.labels(township).set(warned - overdue)
        metrics.early_warnings_open.labels(township).set(alerts.get(township, 0))
    _GAUGED.update(seen, alerts)


# ---- early warning 苗头性问题 ----------------------------------------------------------------------------

def warning_rule(uow: UnitOfWork) -> c.WarningRule:
    row = uow.session.get(orm.WarningRuleRow, 1)
    return c.WarningRule.model_validate(row.rule) if row else c.WarningRule()


def _watch(uow: UnitOfWork, row: orm.ComplaintRow, today: date, now: datetime) -> None:
    """Count the complaint in its village and category; join the recent alert there, or raise one."""
    d = orm.DailyCount
    insert_or_ignore(uow.session, d, village_code=row.village_code, category=row.category, day=today, count=0)
    uow.session.execute(update(d).where(d.village_code == row.village_code, d.category == row.category,
                                        d.day == today).values(count=d.count + 1))
    rule = warning_rule(uow)
    a = orm.AlertRow
    first = window_start(rule, today)
    recent = uow.session.execute(select(a).where(  # an alert raised within the window collects the newcomers
        a.village_code == row.village_code, a.category == row.category, a.raised_on >= first)
        .order_by(a.raised_on.desc(), a.id.desc()).limit(1)).scalar_one_or_none()
    if recent is not None:
        recent.count += 1
        uow.session.add(orm.AlertComplaint(alert_id=recent.id, complaint_id=row.id))
        return
    daily = dict(uow.session.execute(select(d.day, d.count).where(
        d.village_code == row.village_code, d.category == row.category,
        d.day >= history_start(rule, today), d.day <= today)).all())
    verdict = assess(rule, daily, today)
    if verdict is None:
        return
    alert = orm.AlertRow(township_code=row.township_code, village_code=row.village_code, category=row.category,
                         rule=verdict.rule, count=verdict.count, window_days=rule.window_days, raised_on=today,
                         raised_at=now, status="open")
    uow.session.add(alert)
    uow.session.flush()
    behind = uow.session.execute(select(orm.ComplaintRow.id).where(
        orm.ComplaintRow.village_code == row.village_code, orm.ComplaintRow.category == row.category,
        orm.ComplaintRow.registered_at >= datetime.combine(first, time.min, tzinfo=CHINA))).scalars()
    for complaint_id in set(behind) | {row.id}:
        uow.session.add(orm.AlertComplaint(alert_id=alert.id, complaint_id=complaint_id))
    event = c.AlertRaised(alert_id=alert.id, township_code=row.township_code, village_code=row.village_code,
                          category=row.category, rule=verdict.rule, count=verdict.count, window_days=rule.window_days)
    uow.record_event("early_warning_raised", event.model_dump(mode="json"), township_code=row.township_code, now=now)



def list_alerts(uow: UnitOfWork, *, caller: Caller, status: str | None) -> list[c.AlertView]:
    if caller.role is Role.PUBLIC:
        raise NotFound("alert not found", code="alert_not_found")
    a = orm.AlertRow
    stmt = select(a)
    stmt = stmt.where(*within_scope(caller, a.township_code))
    if status:
        stmt = stmt.where(a.status == status)
    rows = uow.session.execute(stmt.order_by(a.raised_at.desc()).limit(200)).scalars()
    return [_alert_view(uow, row) for row in rows]


def acknowledge_alert(uow: UnitOfWork, *, caller: Caller, alert_id: int, cmd: c.AlertAcknowledge,
                      now: datetime) -> c.AlertView:
    row = uow.session.get(orm.AlertRow, alert_id)
    if row is None or not caller.sees_township(row.township_code):
        raise NotFound("alert not found", code="alert_not_found")
    if caller.role not in MANAGERS:
        raise Forbidden("supervisors acknowledge early warnings", code="not_a_supervisor")
    if row.status == "open":
        row.status, row.acknowledged_by, row.acknowledged_at, row.note = "acknowledged", caller.staff_id, now, cmd.note
        uow.record_event("early_warning_acknowledged", {"alert_id": row.id, "township_code": row.township_code,
                                                        "by_staff_id": caller.staff_id},
                         township_code=row.township_code, now=now)
        uow.commit()
    return _alert_view(uow, row)


def _alert_view(uow: UnitOfWork, row: orm.AlertRow) -> c.AlertView:
    receipts = uow.session.execute(select(orm.ComplaintRow.receipt_no).join(
        orm.AlertComplaint, orm.AlertComplaint.complaint_id == orm.ComplaintRow.id)
        .where(orm.AlertComplaint.alert_id == row.id).order_by(orm.ComplaintRow.registered_at)).scalars()
    return c.AlertView(id=row.id, township_code=row.township_code, village_code=row.village_code,
                       category=row.category, rule=row.rule, count=row.count, window_days=row.window_days,
                       raised_at=row.raised_at, status=row.status, acknowledged_by=row.acknowledged_by,
                       acknowledged_at=row.acknowledged_at, note=row.note, complaints=list(receipts))


# ---- the county's settings: stage limits and the warning rule ------------------------------------------

def _require_county(caller: Caller) -> None:
    """The limits and the warning rule are kept once for the installation: only its administrator sets them
    (a county admin changing them would change every county's)."""
    if not caller.is_installation:
        raise Forbidden("the system administrator sets complaint limits and warning rules", code="not_county")


def limits(uow: UnitOfWork) -> dict[str, c.StageLimits]:
    return {kind.value: _limits(uow, kind.value) for kind in c.ComplaintKind}


def set_limits(uow: UnitOfWork, *, caller: Caller, kind: c.ComplaintKind, cmd: c.StageLimits,
               now: datetime) -> dict[str, c.StageLimits]:
    """New limits apply to stage clocks started from now on; running clocks keep theirs."""
    _require_county(caller)
    uow.put(orm.StageLimitRow, kind.value, {"kind": kind.value, "limits": cmd.model_dump(),
                                            "updated_by": caller.staff_id, "updated_at": now})
    uow.commit()
    return limits(uow)


def set_warning_rule(uow: UnitOfWork, *, caller: Caller, cmd: c.WarningRule, now: datetime) -> c.WarningRule:
    _require_county(caller)
    uow.put(orm.WarningRuleRow, 1, {"id": 1, "rule": cmd.model_dump(), "updated_by": caller.staff_id,
                                    "updated_at": now})
    uow.commit()
    return warning_rule(uow)
