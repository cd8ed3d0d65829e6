"""Approvals contracts that other services consume. The approvals service publishes
`application_progressed` for every step of an application's workflow (intake keeps its look-up and
lists current from it and evaluation counts from it) and `application_clock_changed` whenever the
promised deadline it counts changes, from the filing on (intake shows it)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.contracts.base import CleanText, Contract, Offset, View
from shared.contracts.directory import RecordCode, VillageCode

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
    # a review step this action closed (approve, return, deny), for evaluation: which, its due day, and who
    # held it — its claimant (签收), or the actor when nobody had claimed it. Added later: absent before.
    handled_step: str | None = None
    handled_step_due: date | None = None
    step_holder_staff_id: int | None = None


class ApplicationClock(Contract):
    """`application_clock_changed`: the whole item's promised deadline as approvals counts it. Sent when the
    case opens at filing (the clock starts then, accepted or not), whenever the deadline moves (延期, a
    calendar change), when a 补正 stops the clock and when it runs again, and at the close. `seq` rises with
    each change of one application, so a consumer keeps the highest and ignores a late arrival."""

    application_id: str
    receipt_no: str
    township_code: str
    seq: int = Field(ge=1)
    occurred_at: datetime
    promised_deadline: date | None  # China's calendar; None while a 补正 holds the clock, or once refused
    paused_on: date | None = None  # the day the clock stopped for a 补正 (None while it runs)
    awaiting_materials: list[str] = Field(default_factory=list)  # what the 补正 asks for, by name
    days_late: int | None = None  # at 办结: working days past the deadline (0: on time); None before


# ---- RPC payloads and views -------------------------------------------------------------------------

class CaseAction(Contract):
    action: Literal["accept", "refuse", "claim", "approve", "return", "request_supplement", "supplement_received",
                    "deny", "complete", "deliver", "extend"]
    reason: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True), CleanText] | None = None
    materials: list[Annotated[str, StringConstraints(min_length=1, max_length=200), CleanText]] = Field(
        default_factory=list, max_length=50)  # what is missing, for request_supplement
    days: int = Field(default=0, ge=0, le=365)  # working days, for extend


class AuditEntryView(View):
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


class DeadlineView(View):
    kind: Literal["overall", "step"]
    step_name: str | None
    warn_on: date
    due_on: date
    warned_at: datetime | None
    overdue_at: datetime | None


class CaseView(View):
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
    paused_on: date | None = None  # the day a 补正 stopped the clock …
    awaiting_materials: list[str] = Field(default_factory=list)  # … for these materials, by name
    audit: list[AuditEntryView] = Field(default_factory=list)
    deadlines: list[DeadlineView] = Field(default_factory=list)
    village_code: str | None = None  # the applicant's village (None for a case opened before it was kept)
    # the limit the case waits on now (its step's while in review, else the whole item's), in working days:
    warn_on: date | None = None  # the day its warning share (75 %) is used up
    warned: bool = False  # that day has come and the limit has not passed
    working_days_left: int | None = None  # 0: due today; below 0: working days late; None: no clock running
    allowed_actions: list[str] = Field(default_factory=list)  # what the caller may do now, as `act` takes it


InboxStage = Literal["pending_acceptance", "in_review", "awaiting_supplement", "ready_to_complete", "completed"]


class InboxQuery(Contract):
    """My inbox: overdue first, then warned, then the rest by the day each is due; waiting for 补正 and
    waiting to be handed over (no clock running) last. Paged by keyset: `cursor` is the `next_cursor` of the
    page before."""

    item_code: RecordCode | None = None
    status: InboxStage | None = None  # the case's stage
    village_code: VillageCode | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(max_length=200), CleanText] | None = None


class InboxPage(View):
    items: list[CaseView]
    next_cursor: str | None = None
    # the whole inbox under these filters (not only this page): overdue, warned, on_time, no_clock
    counts: dict[str, int] = Field(default_factory=dict)


Responsible = Literal["claimed", "supervisor", "first_contact"]
"""Why that person answers for a late step: they had claimed it (签收); nobody had, so the township's
supervisor, who should have seen it assigned; or, with no supervisor on record, the first-contact staff
member (首问), accountable for the whole case."""


class NoticeView(View):
    id: int
    kind: Literal["supervision", "accountability"]
    application_id: str
    receipt_no: str
    township_code: str
    deadline_kind: Literal["overall", "step"]
    step_name: str | None
    due_on: date
    recorded_at: datetime
    responsible_staff_id: int | None  # who answers for the late step (None only in records older than the rule)
    responsible_basis: Responsible | None = None
    accountable_staff_id: int
    closed_at: datetime | None = None  # 督办: when the late limit stopped running (step done, case closed)


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
    responsible_staff_id: int | None  # who answers for it: named in every event since the rule (see basis)
    accountable_staff_id: int  # the first-contact staff member, who is notified too
    responsible_basis: Responsible | None = None


class CaseWaiting(Contract):
    """`case_waiting`: a case was accepted into a review step, or moved on or back to one, and waits there
    for whoever acts at that step (新办件): the step's roles and where they sit (the application's station
    for a village step, its township, or the county). Its own event, not fields added to
    application_progressed: consumers of the release before refuse fields they do not know, and both
    releases run side by side during a rolling update."""

    application_id: str
    receipt_no: str
    township_code: str
    station_code: str | None
    step_name: str
    step_roles: list[str]
    step_level: Literal["village", "township", "county"]
    promised_deadline: date | None
    actor_staff_id: int | None
    occurred_at: datetime


class NoticeQuery(Contract):
    kind: Literal["supervision", "accountability"]
    limit: int = Field(default=50, ge=1, le=200)
    offset: Offset = 0
    township_code: Annotated[str, StringConstraints(pattern=r"^\d{9}$")] | None = None  # the county's: one township
    open_only: bool = False  # 督办 still open (its limit still running) only
