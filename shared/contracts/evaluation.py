"""Evaluation contracts 完善考评制度: the figures of a staff member, station, village, township or the
county over a period, the records behind each figure, and the rebuild report."""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.base import CleanText, Contract, Offset, View
from shared.divisions import COUNTY_CODE


class Level(StrEnum):
    STAFF = "staff"
    STATION = "station"
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


class Metric(StrEnum):
    """What is counted. Each is a sum over records (facts) of one kind; rates are ratios of these."""

    RECEIVED = "received"  # 受理数: applications filed
    COMPLETED = "completed"  # 办结数
    ON_TIME = "on_time"  # completed within the promised deadline
    COMPLETED_LATE = "completed_late"  # completed after it (the drill-down lists them)
    WORKING_DAYS = "working_days"  # working days from filing to completion, summed over completed
    OVERDUE = "overdue"  # applications that passed a limit (督办)
    RATINGS = "ratings"  # 好差评 given
    SATISFIED = "satisfied"  # rated 基本满意 or better
    SUBSTANTIATED = "substantiated"  # complaints about the staff member found substantiated (属实, 部分属实)
    SESSIONS_ATTENDED = "sessions_attended"
    SESSIONS_MISSED = "sessions_missed"
    VISITS_MADE = "visits_made"
    VISITS_MISSED = "visits_missed"
    CONSULTATIONS = "consultations"  # 接待来访、咨询: people (人次)
    SERVICE_ACTIVITIES = "service_activities"  # 服务活动: events held
    PRACTICAL_DEEDS = "practical_deeds"  # 办实事: deeds done
    COMPLAINTS = "complaints"  # complaints registered
    # cohort: of the applications received (counted on their filing day), those completed so far, on time,
    # and their working days — so a period's rates are of what it received and never pass 100 %
    COHORT_COMPLETED = "cohort_completed"
    COHORT_ON_TIME = "cohort_on_time"
    COHORT_WORKING_DAYS = "cohort_working_days"
    # what a staff member handled: review steps they held (claimed 签收, or closed unclaimed) and closed,
    # those closed by the step's due day, and the 责任追究 records approvals made against them
    STEPS_HANDLED = "steps_handled"
    STEPS_ON_TIME = "steps_on_time"
    ACCOUNTABILITY = "accountability"


class Basis(StrEnum):
    """What a period's completion figures describe. cohort: of the applications received in the period,
    how many are completed (so far) and on time; flow: what happened in the period (completions in it,
    whenever the application was received), which has no completion rate."""

    COHORT = "cohort"
    FLOW = "flow"


UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class FiguresQuery(Contract):
    level: Level
    unit: UnitCode | None = None  # staff id, station code, village/township/county code (a county's staff: their own)
    start: date
    end: date
    basis: Basis = Basis.COHORT

    @model_validator(mode="after")
    def _sound(self) -> FiguresQuery:
        if self.end < self.start or (self.end - self.start).days > 3700:
            raise ValueError("a period of at most ten years, end after start")
        if self.level != Level.COUNTY and self.unit is None:
            raise ValueError("name the unit, except for one's own county")
        if self.level == Level.COUNTY and self.unit is not None and not COUNTY_CODE.fullmatch(self.unit):
            raise ValueError("a county is named by its 6-digit code")
        return self


class Figures(View):
    level: Level
    unit: str | None
    township_code: str | None  # the township the unit belongs to (None for the county)
    start: date
    end: date
    basis: Basis = Basis.COHORT  # what the completion rates and the on-time rate are of
    counts: dict[Metric, float]  # each metric on its own day (received on filing, completed on completion …)
    completion_rate: float | None  # 办结率: cohort_completed / received (None for flow)
    on_time_rate: float | None  # 承诺期限兑现率: on time / completed, of the cohort or of the period's completions
    satisfaction_rate: float | None  # 群众满意率 = satisfied / ratings
    average_working_days: float | None  # to complete
    step_on_time_rate: float | None = None  # of the review steps the staff member held: closed by their due day


class RecordsQuery(Contract):
    """Drill-down: the records behind one figure."""

    metric: Metric
    level: Level
    unit: UnitCode | None = None
    start: date
    end: date
    limit: int = Field(default=100, ge=1, le=1000)
    offset: Offset = 0

    @model_validator(mode="after")
    def _sound(self) -> RecordsQuery:
        FiguresQuery(level=self.level, unit=self.unit, start=self.start, end=self.end)
        return self


class FactView(View):
    metric: Metric
    ref: str  # the record: a receipt number, a record id, session:staff, visit:staff …
    day: date
    township_code: str
    station_code: str | None
    village_code: str | None
    staff_id: int | None
    value: float


class RebuildReport(Contract):
    events: int
    facts: int
    seconds: float


class ReportQuery(Contract):
    township_code: Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
    start: date
    end: date
    basis: Basis = Basis.COHORT

    @model_validator(mode="after")
    def _sound(self) -> ReportQuery:
        if self.end < self.start or (self.end - self.start).days > 3700:
            raise ValueError("a period of at most ten years, end after start")
        return self


class TownshipReport(View):
    township_code: str
    township_name: str
    start: date
    end: date
    basis: Basis = Basis.COHORT
    summary: str  # the township's own sentence, in Chinese
    township: Figures
    stations: list[Figures]
    villages: list[Figures]
    staff: list[Figures]
    months: list[MonthFigures]  # the monthly trend


NameText = Annotated[str, StringConstraints(max_length=200), CleanText]


