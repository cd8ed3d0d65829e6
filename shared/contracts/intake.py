"""Intake contracts: applications 申请事项 with their receipt numbers, consultations 接待来访咨询,
service activities 服务活动 and practical deeds 办实事. Events never carry personal data."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.contracts.approvals import Outcome
from shared.contracts.base import CleanText, Contract, Id, Mobile, Offset, View
from shared.contracts.directory import (
    Category,
    HandlingLevel,
    ItemKind,
    Name,
    RecordCode,
    Text,
    TownshipCode,
    VillageCode,
)
from shared.pii import id_card_problem

VERSION = 1

ReceiptNo = Annotated[str, StringConstraints(pattern=r"^\d{9}-\d{8}-\d{4,6}$")]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), CleanText]
ExternalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
class Channel(StrEnum):
    STATION = "station"  # at a village service station
    MARKET_DAY = "market_day"  # at a market-day service post 便民服务岗 (session_id)
    VISIT = "visit"  # raised on a cadre's visit 下访 (visit_id)
    PROXY = "proxy"  # brought in by a proxy agent 代办员
    PHONE = "phone"
    ONLINE = "online"


class ApplicationStatus(StrEnum):
    RECEIVED = "received"  # filed, waiting for 受理
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # 补正
    REFUSED = "refused"  # 不予受理
    COMPLETED = "completed"  # 办结 (outcome approved or denied)
    DELIVERED = "delivered"  # result handed over


class Applicant(Contract):
    name: PersonName
    phone: Mobile
    id_card: Annotated[str, CleanText]
    village_code: VillageCode
    address: Text | None = None

    @field_validator("id_card")
    @classmethod
    def _id_card(cls, value: str) -> str:
        value = value.strip().upper()
        problem = id_card_problem(value)
        if problem:
            raise ValueError(f"ID-card number {problem}")
        return value


class ApplicationFile(Contract):
    """An application filed for a villager. Across fields: channel `market_day` names its `session_id` and
    channel `visit` its `visit_id`; no other channel names either."""

    item_code: RecordCode
    applicant: Applicant
    channel: Channel
    station_code: RecordCode | None = None  # where it was received; defaults to the receiver's station
    session_id: ExternalId | None = None  # the market-day session, for channel market_day
    visit_id: ExternalId | None = None  # the visit, for channel visit
    materials_provided: list[Text] = Field(default_factory=list, max_length=50)
    description: Text | None = None
    complete_now: bool = False  # 即办件: completed in the same request
    result_note: Text | None = None

    @model_validator(mode="after")
    def _channel_context(self) -> ApplicationFile:
        check_channel_context(self.channel, self.session_id, self.visit_id)
        return self


def check_channel_context(channel: Channel, session_id: str | None, visit_id: str | None) -> None:
    """Something received at a market-day post names its session; something raised on a visit names
    the visit; nothing else names either."""
    if channel is Channel.MARKET_DAY and not session_id:
        raise ValueError("what is received at a market-day post names its session_id")
    if channel is Channel.VISIT and not visit_id:
        raise ValueError("what is raised on a visit names its visit_id")
    if session_id and channel is not Channel.MARKET_DAY:
        raise ValueError("session_id belongs to channel market_day")
    if visit_id and channel is not Channel.VISIT:
        raise ValueError("visit_id belongs to channel visit")


class ApplicantView(View):
    name: str
    phone: str
    id_card: str
    village_code: str
    address: str | None
    masked: bool  # true unless the caller handles the case


class StageView(View):
    stage: str
    occurred_at: datetime
    actor_staff_id: int | None = None
    note: str | None = None


class ApplicationFacts(Contract):
    """What an application is, as filed: shared by the staff view and the application_filed event."""

    id: str
    receipt_no: str
    township_code: str
    station_code: str | None
    village_code: str
    item_code: str
    item_name: str
    item_kind: ItemKind
    handling_level: HandlingLevel
    promised_days: int
    channel: Channel
    session_id: str | None
    visit_id: str | None
    accountable_staff_id: int  # 首问负责制: the first receiver stays accountable
    materials_provided: list[str]
    filed_at: datetime


class ApplicationView(ApplicationFacts, View):
    status: ApplicationStatus
    outcome: Outcome | None
    promised_deadline: date | None  # on the receipt from the filing (None while a 补正 pauses it, or once refused)
    completed_at: datetime | None
    overdue: bool
    paused: bool = False  # a 补正 holds the clock …
    paused_on: date | None = None  # … since this day …
    awaiting_materials: list[str] = Field(default_factory=list)  # … until these arrive
    completed_late: bool = False  # 办结 after the promised deadline
    days_late: int | None = None  # working days past the deadline at 办结 (0: on time); None while open
    handler_staff_ids: list[int]
    description: str | None
    result_note: str | None
    applicant: ApplicantView
    stages: list[StageView]


class ApplicationPage(View):
    items: list[ApplicationView]
    next_cursor: str | None


class ApplicationQuery(Contract):
    township_code: TownshipCode | None = None  # a county role's choice; others see their own township only
    station_code: RecordCode | None = None
    status: ApplicationStatus | None = None
    item_code: RecordCode | None = None
    channel: Channel | None = None
    village_code: VillageCode | None = None
    filed_from: date | None = None
    filed_to: date | None = None
    overdue: bool | None = None
    completed_late: bool | None = None  # completed after the promised deadline (or not)
    mine: bool = False  # only those I am accountable for
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, StringConstraints(max_length=200), CleanText] | None = None


class PublicStage(View):
    stage: str
    on: date


class PublicProgress(View):
    """What anyone with the receipt number and the phone's last four digits may see: nothing personal."""

    receipt_no: str
    item_name: str
    status: ApplicationStatus
    outcome: Outcome | None
    filed_on: date
    promised_deadline: date | None
    completed_on: date | None
    stages: list[PublicStage]
    paused: bool = False  # the clock is stopped for a 补正 …
    paused_on: date | None = None
    awaiting_materials: list[str] = Field(default_factory=list)  # … until these materials arrive


