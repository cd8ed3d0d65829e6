"""What each event tells whom: the applicant at filing, at a 补正, when the clock runs again, at the close
and when invited to rate; a complainant who gave a phone at registration, reply and call-back; staff of
what is theirs (warnings, 督办, 责任追究, reminders, a complaint assigned). Each function reads like the
rule it implements; `notify` and `tell_staff` make each message once."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from services.notifications.adapters import orm
from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.service_layer.sending import notify, tell_staff
from shared.clock import CHINA, today_in_china
from shared.contracts.approvals import ApplicationProgressed, CaseWaiting, DeadlineEvent, Outcome, ProgressStage
from shared.contracts.complaints import CATEGORY_NAMES, AlertRaised, ComplaintFacts, ComplaintProgressed, Stage
from shared.contracts.intake import ApplicationFiled
from shared.contracts.scheduling import BookingChanged, OccasionCalledOff, SessionReminder, VisitReminder

RESULT = {Outcome.APPROVED: "准予办理", Outcome.DENIED: "不予办理"}
TOWNSHIP_HALL = "乡镇便民服务中心"  # where to go when the application names no station


def lookup_url(public_url: str, receipt_no: str) -> str:
    return f"{public_url.rstrip('/')}/q/{receipt_no}"


def complaint_url(public_url: str, receipt_no: str) -> str:
    return f"{public_url.rstrip('/')}/complain/progress?receipt={receipt_no}"


def rating_url(public_url: str, receipt_no: str) -> str:
    return f"{public_url.rstrip('/')}/rate?receipt={receipt_no}"


def short_date(day: date) -> str:
    return f"{day.month}月{day.day}日"


def short_time(at: datetime) -> str:
    local = at.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def application_filed(uow: NotificationsUnitOfWork, *, event_id: str, filed: ApplicationFiled, public_url: str,
                      now: datetime) -> None:
    """The applicant gets the receipt number, the promise in working days and where to follow it. An
    immediate item done on the spot is told it is done instead (application_completed_on_the_spot)."""
    uow.applications.keep(filed.id, {
        "id": filed.id, "receipt_no": filed.receipt_no, "township_code": filed.township_code,
        "station_code": filed.station_code, "item_name": filed.item_name})
    if filed.completed_on_the_spot:
        return
    notify(uow, event_id=event_id, kind="application_filed", recipient=f"application:{filed.id}",
           township_code=filed.township_code, now=now,
           values={"item": filed.item_name, "receipt_no": filed.receipt_no, "days": str(filed.promised_days),
                   "lookup_url": lookup_url(public_url, filed.receipt_no)})


def application_progressed(uow: NotificationsUnitOfWork, *, event_id: str, progressed: ApplicationProgressed,
                           now: datetime) -> None:
    """补正 names the materials and where to bring them (the clock stops); the clock running again gives
    the new promised day; 办结 gives the result and where to collect it."""
    app = uow.applications.get(progressed.application_id)
    if app is None:  # filed before notifications was running: nothing to name it by
        return
    values = {"item": app.item_name, "receipt_no": app.receipt_no}
    recipient = f"application:{app.id}"
    if progressed.stage is ProgressStage.SUPPLEMENT_REQUESTED:
        notify(uow, event_id=event_id, kind="materials_requested", recipient=recipient,
               township_code=app.township_code, now=now,
               values={**values, "materials": "、".join(progressed.missing_materials) or "所缺材料",
                       "place": _place(uow, app)})
    elif progressed.stage is ProgressStage.SUPPLEMENT_RECEIVED and progressed.promised_deadline is not None:
        notify(uow, event_id=event_id, kind="clock_resumed", recipient=recipient, township_code=app.township_code,
               now=now, values={**values, "deadline": short_date(progressed.promised_deadline)})
    elif progressed.stage is ProgressStage.COMPLETED and progressed.outcome is not None:
        notify(uow, event_id=event_id, kind="application_completed", recipient=recipient,
               township_code=app.township_code, now=now,
               values={**values, "result": RESULT[progressed.outcome], "place": _place(uow, app)})


def case_waiting(uow: NotificationsUnitOfWork, *, event_id: str, waiting: CaseWaiting, now: datetime) -> None:
    """A case accepted into a review step, or moved on or back to one, is new work for whoever may act
    there (新办件): the township's active staff holding one of the step's roles (at a village step, those
    of the application's station; at a county step, the county's staff too), except who moved it there."""
    app = uow.applications.get(waiting.application_id)
    holders = uow.staff.holding(waiting.township_code, waiting.step_roles, step_level=waiting.step_level,
                                station_code=waiting.station_code)
    values = {"item": app.item_name if app else "办件", "receipt_no": waiting.receipt_no,
              "deadline": short_date(waiting.promised_deadline) if waiting.promised_deadline else "按时"}
    for staff_id in holders:
        if staff_id != waiting.actor_staff_id:
            tell_staff(uow, event_id=event_id, kind="case_assigned", staff_id=staff_id,
                       township_code=waiting.township_code, values=values,
                       link=f"/console/applications/{waiting.receipt_no}", now=now)


def _place(uow: NotificationsUnitOfWork, app: orm.ApplicationRow) -> str:
    station = uow.stations.get(app.station_code) if app.station_code else None
    return station.name if station is not None else TOWNSHIP_HALL


def keep_market_site(uow: NotificationsUnitOfWork, site: dict) -> None:
    uow.market_sites.keep(site["code"], {"code": site["code"], "name": site["name"], "version": site["version"]})


def keep_station(uow: NotificationsUnitOfWork, station: dict) -> None:
    uow.stations.keep(station["code"], {
        "code": station["code"], "township_code": station["township_code"], "name": station["name"],
        "version": station["version"]})


def rating_invitation(uow: NotificationsUnitOfWork, *, event_id: str, invitation: dict, public_url: str,
                      now: datetime) -> None:
    """The documented days after completion, evaluation invites the applicant (or the complainant) to rate."""
    receipt_no = invitation["receipt_no"]
    app = uow.applications.by_receipt_no(receipt_no)
    if app is not None:
        notify(uow, event_id=event_id, kind="rating_invitation", recipient=f"application:{app.id}",
               township_code=app.township_code, now=now,
               values={"item": app.item_name, "receipt_no": receipt_no,
                       "rating_url": rating_url(public_url, receipt_no)})
        return
    complaint = uow.complaints.by_receipt_no(receipt_no)
    if complaint is not None:
        notify(uow, event_id=event_id, kind="rating_invitation", recipient=f"complaint:{complaint.id}",
               township_code=complaint.township_code, now=now,
               values={"item": "诉求", "receipt_no": receipt_no, "rating_url": rating_url(public_url, receipt_no)})


# ---- villagers who booked a place ----------------------------------------------------------------------

def booking_changed(uow: NotificationsUnitOfWork, *, event_id: str, changed: BookingChanged, now: datetime) -> None:
    """A place booked is confirmed (where and when); later changes are kept so the day-before reminder
    and a called-off day know it."""
    uow.bookings.keep(changed.booking_id, {
        "id": changed.booking_id, "township_code": changed.township_code, "starts_at": changed.starts_at,
        "place": changed.place, "status": changed.status, "reminded": False})
    if changed.status == "booked":
        notify(uow, event_id=event_id, kind="booking_confirmed", recipient=f"booking:{changed.booking_id}",
               township_code=changed.township_code, now=now,
               values={"place": changed.place, "time": short_time(changed.starts_at)})


def occasion_called_off(uow: NotificationsUnitOfWork, *, event_id: str, called_off: OccasionCalledOff,
                        now: datetime) -> None:
    """A day off cancelled a post or visit villagers had booked: each is told, at once (urgent)."""
    if called_off.outcome != "cancelled":
        return
    for booking_id in called_off.booking_ids:
        booking = uow.bookings.get(booking_id)
        if booking is None:
            continue
        booking.status = "cancelled"
        notify(uow, event_id=event_id, kind="booking_cancelled", recipient=f"booking:{booking_id}",
               township_code=called_off.township_code, now=now,
               values={"place": booking.place, "time": short_time(booking.starts_at),
                       "reason": f"{called_off.day_off}停办"})


def remind_bookings(uow: NotificationsUnitOfWork, *, now: datetime, batch: int = 200) -> int:
    """The day before (China time), each villager still booked is reminded once; the reminder's own key
    ("reminder:<booking>") keeps it once however often the sweep runs."""
    tomorrow = today_in_china(now) + timedelta(days=1)
    start = datetime.combine(tomorrow, time(0), tzinfo=CHINA)
    due = uow.bookings.to_remind(start, start + timedelta(days=1), batch)
    for booking in due:
        booking.reminded = True
        notify(uow, event_id=f"reminder:{booking.id}", kind="booking_reminder", recipient=f"booking:{booking.id}",
               township_code=booking.township_code, now=now,
               values={"place": booking.place, "time": f"{booking.starts_at.astimezone(CHINA):%H:%M}"})
    uow.commit()
    return len(due)


# ---- complainants ---------------------------------------------------------------------------------------

def complaint_registered(uow: NotificationsUnitOfWork, *, event_id: str, facts: ComplaintFacts, public_url: str,
                         now: datetime) -> None:
    """The complainant hears the receipt number and where to follow it, if they gave a phone (complaints
    answers none for an anonymous one, whose look-up code is never sent: the message is then withheld)."""
    uow.complaints.keep(facts.id, {"id": facts.id, "receipt_no": facts.receipt_no,
                                   "township_code": facts.township_code})
    notify(uow, event_id=event_id, kind="complaint_registered", recipient=f"complaint:{facts.id}",
           township_code=facts.township_code, now=now,
           values={"receipt_no": facts.receipt_no, "lookup_url": complaint_url(public_url, facts.receipt_no)})


def complaint_progressed(uow: NotificationsUnitOfWork, *, event_id: str, progressed: ComplaintProgressed,
                         public_url: str, now: datetime) -> None:
    """A reply is told to the complainant with the call-back to come; an assignment to its handler."""
    if progressed.action == "assign" and progressed.handler_staff_id is not None:
        tell_staff(uow, event_id=event_id, kind="complaint_assigned", staff_id=progressed.handler_staff_id,
                   township_code=progressed.township_code, now=now, link=f"/console/complaints/{progressed.id}",
                   values={"receipt_no": progressed.receipt_no,
                           "stage_due": short_date(progressed.stage_due) if progressed.stage_due else "尽快"})
    if progressed.action == "reply":
        recipient = f"complaint:{progressed.id}"
        notify(uow, event_id=event_id, kind="complaint_replied", recipient=recipient,
               township_code=progressed.township_code, now=now,
               values={"receipt_no": progressed.receipt_no,
                       "lookup_url": complaint_url(public_url, progressed.receipt_no)})
        if progressed.stage is Stage.CALL_BACK and progressed.stage_due is not None:
            notify(uow, event_id=event_id, kind="complaint_call_back", recipient=recipient,
                   township_code=progressed.township_code, now=now,
                   values={"receipt_no": progressed.receipt_no, "time": short_date(progressed.stage_due)})


# ---- staff ----------------------------------------------------------------------------------------------

def _case_values(uow: NotificationsUnitOfWork, event: DeadlineEvent) -> dict[str, str]:
    app = uow.applications.get(event.application_id)
    return {"item": app.item_name if app else "办件", "receipt_no": event.receipt_no,
            "deadline": short_date(event.due_on)}


def _case_link(event: DeadlineEvent) -> str:
    return f"/console/applications/{event.receipt_no}"


def deadline_warning(uow: NotificationsUnitOfWork, *, event_id: str, event: DeadlineEvent, now: datetime) -> None:
    """75 % of a limit used: whoever answers for it is warned."""
    if event.responsible_staff_id is not None:
        tell_staff(uow, event_id=event_id, kind="deadline_warning", staff_id=event.responsible_staff_id,
                   township_code=event.township_code, values=_case_values(uow, event), link=_case_link(event), now=now)


def supervision_notice(uow: NotificationsUnitOfWork, *, event_id: str, event: DeadlineEvent, now: datetime) -> None:
    """At the limit: whoever answers for it is told it is overdue, and the township's supervisors get the 督办."""
    values, link = _case_values(uow, event), _case_link(event)
    if event.responsible_staff_id is not None:
        tell_staff(uow, event_id=event_id, kind="overdue", staff_id=event.responsible_staff_id,
                   township_code=event.township_code, values=values, link=link, now=now)
    reason = "已超过承诺期限" if event.deadline_kind == "overall" else "本环节已超期"
    for supervisor in uow.staff.supervisors_of(event.township_code):
        tell_staff(uow, event_id=event_id, kind="supervision_notice", staff_id=supervisor,
                   township_code=event.township_code, values={"receipt_no": event.receipt_no, "reason": reason},
                   link=link, now=now)