class ReportNames(Contract):
    """What the report's files call each unit: the directory's names of the township's stations, villages
    and staff (by code, and by staff id as text), looked up by the gateway. A unit without a name keeps
    its code."""

    stations: dict[UnitCode, NameText] = Field(default_factory=dict, max_length=5000)
    villages: dict[UnitCode, NameText] = Field(default_factory=dict, max_length=5000)
    staff: dict[UnitCode, NameText] = Field(default_factory=dict, max_length=20000)


class MonthFigures(View):
    month: str  # YYYY-MM
    received: int
    completed: int  # cohort: of those received that month; flow: completed that month
    on_time_rate: float | None
    satisfaction_rate: float | None


# ---- ratings 好差评 -------------------------------------------------------------------------------------

RATING_WORDS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
SATISFIED_FROM = 3  # 基本满意 or better counts as satisfied
SubScore = Annotated[int, Field(ge=1, le=5)]
ReceiptRef = Annotated[str, StringConstraints(pattern=r"^\d{9}-(TS)?\d{8}-\d{4,6}$")]


class RatingCreate(Contract):
    """A villager's rating of a completed application or a replied complaint, once per item, given at a
    station or a market-day post (recorded by the staff) or through the public look-up."""

    receipt_no: ReceiptRef
    level: int = Field(ge=1, le=5, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    comment: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True), CleanText] | None = None
    efficiency: SubScore | None = None
    attitude: SubScore | None = None
    clarity: SubScore | None = None  # of the guidance given
    channel: Annotated[str, StringConstraints(pattern=r"^(station|market_day)$")] = "station"


class PublicRating(Contract):
    receipt_no: ReceiptRef
    # the phone's last 4, or the look-up code
    code: Annotated[str, StringConstraints(min_length=4, max_length=16), CleanText]
    level: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True), CleanText] | None = None
    efficiency: SubScore | None = None
    attitude: SubScore | None = None
    clarity: SubScore | None = None
    client: Annotated[str, StringConstraints(max_length=64), CleanText] = "unknown"


class RatingView(View):
    receipt_no: str
    kind: str  # application | complaint
    level: int
    words: str  # 非常满意 …
    satisfied: bool
    comment: str | None
    efficiency: int | None
    attitude: int | None
    clarity: int | None
    channel: str
    rated_on: date
    follow_up_due: date | None  # a bad rating's call-back is due by then


class FollowUpNote(Contract):
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True), CleanText]


# ---- composite score, rankings, commendation and accountability ---------------------------------------

class ScoreComponent(StrEnum):
    COMPLETION = "completion"  # 办结率
    ON_TIME = "on_time"  # 承诺期限兑现率
    SATISFACTION = "satisfaction"  # 群众满意率
    ATTENDANCE = "attendance"  # market-day posts attended / rostered
    CONDUCT = "conduct"  # 1 / (1 + substantiated complaints)


class ScoreSettings(Contract):
    """Set by the county: weights (non-negative, summing to 1), the smallest number of applications
    received below which a unit is shown but not ranked, and who goes on the two lists."""

    weights: dict[ScoreComponent, float] = Field(default_factory=lambda: {
        ScoreComponent.COMPLETION: 0.25, ScoreComponent.ON_TIME: 0.25, ScoreComponent.SATISFACTION: 0.3,
        ScoreComponent.ATTENDANCE: 0.1, ScoreComponent.CONDUCT: 0.1})
    min_sample: int = Field(default=10, ge=1, le=100000)
    commend_top: int = Field(default=3, ge=0, le=100)  # 表彰: at most this many places …
    commend_share: float = Field(default=0.2, gt=0, le=1)  # … and only the top share of the ranked (at least 1)
    accountability_below: float = Field(default=0.6, ge=0, le=1)  # 责任追究: a score below this …
    accountability_overdue: int = Field(default=3, ge=1, le=1000)  # … or this many overdue items

    @model_validator(mode="after")
    def _weights(self) -> ScoreSettings:
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights are not negative")
        if abs(sum(self.weights.values()) - 1) > 1e-6:
            raise ValueError(f"weights add up to 1 (they add up to {sum(self.weights.values()):g})")
        return self


class RankingQuery(Contract):
    level: Level
    township_code: Annotated[str, StringConstraints(pattern=r"^\d{9}$")] | None = None  # None: across the county
    start: date
    end: date
    basis: Basis = Basis.COHORT

    @model_validator(mode="after")
    def _sound(self) -> RankingQuery:
        if self.level == Level.COUNTY:
            raise ValueError("rank staff, stations, villages or townships")
        if self.level == Level.TOWNSHIP and self.township_code:
            raise ValueError("townships are ranked across the county")
        if self.end < self.start or (self.end - self.start).days > 3700:
            raise ValueError("a period of at most ten years, end after start")
        return self


class ScoredUnit(View):
    unit: str
    township_code: str
    score: float | None  # None when the unit has nothing to score
    components: dict[ScoreComponent, float | None]  # each component's value, for the explanation
    received: int
    rank: int | None  # None: shown, not ranked (below the minimum sample)
    figures: Figures


class Ranking(View):
    level: Level
    township_code: str | None
    start: date
    end: date
    settings: ScoreSettings
    units: list[ScoredUnit]  # ranked first, by score; then the unranked
    basis: Basis = Basis.COHORT  # what the scores' rates are of


class HonourEntry(View):
    unit: str
    township_code: str
    score: float | None
    reasons: list[str]
    records: list[FactView]  # the records behind the entry (overdue items, substantiated complaints …)


class HonourLists(View):
    level: Level
    township_code: str | None
    start: date
    end: date
    commendation: list[HonourEntry]  # 表彰
    accountability: list[HonourEntry]  # 责任追究
    basis: Basis = Basis.COHORT  # what the ranking behind the lists was scored on
