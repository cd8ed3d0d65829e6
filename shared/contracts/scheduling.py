"""Scheduling contracts: market days, market-day sessions 便民服务岗 with rosters and attendance,
appointment slots, the five kinds of visits 下访, and the public calendar."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.base import Changes, CleanText, Contract, Id, Mobile, View
from shared.contracts.directory import (
    Category,
    HourMinute,
    MarketDayRule,
    Name,
    RecordCode,
    Text,
    TownshipCode,
    VillageCode,
)


class DateRange(Contract):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > 800:
            raise ValueError("ask for at most 800 days at a time")
        return self


class MarketDays(View):
    site_code: str
    site_name: str
    township_code: str
    location: str
    opens_at: str
    closes_at: str
    rule_summary: str
    days: list[date]


# ---- sessions 便民服务岗, rosters, attendance, appointments ---------------------------------------

class SessionGenerate(Contract):
    """The market-day sessions of a site for a period. Across fields: `end` is on or after `start`, at most
    400 days after it."""

    site_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
    start: date
    end: date
    services: list[Category] = Field(default_factory=lambda: list(Category), max_length=6)

    @model_validator(mode="after")
    def _bounded(self) -> SessionGenerate:
        if self.end < self.start or (self.end - self.start).days > 400:
            raise ValueError("generate for a period of at most 400 days, end after start")
        return self


class RosterEntryView(View):
    staff_id: int
    reason: str | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    attendance: str | None


class LinkedRecord(View):
    """Something handled at a session or raised on a visit: an application, a consultation, a complaint."""

    kind: Literal["application", "consultation", "complaint"]
    ref: str  # the application's or complaint's receipt number, the consultation's id
    occurred_at: datetime


class SessionView(View):
    id: str
    site_code: str
    township_code: str
    day: date
    starts_at: datetime
    ends_at: datetime
    status: str  # scheduled | cancelled | needs_decision (a day off fell on it and villagers had booked)
    services: list[str]
    roster: list[RosterEntryView] = Field(default_factory=list)
    linked: list[LinkedRecord] = Field(default_factory=list)  # what was handled there
    day_off: str | None = None  # the day off that cancelled it, awaits a decision on it, or it is held on
    restorable: bool = False  # cancelled by a day off that was lifted since: POST /sessions/{id}/restore


class SessionQuery(Contract):
    site_code: RecordCode | None = None
    township_code: TownshipCode | None = None  # a county role's choice; others see their own township only
    start: date
    end: date
    limit: int = Field(default=100, ge=1, le=500)


class RosterAssign(Contract):
    staff_id: Id
    reason: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True), CleanText] | None = None


class RosterSwap(Contract):
    from_staff_id: Id
    to_staff_id: Id
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), CleanText]


class RosterGenerate(Contract):
    start: date
    end: date
    site_code: RecordCode | None = None  # None: every site of the township
    cadre_ids: list[Id] = Field(min_length=1, max_length=200)
    per_session: int = Field(default=2, ge=1, le=20)
    max_per_cadre: int = Field(default=31, ge=1, le=400)


class LeaveCreate(Contract):
    """A staff member's leave. Across fields: `last_day` is on or after `first_day`."""

    staff_id: Id
    first_day: date
    last_day: date
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), CleanText]

    @model_validator(mode="after")
    def _ordered(self) -> LeaveCreate:
        if self.last_day < self.first_day:
            raise ValueError("leave ends before it starts")
        return self


class SlotsCreate(Contract):
    minutes: int = Field(default=30, ge=10, le=240)
    capacity: int = Field(default=5, ge=1, le=500)


class SlotView(View):
    id: int
    session_id: str | None  # a slot at a market-day session …
    visit_id: str | None  # … or at an appointment visit
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int


class BookingCreate(Contract):
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), CleanText]
    phone: Mobile
    topic: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True), CleanText] | None = None


class BookingView(View):
    id: str
    slot_id: int
    starts_at: datetime
    status: str
    name: str  # masked unless staff
    phone: str
    topic: str | None


class BookingChanged(Contract):
    """Event `booking_changed`: a villager's place was booked, cancelled, served or missed. Where and when,
    for the messages about it; who booked stays with scheduling (notifications asks for the phone)."""

    booking_id: str
    status: Literal["booked", "cancelled", "served", "no_show"]
    occasion: Literal["session", "visit"]
    occasion_id: str
    township_code: str
    starts_at: datetime
    place: str  # the market site's or the visit's place, by name


class AttendanceRecorded(Contract):
    """Event when a session ends: one per rostered cadre, attended or no-show (evaluation counts it)."""

    session_id: str
    site_code: str
    township_code: str
    day: date
    staff_id: int
    attendance: Literal["attended", "no_show"]


