"""Approvals contracts that other services consume. The approvals service publishes one event type,
`application_progressed`, for every step of an application's workflow; intake keeps its look-up and
lists current from it and evaluation counts from it."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.contracts.base import CleanText, Contract, Offset

VERSION = 1


class ProgressStage(StrEnum):
    ACCEPTED = "accepted"  # 受理: the promised deadline is set
    REFUSED = "refused"  # 不予受理, with a reason
    STEP_CHANGED = "step_changed"  # moved to another review step
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 补正: the clock stops
    SUPPLEMENT_RECEIVED = "supplement_received"  # the clock runs again
    DEADLINE_EXTENDED = "deadline_extended"  # 延期, approved by a supervisor
    COMPLETED = "completed"  # 办结, approved or denied
    RESULT_DELIVERED = "result_delivered"


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class ApplicationProgressed(Contract):
    application_id: str
    receipt_no: str
    township_code: str
    stage: ProgressStage
    occurred_at: datetime
    actor_staff_id: int | None = None
    step_name: str | None = None
    promised_deadline: date | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    missing_materials: list[str] = Field(default_factory=list)


# ---- RPC payloads and views -------------------------------------------------------------------------

class CaseAction(Contract):
    action: Literal["accept", "refuse", "claim", "approve", "return", "request_supplement", "supplement_received",
                    "deny", "complete", "deliver", "extend"]
    reason: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True), CleanText] | None = None
    materials: list[Annotated[str, StringConstraints(min_length=1, max_length=200), CleanText]] = Field(
        default_factory=list, max_length=50)  # what is missing, for request_supplement
    days: int = Field(default=0, ge=0, le=365)  # working days, for extend


class AuditEntryView(Contract):
    action: str
    actor_staff_id: int | None
    actor_role: str
    at: datetime
    reason: str | None
    step: str | None
    from_status: str
    to_status: str
    step_days_used: int
    overall_days_used: int
    details: dict


class DeadlineView(Contract):
    kind: Literal["overall", "step"]
    step_name: str | None
    warn_on: date
    due_on: date
    warned_at: datetime | None
    overdue_at: datetime | None


class CaseView(Contract):
    application_id: str
    receipt_no: str
    township_code: str
    station_code: str | None
    item_code: str
    status: str
    step_name: str
    step_title: str
    step_roles: list[str]
    assignee_staff_id: int | None
    accountable_staff_id: int
    outcome: Outcome | None
    received_on: date
    promised_days: int
    extension_days: int
    overall_due: date | None
    step_due: date | None
    overdue: bool
    paused: bool
    audit: list[AuditEntryView] = Field(default_factory=list)
    deadlines: list[DeadlineView] = Field(default_factory=list)


class InboxQuery(Contract):
    limit: int = Field(default=50, ge=1, le=200)
    offset: Offset = 0


class NoticeView(Contract):
    id: int
    kind: Literal["supervision", "accountability"]
    application_id: str
    receipt_no: str
    township_code: str
    deadline_kind: Literal["overall", "step"]
    step_name: str | None
    due_on: date
    recorded_at: datetime
    responsible_staff_id: int | None  # None: nobody had claimed the late step
    accountable_staff_id: int


# ---- events besides application_progressed ----------------------------------------------------------

class DeadlineEvent(Contract):
    """approval_warning (a share of a limit used), supervision_notice_issued 督办 and accountability_recorded
    责任追究 all carry this: which limit, of which application, and who is to hear of it."""

    application_id: str
    receipt_no: str
    township_code: str
    deadline_kind: Literal["overall", "step"]
    step_name: str | None
    due_on: date
    responsible_staff_id: int | None
    accountable_staff_id: int  # the first-contact staff member, who is notified too


class NoticeQuery(Contract):
    kind: Literal["supervision", "accountability"]
    limit: int = Field(default=50, ge=1, le=200)
    offset: Offset = 0