def accountability(uow: NotificationsUnitOfWork, *, event_id: str, event: DeadlineEvent, now: datetime) -> None:
    """A 责任追究 record is made known to the person it is about."""
    if event.responsible_staff_id is not None:
        reason = "超过承诺期限" if event.deadline_kind == "overall" else "环节超期"
        tell_staff(uow, event_id=event_id, kind="accountability", staff_id=event.responsible_staff_id,
                   township_code=event.township_code, values={"receipt_no": event.receipt_no, "reason": reason},
                   link=_case_link(event), now=now)


def roster_reminder(uow: NotificationsUnitOfWork, *, event_id: str, reminder: SessionReminder, now: datetime) -> None:
    """The day before a market-day post, each cadre on its roster."""
    site = uow.market_sites.get(reminder.site_code)
    for staff_id in reminder.staff_ids:
        tell_staff(uow, event_id=event_id, kind="roster_reminder", staff_id=staff_id,
                   township_code=reminder.township_code, link="/console/market", now=now,
                   values={"place": site.name if site else reminder.site_code, "time": short_time(reminder.starts_at)})


def visit_reminder(uow: NotificationsUnitOfWork, *, event_id: str, reminder: VisitReminder, now: datetime) -> None:
    """Before a visit, each cadre going."""
    village = uow.villages.get(reminder.village_code)
    place = reminder.place or (village.name if village else reminder.village_code)
    for staff_id in reminder.staff_ids:
        tell_staff(uow, event_id=event_id, kind="visit_reminder", staff_id=staff_id,
                   township_code=reminder.township_code, link=f"/console/visits/{reminder.visit_id}", now=now,
                   values={"place": place, "time": short_time(reminder.starts_at)})


def early_warning(uow: NotificationsUnitOfWork, *, event_id: str, alert: AlertRaised, now: datetime) -> None:
    """Similar complaints gather in a village (苗头性问题): the township's supervisors are told."""
    village = uow.villages.get(alert.village_code)
    topic = f"{alert.window_days}天内{CATEGORY_NAMES[alert.category]}类诉求{alert.count}件"
    for supervisor in uow.staff.supervisors_of(alert.township_code):
        tell_staff(uow, event_id=event_id, kind="early_warning", staff_id=supervisor,
                   township_code=alert.township_code, link="/console/supervision", now=now,
                   values={"village": village.name if village else alert.village_code, "topic": topic})

