"""What each event tells whom: the applicant at filing, at a 补正, when the clock runs again and at the
close. Each function reads like the rule it implements; `notify` makes the message once."""
from __future__ import annotations

from datetime import date, datetime

from services.notifications.adapters import orm
from services.notifications.service_layer.handlers import notify
from shared.contracts.approvals import ApplicationProgressed, Outcome, ProgressStage
from shared.contracts.intake import ApplicationFiled
from shared.db import UnitOfWork

RESULT = {Outcome.APPROVED: "准予办理", Outcome.DENIED: "不予办理"}
TOWNSHIP_HALL = "乡镇便民服务中心"  # where to go when the application names no station


def lookup_url(public_url: str, receipt_no: str) -> str:
    return f"{public_url.rstrip('/')}/q/{receipt_no}"


def short_date(day: date) -> str:
    return f"{day.month}月{day.day}日"


def application_filed(uow: UnitOfWork, *, event_id: str, filed: ApplicationFiled, public_url: str,
                      now: datetime) -> None:
    """The applicant gets the receipt number, the promise in working days and where to follow it. An
    immediate item done on the spot is told it is done instead (application_completed_on_the_spot)."""
    uow.put(orm.ApplicationRow, filed.id, {
        "id": filed.id, "receipt_no": filed.receipt_no, "township_code": filed.township_code,
        "station_code": filed.station_code, "item_name": filed.item_name, "promised_deadline": None})
    if filed.completed_on_the_spot:
        return
    notify(uow, event_id=event_id, kind="application_filed", recipient=f"application:{filed.id}",
           township_code=filed.township_code, now=now,
           values={"item": filed.item_name, "receipt_no": filed.receipt_no, "days": str(filed.promised_days),
                   "lookup_url": lookup_url(public_url, filed.receipt_no)})


def application_progressed(uow: UnitOfWork, *, event_id: str, progressed: ApplicationProgressed,
                           now: datetime) -> None:
    """补正 names the materials and where to bring them (the clock stops); the clock running again gives
    the new promised day; 办结 gives the result and where to collect it."""
    app = uow.session.get(orm.ApplicationRow, progressed.application_id)
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


def _place(uow: UnitOfWork, app: orm.ApplicationRow) -> str:
    station = uow.session.get(orm.StationRow, app.station_code) if app.station_code else None
    return station.name if station is not None else TOWNSHIP_HALL


def keep_station(uow: UnitOfWork, station: dict) -> None:
    uow.keep_newest(orm.StationRow, station["code"], {
        "code": station["code"], "township_code": station["township_code"], "name": station["name"],
        "version": station["version"]})