class SessionReminder(Contract):
    session_id: str
    site_code: str
    township_code: str
    starts_at: datetime
    staff_ids: list[int]


# ---- visits 下访 ---------------------------------------------------------------------------------------

class VisitKind(StrEnum):
    PERIODIC = "periodic"  # 定期: a team goes to a village on a recurring rule
    FIXED_POINT = "fixed_point"  # 定点: a set place on a set schedule, villagers come
    APPOINTMENT = "appointment"  # 预约: villagers book slots, the cadres come at the booked times
    TOPICAL = "topical"  # 专题: one theme, inside a campaign's period
    JOINT = "joint"  # 联合: several departments together, each with its own cadres


StaffIds = Annotated[list[Id], Field(max_length=30)]


class DepartmentTeam(Contract):
    department: Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), CleanText]
    staff_ids: StaffIds = Field(min_length=1)


class _VisitHours(Contract):
    starts: HourMinute = "09:00"
    ends: HourMinute = "12:00"

    @model_validator(mode="after")
    def _ordered(self) -> _VisitHours:
        if self.ends <= self.starts:
            raise ValueError("a visit ends after it starts")
        return self


class VisitPlan(_VisitHours):
    """One visit: appointment, topical or joint (periodic and fixed-point visits come from a series).
    Across fields: it ends after it starts; a joint visit lists its cadres under at least two different
    `departments` (each once, each cadre in one) and no `staff_ids`; other kinds list `staff_ids` (each once)
    and no departments; a topical visit, and only a topical one, names its `campaign_id`."""

    kind: Literal["appointment", "topical", "joint"]
    title: Name
    village_code: VillageCode
    place: Text
    day: date
    purpose: Text | None = None
    staff_ids: StaffIds = Field(default_factory=list)  # appointment, topical
    departments: list[DepartmentTeam] = Field(default_factory=list, max_length=10)  # joint
    campaign_id: Id | None = None  # topical

    @model_validator(mode="after")
    def _kind_needs(self) -> VisitPlan:
        if self.kind == VisitKind.JOINT:
            if self.staff_ids:
                raise ValueError("a joint visit lists its cadres under their departments")
            names = [d.department for d in self.departments]
            if len(set(names)) < 2 or len(set(names)) != len(names):
                raise ValueError("a joint visit has at least two different departments, each listed once")
            everyone = [s for d in self.departments for s in d.staff_ids]
            if len(set(everyone)) != len(everyone):
                raise ValueError("a cadre goes with one department only")
        else:
            if self.departments:
                raise ValueError("departments belong to a joint visit")
            if not self.staff_ids or len(set(self.staff_ids)) != len(self.staff_ids):
                raise ValueError("name the cadres who go, each once")
        if (self.kind == VisitKind.TOPICAL) != (self.campaign_id is not None):
            raise ValueError("a topical visit belongs to a campaign (campaign_id); other kinds do not")
        return self

    def members(self) -> list[tuple[int, str | None]]:
        if self.kind == VisitKind.JOINT:
            return [(s, d.department) for d in self.departments for s in d.staff_ids]
        return [(s, None) for s in self.staff_ids]


class VisitSeriesCreate(_VisitHours):
    """Periodic 定期 or fixed-point 定点 visits: the days come from a rule (weekly, days of the solar or
    lunar month, or dates) within a span; one visit per day, regenerated without duplicates. Across fields:
    a visit ends after it starts; `last_day` is on or after `first_day`, at most 400 days after it; a
    fixed-point series names its `place`; each cadre is listed once."""

    kind: Literal["periodic", "fixed_point"]
    title: Name
    village_code: VillageCode
    place: Text | None = None  # fixed-point visits name their place
    rule: MarketDayRule
    first_day: date
    last_day: date
    staff_ids: StaffIds = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> VisitSeriesCreate:
        if self.kind == VisitKind.FIXED_POINT and not self.place:
            raise ValueError("a fixed-point visit names its place")
        if self.last_day < self.first_day or (self.last_day - self.first_day).days > 400:
            raise ValueError("a series spans at most 400 days, last_day after first_day")
        if len(set(self.staff_ids)) != len(self.staff_ids):
            raise ValueError("name each cadre once")
        return self


class VisitSeriesChange(Changes):
    """A new rule, span end or team for the future visits of a series; past visits stay as they were."""

    rule: MarketDayRule | None = None
    last_day: date | None = None
    staff_ids: StaffIds | None = Field(default=None, min_length=1)


