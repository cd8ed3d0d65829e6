"""Reading complaints: one with its history and what this person may do now, the inbox and the lists by
time left, the counts of what waits for someone, and the public look-up by receipt number. The
complainant is shown in full to those handling the case, masked to other staff, never to the accused."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.domain.complaint import MANAGERS, Actor, ComplaintState, actions_for, staff_unit
from shared.clock import today_in_china
from shared.contracts import complaints as c
from shared.contracts.caller import COUNTY_ROLES, Caller, Role
from shared.copies import working_calendar
from shared.divisions import county_of
from shared.errors import NotFound, ValidationFailed
from shared.pii import PersonalDataVault, mask_name, mask_phone
from shared.receipts import LOOKUP_LIMITS, Attempts
from shared.working_days import WorkingCalendar, deadline, working_days_left

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)


def state_of(row: orm.ComplaintRow) -> ComplaintState:
    return ComplaintState(status=c.ComplaintStatus(row.status), kind=c.ComplaintKind(row.kind),
                          handler_staff_id=row.handler_staff_id, accused_staff_id=row.accused_staff_id,
                          accused_unit=row.accused_unit, finding=c.Finding(row.finding) if row.finding else None,
                          stage=c.Stage(row.stage) if row.stage else None, reopen_count=row.reopen_count)


def actor_of(caller: Caller) -> Actor:
    return Actor(staff_id=caller.staff_id, role=caller.role,
                 unit=None if caller.role in COUNTY_ROLES else staff_unit(caller.township_code, caller.station_code))


def visible(uow: ComplaintsUnitOfWork, caller: Caller, ref: str, *, lock: bool = False) -> orm.ComplaintRow:
    """The complaint `ref` (receipt number or id) names, if the caller may see it; one outside their reach
    answers as an unknown one does."""
    row = uow.complaints.by_ref(ref, lock=lock)
    if row is None or not caller.sees_station(row.township_code, row.station_code):
        raise NotFound("complaint not found", code="complaint_not_found")
    return row


def get(uow: ComplaintsUnitOfWork, *, caller: Caller, ref: str, vault: PersonalDataVault,
        now: datetime) -> c.ComplaintView:
    """A complaint with its history, the working days left on its stage, and what this person may do now."""
    return view_of(uow, visible(uow, caller, ref), caller, vault, today_in_china(now), history=True)


def list_complaints(uow: ComplaintsUnitOfWork, *, caller: Caller, query: c.ComplaintQuery, vault: PersonalDataVault,
                    now: datetime) -> list[c.ComplaintView]:
    """The inbox and the lists: open complaints by time left (overdue first), then closed ones newest
    first; filtered and paged."""
    if caller.role is Role.PUBLIC:
        raise NotFound("complaint not found", code="complaint_not_found")
    today = today_in_china(now)
    after = None if query.after is None else _last_seen(uow, caller, query.after)
    rows = uow.complaints.listed(caller, query, today, after)
    calendars = {county: _calendar(uow, county, [row.stage_due_on for row in rows
                                                 if county_of(row.township_code) == county], today)
                 for county in {county_of(row.township_code) for row in rows}}
    return [view_of(uow, row, caller, vault, today, calendar=calendars[county_of(row.township_code)])
            for row in rows]


def _last_seen(uow: ComplaintsUnitOfWork, caller: Caller, complaint_id: str) -> orm.ComplaintRow:
    """The complaint a page starts after (keyset): one of the caller's list."""
    last = uow.complaints.get(complaint_id)
    if last is None or not caller.sees_station(last.township_code, last.station_code):
        raise ValidationFailed("after names no complaint of the list", [{"field": "after", "message": "unknown"}],
                               code="bad_cursor")
    return last


def waiting_counts(uow: ComplaintsUnitOfWork, *, caller: Caller, now: datetime) -> c.WaitingCounts:
    """How many complaints wait for this person (as `ComplaintQuery.waiting`), how many are past their
    stage's limit, how many are due within a working day: one counting query on the stage-due index."""
    if caller.role is Role.PUBLIC or caller.staff_id is None:
        raise NotFound("complaint not found", code="complaint_not_found")
    today = today_in_china(now)
    # the caller's county's calendar (the system administrator's counts: weekends only)
    county = caller.county
    soon = deadline(working_calendar(uow, orm.CalendarDayCopy, county, after=today) if county else WorkingCalendar(),
                    today, 1)
    waiting, overdue, due_soon = uow.complaints.waiting_counts(caller, today, soon)
    return c.WaitingCounts(waiting=waiting, overdue=overdue, due_soon=due_soon)


def _calendar(uow: ComplaintsUnitOfWork, county: str, due_days: list[date | None], today: date) -> WorkingCalendar:
    """The county's calendar days that the time left on these due days needs (from the earliest of them, or
    today)."""
    first = min([today, *(d for d in due_days if d is not None)])
    return working_calendar(uow, orm.CalendarDayCopy, county, after=first - timedelta(days=1))


def view_of(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, caller: Caller, vault: PersonalDataVault, today: date,
            *, history: bool = False, calendar: WorkingCalendar | None = None) -> c.ComplaintView:
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
                   for h in uow.history.of(row.id)]
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
        allowed_actions=actions_for(state_of(row), actor_of(caller)) if caller.staff_id is not None else [])


# ---- the public look-up ----------------------------------------------------------------------------------

def public_progress(uow: ComplaintsUnitOfWork, *, lookup: c.PublicComplaintLookup, vault: PersonalDataVault,
                    now: datetime) -> c.PublicComplaintProgress:
    """Anyone with the receipt number and the phone's last four digits (or, anonymous, the look-up
    code). A wrong guess and an unknown number look the same; guesses are limited."""
    LOOKUPS.check(uow, lookup.receipt_no, lookup.client, now)
    row = uow.complaints.by_receipt_no(lookup.receipt_no)
    if row is None or not _secret_matches(row, lookup.secret, vault):
        LOOKUPS.fail(uow, lookup.receipt_no, lookup.client, now,
                     NotFound("no complaint matches this receipt number and code", code="complaint_not_found"))
    seen: list[tuple[str, date]] = []
    for status, at in uow.history.statuses_of(row.id):
        if not seen or seen[-1][0] != status:
            seen.append((status, today_in_china(at)))
    return c.PublicComplaintProgress(receipt_no=row.receipt_no, kind=row.kind, status=row.status,
                                     registered_on=today_in_china(row.registered_at), stages=seen, reply=row.reply)


def _secret_matches(row: orm.ComplaintRow, secret: str, vault: PersonalDataVault) -> bool:
    if row.anonymous:
        return row.lookup_code_hash == vault.search_hash(secret.strip().upper())
    return vault.decrypt(row.complainant_phone_enc)[-4:] == secret
