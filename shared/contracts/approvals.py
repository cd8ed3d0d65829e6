"""Approvals contracts that other services consume. The approvals service publishes one event type,
`application_progressed`, for every step of an application's workflow; intake keeps its look-up and
lists current from it and evaluation counts from it."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.base import Contract

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
