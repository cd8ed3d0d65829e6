"""Reading applications: one by receipt number or id, the staff lists (keyset-paged), the public look-up
by receipt number and phone, and the applicant's phone for an SMS."""
from __future__ import annotations

import base64
from datetime import date, datetime, timedelta

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from services.intake.domain import model
from services.intake.service_layer import views
from shared.clock import CHINA, today_in_china
from shared.contracts import intake as c
from shared.contracts.caller import Caller
from shared.errors import NotFound, ValidationFailed
from shared.pii import PersonalDataVault
from shared.receipts import LOOKUP_LIMITS, Attempts

LOOKUPS = Attempts(orm.LookupFailure, LOOKUP_LIMITS)


def get_application(uow: IntakeUnitOfWork, *, caller: Caller, receipt_or_id: str, vault: PersonalDataVault,
                    now: datetime) -> c.ApplicationView:
    app = uow.applications.by_receipt(receipt_or_id) if model.is_receipt_number(receipt_or_id) \
        else uow.applications.get(receipt_or_id)
    if app is None or not caller.sees_station(app.township_code, app.station_code):
        raise NotFound("application not found", code="application_not_found")
    return views.of(uow, [app], caller, vault, today_in_china(now))[0]


def list_applications(uow: IntakeUnitOfWork, *, caller: Caller, query: c.ApplicationQuery, vault: PersonalDataVault,
                      now: datetime) -> c.ApplicationPage:
    """Newest first, a page at a time (the cursor names the last one shown)."""
    if caller.role.value == "public" or (caller.township_filter() is None and not caller.is_county):
        raise NotFound("application not found", code="application_not_found")
    today = today_in_china(now)
    rows = uow.applications.page(
        caller, after=_decode_cursor(query.cursor) if query.cursor else None, limit=query.limit, mine=query.mine,
        equal={"township_code": query.township_code, "station_code": query.station_code,
               "status": query.status and query.status.value, "item_code": query.item_code,
               "channel": query.channel and query.channel.value, "village_code": query.village_code},
        filed_from=_china_midnight(query.filed_from) if query.filed_from else None,
        filed_before=_china_midnight(query.filed_to + timedelta(days=1)) if query.filed_to else None,
        overdue_on=today, overdue=query.overdue, completed_late=query.completed_late,
        final_statuses=[s.value for s in model.FINAL_STATUSES])
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = _encode_cursor(rows[-1]) if more else None
    return c.ApplicationPage(items=views.of(uow, rows, caller, vault, today), next_cursor=cursor)


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


def public_progress(uow: IntakeUnitOfWork, *, lookup: c.PublicLookup, vault: PersonalDataVault,
                    now: datetime) -> c.PublicProgress:
    """Anyone with the receipt number and the last four digits of the applicant's phone. A wrong guess
    and an unknown number look the same; guesses are limited per receipt number and client, and per
    receipt number (shared/receipts.py)."""
    LOOKUPS.check(uow, lookup.receipt_no, lookup.client, now)
    app = uow.applications.by_receipt(lookup.receipt_no)
    if app is None or vault.decrypt(app.applicant_phone_enc)[-4:] != lookup.phone_last4:
        LOOKUPS.fail(uow, lookup.receipt_no, lookup.client, now,
                     NotFound("no application matches this receipt number and phone", code="application_not_found"))
    stages = uow.applications.stages_of([app.id])[app.id]
    return c.PublicProgress(
        receipt_no=app.receipt_no, item_name=app.item_name, status=app.status, outcome=app.outcome,
        filed_on=today_in_china(app.filed_at), promised_deadline=app.promised_deadline,
        completed_on=today_in_china(app.completed_at) if app.completed_at else None,
        stages=[c.PublicStage(stage=s.stage, on=today_in_china(s.occurred_at)) for s in stages],
        paused=app.paused_on is not None, paused_on=app.paused_on, awaiting_materials=app.awaiting_materials or [])


def notice_contact(uow: IntakeUnitOfWork, *, application_id: str, vault: PersonalDataVault) -> str | None:
    """The applicant's phone, for the message notifications is about to send (the platform's own caller
    only: the number never travels in an event). None for an application it does not know."""
    phone_enc = uow.applications.phone_of(application_id)
    return vault.decrypt(phone_enc) if phone_enc else None