class PublicLookup(Contract):
    receipt_no: Annotated[str, StringConstraints(max_length=40), CleanText]
    phone_last4: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
    client: Annotated[str, StringConstraints(max_length=64), CleanText]  # who is asking (the gateway's client address)


# ---- light records counted by evaluation ------------------------------------------------------------

class ConsultationRecord(Contract):
    """接待来访咨询: a visit or consultation at a station, a post or on a visit. Across fields: channel
    `market_day` names its `session_id` and channel `visit` its `visit_id`; no other channel names either."""

    topic: Text
    channel: Channel
    village_code: VillageCode | None = None
    station_code: RecordCode | None = None
    session_id: ExternalId | None = None  # the market-day session, for channel market_day
    visit_id: ExternalId | None = None  # the visit, for channel visit
    occurred_on: date
    people_count: int = Field(default=1, ge=1, le=10000)
    note: Text | None = None

    @model_validator(mode="after")
    def _channel_context(self) -> ConsultationRecord:
        check_channel_context(self.channel, self.session_id, self.visit_id)
        return self


class ServiceActivityRecord(Contract):
    """服务活动: a training, clinic, cultural event … of one of the six services."""

    category: Category
    title: Name
    place: Text
    village_code: VillageCode | None = None
    held_on: date
    attendance: int = Field(ge=0, le=100000)
    staff_ids: list[Id] = Field(default_factory=list, max_length=50)


class PracticalDeedRecord(Contract):
    """办实事: a practical thing done for villagers."""

    description: Text
    village_code: VillageCode | None = None
    done_on: date
    beneficiaries: int = Field(default=1, ge=0, le=100000)


class RecordKind(StrEnum):
    CONSULTATION = "consultation"
    SERVICE_ACTIVITY = "service_activity"
    PRACTICAL_DEED = "practical_deed"


class ActivityView(View):
    id: int
    kind: RecordKind
    township_code: str
    staff_id: int
    recorded_at: datetime
    occurred_on: date
    details: dict


class RecordQuery(Contract):
    kind: RecordKind
    village_code: VillageCode | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: Offset = 0


# ---- events ---------------------------------------------------------------------------------------

class ApplicationFiled(ApplicationFacts):
    required_materials: list[str]
    completed_on_the_spot: bool  # 即办件 done at once: approvals has nothing to do
    contact_check: str  # vault.contact_check(receipt_no, phone's last 4): the applicant can rate it publicly
    # the deadline on the receipt, as intake counted it: approvals, counting the same, then need not announce
    # its opening clock. Accepted from this release on; intake sends it from the next (the previous
    # release's consumers refuse a field they do not know: docs/OPERATIONS.md, "Events expand too")
    promised_deadline: date | None = None


class ApplicationCompletedOnTheSpot(Contract):
    """An immediate item 即办件 completed in the request that filed it."""

    id: str
    receipt_no: str
    township_code: str
    item_code: str
    completed_at: datetime
    accountable_staff_id: int
    outcome: Outcome


class ActivityRecorded(Contract):
    id: int
    kind: RecordKind
    township_code: str
    station_code: str | None
    village_code: str | None
    staff_id: int
    occurred_on: date
    people: int  # people consulted, attendance, or beneficiaries
    category: Category | None = None
    session_id: str | None = None  # a consultation at a market-day post
    visit_id: str | None = None  # a consultation on a visit



class RecordKindQuery(Contract):
    kind: RecordKind
