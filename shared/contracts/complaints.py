"""Complaints contracts: complaints about staff 投诉, disputes to mediate 纠纷调处, petitions 信访 and
suggestions, from registration to call-back 回访; stage limits; findings about staff; early warning
苗头性问题. Events never carry the complainant's identity."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.base import CleanText, Contract, Mobile, Offset, View
from shared.contracts.directory import RecordCode, Text, TownshipCode, VillageCode

ComplaintNo = Annotated[str, StringConstraints(pattern=r"^\d{9}-TS\d{8}-\d{4,6}$")]
ExternalId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True), CleanText]


class ComplaintKind(StrEnum):
    STAFF_CONDUCT = "staff_conduct"  # 投诉: not proactive, rude, 推诿, 吃拿卡要
    DISPUTE = "dispute"  # 纠纷调处: to mediate between parties
    PETITION = "petition"  # 信访 (also 网上信访)
    SUGGESTION = "suggestion"


class Network(StrEnum):
    """四张网络: every complaint belongs to one."""

    PUBLIC_SECURITY = "public_security"  # 治安防控
    PETITIONS = "petitions"  # 信访信息
    MEDIATION = "mediation"  # 纠纷调解
    SERVICES = "services"  # 为民服务


class ComplaintChannel(StrEnum):
    HOTLINE = "hotline"  # 投诉电话
    STATION = "station"
    MARKET_DAY = "market_day"  # at a market-day post (session_id)
    VISIT = "visit"  # raised on a visit 下访 (visit_id)
    ONLINE = "online"  # 网上信访, by the villager
    RECEPTION_DAY = "reception_day"  # 书记大接访


class Category(StrEnum):
    """What a complaint is about; early warning counts complaints of one category in one village."""

    LAND = "land"  # 土地、宅基地
    WATER = "water"  # 水利、饮水
    ROADS = "roads"  # 道路交通
    ENVIRONMENT = "environment"  # 环境卫生
    SOCIAL_ASSISTANCE = "social_assistance"  # 低保、救助
    INSURANCE = "insurance"  # 医保、社保
    PUBLIC_ORDER = "public_order"  # 治安
    NEIGHBOURS = "neighbours"  # 邻里
    STAFF_CONDUCT = "staff_conduct"  # 干部作风
    OTHER = "other"


class ComplaintStatus(StrEnum):
    REGISTERED = "registered"  # 登记, waiting to be assigned (again, after a 退单)
    ASSIGNED = "assigned"  # waiting for 签收
    SIGNED = "signed"  # 签收
    HANDLING = "handling"  # progress notes, mediation
    REPLIED = "replied"  # 答复, waiting for the call-back
    CLOSED_RESOLVED = "closed_resolved"
    CLOSED_UNRESOLVED = "closed_unresolved"  # closed, honestly not fixed


class Stage(StrEnum):
    """The stage whose time limit is running."""

    ASSIGN = "assign"  # registered → assigned
    SIGN = "sign"  # assigned → signed
    REPLY = "reply"  # signed / handling → replied
    CALL_BACK = "call_back"  # replied → closed


# what each category is called, for people (the console, and the early warnings notifications sends)
CATEGORY_NAMES: dict[str, str] = {
    "land": "土地、宅基地", "water": "水利、饮水", "roads": "道路交通", "environment": "环境卫生",
    "social_assistance": "低保、救助", "insurance": "医保、社保", "public_order": "治安", "neighbours": "邻里关系",
    "staff_conduct": "干部作风", "other": "其他",
}


class Finding(StrEnum):
    SUBSTANTIATED = "substantiated"  # 属实
    PARTLY = "partly"  # 部分属实
    NOT_SUBSTANTIATED = "not_substantiated"  # 不属实


class StageLimits(Contract):
    """Working days allowed for each stage of one kind of complaint (set by the county)."""

    assign: int = Field(ge=0, le=60)
    sign: int = Field(ge=0, le=30)
    reply: int = Field(ge=1, le=90)
    call_back: int = Field(ge=0, le=30)


class Complainant(Contract):
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), CleanText]
    phone: Mobile


class ComplaintRegister(Contract):
    """登记 of a complaint. Across fields: channel `market_day` names its `session_id` and channel `visit`
    its `visit_id` (no other channel names either); kind `staff_conduct` names `accused_staff_id`."""

    kind: ComplaintKind
    network: Network
    category: Category
    channel: ComplaintChannel
    village_code: VillageCode
    description: Text
    complainant: Complainant | None = None  # None: anonymous, answered by a look-up code
    accused_staff_id: int | None = Field(default=None, ge=1, le=2**31 - 1)  # the staff member complained about
    station_code: RecordCode | None = None
    session_id: ExternalId | None = None
    visit_id: ExternalId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ComplaintRegister:
        if self.channel == ComplaintChannel.MARKET_DAY and not self.session_id:
            raise ValueError("a complaint at a market-day post names its session_id")
        if self.channel == ComplaintChannel.VISIT and not self.visit_id:
            raise ValueError("a complaint raised on a visit names its visit_id")
        if self.session_id and self.channel != ComplaintChannel.MARKET_DAY:
            raise ValueError("session_id belongs to channel market_day")
        if self.visit_id and self.channel != ComplaintChannel.VISIT:
            raise ValueError("visit_id belongs to channel visit")
        if self.kind == ComplaintKind.STAFF_CONDUCT and self.accused_staff_id is None:
            raise ValueError("a complaint about staff conduct names the staff member (accused_staff_id)")
        return self


class PublicComplaint(Contract):
    """网上信访: a villager registers online, named or anonymous."""

    kind: ComplaintKind
    category: Category
    village_code: VillageCode
    description: Text
    complainant: Complainant | None = None


class ComplaintAction(Contract):
    """One action on a complaint. Across fields, each action needs its own: `assign` a `staff_id`;
    `send_back` and `reopen` a `reason`; `note` and `reply` a `note`; `mediate` a `note`, `agreement` and
    `parties`; `call_back` a `rating` and `resolved`; `extend` `days` and a `reason`; `finding` a `finding`
    and a `reason`."""

    action: Literal["assign", "sign", "send_back", "note", "mediate", "reply", "call_back", "reopen", "extend",
                    "finding"]
    staff_id: int | None = Field(default=None, ge=1, le=2**31 - 1)  # assign: who handles it
    reason: Reason | None = None  # send_back, reopen, extend, finding
    note: Text | None = None  # note, mediate, reply
    parties: list[Annotated[str, StringConstraints(min_length=1, max_length=50), CleanText]] = Field(
        default_factory=list, max_length=20)
    agreement: bool | None = None  # mediate: did the parties agree
    rating: int | None = Field(default=None, ge=1, le=5)  # call_back: 5 非常满意 … 1 非常不满意
    resolved: bool | None = None  # call_back: does the complainant say it is resolved
    days: int | None = Field(default=None, ge=1, le=30)  # extend
    finding: Finding | None = None

    @model_validator(mode="after")
    def _needs(self) -> ComplaintAction:
        needed = {"assign": ("staff_id",), "send_back": ("reason",), "note": ("note",),
                  "mediate": ("note", "agreement"), "reply": ("note",), "call_back": ("rating", "resolved"),
                  "reopen": ("reason",),
                  "extend": ("days", "reason"), "finding": ("finding", "reason")}.get(self.action, ())
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.action} needs {', '.join(missing)}")
        if self.action == "mediate" and not self.parties:
            raise ValueError("mediate names the parties")
        return self


class HistoryEntry(View):
    action: str
    actor_staff_id: int | None
    at: datetime
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus
    note: str | None
    details: dict = Field(default_factory=dict)


class ComplaintView(View):
    id: str
    receipt_no: str
    kind: ComplaintKind
    network: Network
    category: Category
    channel: ComplaintChannel
    township_code: str
    village_code: str
    station_code: str | None
    session_id: str | None
    visit_id: str | None
    description: str
    anonymous: bool
    complainant_name: str | None  # masked unless handling; hidden from the staff member complained about
    complainant_phone: str | None
    accused_staff_id: int | None
    handler_staff_id: int | None
    status: ComplaintStatus
    stage: Stage | None
    stage_due: date | None
    overdue: bool
    reopen_count: int
    finding: Finding | None
    rating: int | None
    registered_at: datetime
    closed_at: datetime | None
    history: list[HistoryEntry] = Field(default_factory=list)
    working_days_left: int | None = None  # on the running stage: 0 due today, below 0 working days late
    allowed_actions: list[str] = Field(default_factory=list)  # what the caller may do now, as `act` takes it


class Registered(View):
    """The answer to a registration: for an anonymous complainant, the look-up code is shown once."""

    complaint: ComplaintView
    lookup_code: str | None = None


class ComplaintQuery(Contract):
    """Filters and a page. Keyset paging: `after` is the id of the last complaint of the previous page (the
    next page starts right after it in the list's order); `offset` is kept for old clients, not with `after`."""

    status: ComplaintStatus | None = None
    township_code: TownshipCode | None = None  # a county role's choice; others see their own township only
    kind: ComplaintKind | None = None
    network: Network | None = None
    category: Category | None = None
    village_code: VillageCode | None = None
    overdue: bool | None = None
    mine: bool = False  # assigned to me
    # waiting for an action of mine: assigned to me for 签收 or 答复; a township supervisor's also those of
    # the township waiting to be assigned or called back (not on their own handling or about them)
    waiting: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: Offset = 0
    after: ExternalId | None = None

    @model_validator(mode="after")
    def _one_way_of_paging(self) -> ComplaintQuery:
        if self.after is not None and self.offset:
            raise ValueError("page with after or with offset, not both")
        return self


class WaitingCounts(View):
    """How many complaints wait for an action of the caller's (as `ComplaintQuery.waiting`), how many of
    them are past their stage's limit and how many are within a working day of it."""

    waiting: int
    overdue: int
    due_soon: int


class PublicComplaintLookup(Contract):
    receipt_no: Annotated[str, StringConstraints(max_length=40), CleanText]
    # the phone's last 4, or the look-up code
    secret: Annotated[str, StringConstraints(min_length=4, max_length=16), CleanText]
    client: Annotated[str, StringConstraints(max_length=64), CleanText]


class PublicComplaintProgress(View):
    receipt_no: str
    kind: ComplaintKind
    status: ComplaintStatus
    registered_on: date
    stages: list[tuple[str, date]]  # (status reached, day)
    reply: str | None  # the 答复, once given


# ---- early warning 苗头性问题 -------------------------------------------------------------------------

class WarningRule(Contract):
    """A burst: at least `threshold` complaints of one category in one village within `window_days`; or a
    rise: the window's count at least `rise_factor` times the village's own average window over the
    `baseline_days` before it (and at least `rise_min` complaints)."""

    threshold: int = Field(default=3, ge=2, le=1000)
    window_days: int = Field(default=7, ge=1, le=90)
    baseline_days: int = Field(default=90, ge=14, le=365)
    rise_factor: float = Field(default=3.0, ge=1.5, le=50)
    rise_min: int = Field(default=2, ge=2, le=1000)


class AlertView(View):
    id: int
    township_code: str
    village_code: str
    category: Category
    rule: Literal["burst", "rise"]
    count: int
    window_days: int
    raised_at: datetime
    status: Literal["open", "acknowledged"]
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    note: str | None
    complaints: list[str]  # receipt numbers behind the alert


class AlertAcknowledge(Contract):
    note: Reason


# ---- events --------------------------------------------------------------------------------------

class ComplaintFacts(Contract):
    """What other services may know of a complaint: never who complained."""

    id: str
    receipt_no: str
    kind: ComplaintKind
    network: Network
    category: Category
    channel: ComplaintChannel
    township_code: str
    village_code: str
    station_code: str | None
    session_id: str | None
    visit_id: str | None
    accused_staff_id: int | None
    registered_by: int | None
    contact_check: str  # vault.contact_check(receipt_no, phone's last 4 or the look-up code), for public rating


class ComplaintProgressed(Contract):
    id: str
    receipt_no: str
    township_code: str
    action: str
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus
    actor_staff_id: int | None
    handler_staff_id: int | None
    stage: Stage | None
    stage_due: date | None
    occurred_at: datetime
    rating: int | None = None
    resolved: bool | None = None
    on_time: bool | None = None  # reply: within the reply stage's limit


class FindingRecorded(Contract):
    """A finding about a staff member complained about; evaluation counts substantiated ones."""

    complaint_id: str
    receipt_no: str
    township_code: str
    accused_staff_id: int
    finding: Finding
    by_staff_id: int | None
    occurred_at: datetime


class StageOverdue(Contract):
    """督办: a stage passed its limit."""

    complaint_id: str
    receipt_no: str
    township_code: str
    stage: Stage
    due_on: date
    handler_staff_id: int | None


class AlertRaised(Contract):
    alert_id: int
    township_code: str
    village_code: str
    category: Category
    rule: Literal["burst", "rise"]
    count: int
    window_days: int


class StageLimitsFor(Contract):
    kind: ComplaintKind