class CampaignCreate(Contract):
    """专题: a themed campaign (e.g. 医保政策进村) over a period; its visits are topical visits. Across
    fields: `last_day` is on or after `first_day`, at most 366 days after it."""

    township_code: TownshipCode
    theme: Name
    description: Text | None = None
    first_day: date
    last_day: date

    @model_validator(mode="after")
    def _period(self) -> CampaignCreate:
        if self.last_day < self.first_day or (self.last_day - self.first_day).days > 366:
            raise ValueError("a campaign lasts at most a year, last_day after first_day")
        return self


class CampaignView(View):
    id: int
    township_code: str
    theme: str
    description: str | None
    first_day: date
    last_day: date


class VisitReport(Contract):
    """After the visit: who went, what was raised, in a few words. Each issue raised is then filed as an
    application or complaint naming the visit (channel visit, visit_id), which links it here."""

    went_staff_ids: StaffIds
    summary: Text
    raised: list[Text] = Field(default_factory=list, max_length=100)
    people_met: int = Field(default=0, ge=0, le=100000)


class VisitMemberView(View):
    staff_id: int
    department: str | None
    went: bool | None  # None until reported


class VisitView(View):
    id: str
    kind: VisitKind
    title: str
    township_code: str
    village_code: str
    place: str
    day: date
    starts_at: datetime
    ends_at: datetime
    status: Literal["planned", "cancelled", "reported", "needs_decision"]
    purpose: str | None
    series_id: int | None
    campaign_id: int | None
    members: list[VisitMemberView]
    summary: str | None = None
    raised: list[str] = Field(default_factory=list)
    people_met: int | None = None
    reported_at: datetime | None = None
    linked: list[LinkedRecord] = Field(default_factory=list)
    day_off: str | None = None  # as SessionView
    restorable: bool = False  # POST /visits/{id}/restore


class VisitSeriesView(View):
    id: int
    kind: VisitKind
    title: str
    township_code: str
    village_code: str
    place: str
    rule_summary: str
    first_day: date
    last_day: date
    staff_ids: list[int]
    visits: list[VisitView]
    unavailable: list[dict] = Field(default_factory=list)  # {day, staff_id, code}: left off that visit


class VisitQuery(Contract):
    start: date
    end: date
    township_code: TownshipCode | None = None  # a county role's choice; others see their own township only
    kind: VisitKind | None = None
    village_code: VillageCode | None = None
    campaign_id: Id | None = None
    staff_id: Id | None = None
    limit: int = Field(default=100, ge=1, le=500)


class VisitReported(Contract):
    """Event: a visit happened (evaluation counts visits made per cadre, and who did not go)."""

    visit_id: str
    kind: VisitKind
    township_code: str
    village_code: str
    day: date
    went_staff_ids: list[int]
    missed_staff_ids: list[int]
    raised_count: int
    people_met: int


class VisitReminder(Contract):
    visit_id: str
    kind: VisitKind
    township_code: str
    village_code: str
    place: str
    starts_at: datetime
    staff_ids: list[int]


# ---- the public calendar -----------------------------------------------------------------------

class PublicCalendarEntry(View):
    """公开: an upcoming market-day post or a visit villagers can come to; where, when, what services,
    and whether appointments are open. Nothing about who staffs it."""

    kind: Literal["market_day_post", "visit"]
    id: str
    day: date
    starts_at: datetime
    ends_at: datetime
    title: str  # the site's name, or the visit's title
    place: str
    village_code: str | None
    services: list[str]
    visit_kind: VisitKind | None = None
    free_places: int | None = None  # appointment places left, when slots are offered


# ---- days off reaching what is scheduled --------------------------------------------------------------

class DayOffDecision(Contract):
    """A planner's decision on a session or visit a day off fell on while villagers had booked: cancel it
    (the bookings are cancelled and the villagers told) or hold it anyway."""

    decision: Literal["cancel", "hold"]


class _OccasionOnADayOff(Contract):
    occasion: Literal["session", "visit"]
    id: str
    township_code: str
    day: date
    starts_at: datetime
    day_off: str  # the name of the day off (县庆, 春节 …)
    staff_ids: list[int]  # the rostered cadres or the visit's members, to tell
    booking_ids: list[str]  # the villagers' bookings concerned (their contact stays with scheduling)


class OccasionCalledOff(_OccasionOnADayOff):
    """Event `occasion_called_off`: a day off fell on a session or visit. `cancelled`: it will not take
    place (tell its cadres and, if any, the villagers whose bookings were cancelled); `needs_decision`:
    villagers had booked, so a planner must cancel or hold it (tell the planners and cadres)."""

    outcome: Literal["cancelled", "needs_decision"]


class OccasionDayOffLifted(_OccasionOnADayOff):
    """Event `occasion_day_off_lifted`: the day is no longer off. `restorable`: what it cancelled may be
    restored by a planner; `resumed`: what waited for a decision goes ahead as planned."""

    outcome: Literal["restorable", "resumed"]
