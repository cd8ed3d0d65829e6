"""Intake rules: receipt numbers, the status an application is in, who may see personal data, what a
filing needs. Pure: no database, no clock."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from shared.contracts.access import roles_for
from shared.contracts.approvals import ProgressStage
from shared.contracts.caller import Caller
from shared.contracts.directory import ItemKind
from shared.contracts.intake import ApplicationStatus
from shared.errors import Forbidden, ValidationFailed
from shared.working_days import WorkingCalendar, deadline

RECEIPT_PATTERN = re.compile(r"^(\d{9})-(\d{8})-(\d{4,6})$")
FINAL_STATUSES = frozenset({ApplicationStatus.REFUSED, ApplicationStatus.COMPLETED, ApplicationStatus.DELIVERED})
RECEIVED_STAGE = "received"

# Which status each stage leaves the application in; a 延期 changes the deadline, not the status.
STAGE_STATUS: dict[str, ApplicationStatus] = {
    RECEIVED_STAGE: ApplicationStatus.RECEIVED,
    ProgressStage.ACCEPTED: ApplicationStatus.ACCEPTED,
    ProgressStage.REFUSED: ApplicationStatus.REFUSED,
    ProgressStage.STEP_CHANGED: ApplicationStatus.IN_REVIEW,
    ProgressStage.SUPPLEMENT_REQUESTED: ApplicationStatus.AWAITING_SUPPLEMENT,
    ProgressStage.SUPPLEMENT_RECEIVED: ApplicationStatus.IN_REVIEW,
    ProgressStage.COMPLETED: ApplicationStatus.COMPLETED,
    ProgressStage.RESULT_DELIVERED: ApplicationStatus.DELIVERED,
}

FILING_ROLES = roles_for("intake.file_application")  # the access matrix decides


def format_receipt(township_code: str, day: date, sequence: int) -> str:
    """办件编号: township code, the day of receipt, and that township's sequence for the day."""
    return f"{township_code}-{day:%Y%m%d}-{sequence:04d}"


def is_receipt_number(text: str) -> bool:
    return bool(RECEIPT_PATTERN.match(text))


def current_status(stages: Iterable[tuple[str, datetime]]) -> ApplicationStatus:
    """The status left by the latest stage that sets one. Events may arrive out of order; the time each
    stage happened, not the order of arrival, decides."""
    latest: tuple[datetime, ApplicationStatus] | None = None
    for stage, occurred_at in stages:
        status = STAGE_STATUS.get(stage)
        if status is not None and (latest is None or occurred_at >= latest[0]):
            latest = (occurred_at, status)
    return latest[1] if latest else ApplicationStatus.RECEIVED


def is_overdue(status: ApplicationStatus, promised_deadline: date | None, today: date) -> bool:
    return promised_deadline is not None and status not in FINAL_STATUSES and today > promised_deadline


def promised_deadline(calendar: WorkingCalendar, filed_on: date, promised_days: int) -> date | None:
    """承诺时限: the deadline on the receipt, the item's limit in working days counted from the day of filing —
    the clock starts then, accepted or not, as approvals counts it when it opens the case; approvals' clock
    speaks for it from its first announcement on (a 延期, a 补正, a calendar change)."""
    return deadline(calendar, filed_on, promised_days)


def missing_materials(required: Sequence[str], provided: Sequence[str]) -> list[str]:
    have = {m.strip() for m in provided}
    return [m for m in required if m.strip() not in have]


def require_filer(caller: Caller) -> str:
    """Who may file: staff of a township (stations, cadres, departments, supervisors). Returns the township."""
    if caller.role not in FILING_ROLES or caller.township_code is None or caller.staff_id is None:
        raise Forbidden("only township and station staff file applications", code="filing_not_allowed")
    return caller.township_code


def check_item_can_be_filed(*, item_status: str, item_kind: ItemKind, complete_now: bool,
                            required: Sequence[str], provided: Sequence[str]) -> None:
    if item_status != "active":
        raise ValidationFailed("this catalogue item has been withdrawn", [{"field": "item_code",
                                                                          "message": "withdrawn"}],
                               code="item_withdrawn")
    missing = missing_materials(required, provided)
    if missing:
        raise ValidationFailed("required materials are missing: " + "、".join(missing),
                               [{"field": "materials_provided", "message": f"missing {m}"} for m in missing],
                               code="materials_missing")
    if complete_now and item_kind is not ItemKind.IMMEDIATE:
        raise ValidationFailed("only an immediate item (promised limit 0) is completed on the spot",
                               [{"field": "complete_now", "message": "the item has a promised limit"}],
                               code="not_immediate")


def sees_personal_data(caller: Caller, accountable_staff_id: int, handler_ids: Iterable[int]) -> bool:
    """Personal data in full only for those handling the case: the first receiver and later handlers."""
    return caller.staff_id is not None and (caller.staff_id == accountable_staff_id
                                            or caller.staff_id in set(handler_ids))
