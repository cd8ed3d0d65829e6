"""Directory contracts: the tenant tree, staff, the service catalogue, market sites, the calendar.
Events carry full snapshots with a per-record `version`, so a read model keeps the newest and ignores
late or repeated deliveries."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.contracts.base import Changes, CleanText, Contract, Id, Offset, View
from shared.contracts.caller import STATION_ROLES, Role

VERSION = 1

TownshipCode = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]  # 乡镇 administrative code
VillageCode = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]  # 行政村/社区 code
CountyCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
RecordCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True), CleanText]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True), CleanText]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|12345)$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{2,31}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128), CleanText]
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Versioned(Contract):
    version: int
    updated_at: datetime


# ---- the tenant tree ---------------------------------------------------------------------------

class CountyPublic(Versioned, View):
    code: CountyCode
    name: Name


class CountyCreate(Contract):
    """A county of the installation (the system administrator's): its national division code and name."""

    code: CountyCode
    name: Name


class CountyQuery(Contract):
    county_code: CountyCode


class TownshipCreate(Contract):
    code: TownshipCode  # its first 6 digits are its county's
    county_code: CountyCode | None = None  # when given, the code must lie under it
    name: Name
    hotline: Phone | None = None  # 监督电话 of the township's service centre


class TownshipUpdate(Changes):
    CLEARABLE = frozenset({"hotline"})
    name: Name | None = None
    hotline: Phone | None = None


class TownshipPublic(Versioned, View):
    code: str
    county_code: str
    name: str
    hotline: str | None


class TownshipListing(View):
    """公开: a township as anyone may see it: its name and its hotline (监督电话), nothing else."""

    code: str
    name: str
    hotline: str | None


class VillageListing(View):
    """公开: a village's code and name, for a villager choosing theirs."""

    code: str
    name: str


class VillageKind(StrEnum):
    VILLAGE = "village"  # 行政村
    COMMUNITY = "community"  # 社区


class VillageCreate(Contract):
    code: VillageCode
    township_code: TownshipCode
    name: Name
    kind: VillageKind = VillageKind.VILLAGE


class VillageUpdate(Changes):
    name: Name | None = None
    kind: VillageKind | None = None


class VillagePublic(Versioned, View):
    code: str
    township_code: str
    name: str
    kind: VillageKind


class StationCreate(Contract):
    code: RecordCode
    village_code: VillageCode
    name: Name
    address: Text | None = None
    phone: Phone | None = None


class StationUpdate(Changes):
    CLEARABLE = frozenset({"address", "phone"})
    name: Name | None = None
    address: Text | None = None
    phone: Phone | None = None


class StationPublic(Versioned, View):
    code: str
    village_code: str
    township_code: str
    name: str
    address: str | None
    phone: str | None


# ---- staff ---------------------------------------------------------------------------------------

class StaffCreate(Contract):
    username: Username
    full_name: Name
    role: Role
    township_code: TownshipCode | None = None
    station_code: RecordCode | None = None
    county_code: CountyCode | None = None  # a county admin's county (others': their township's)
    phone: Phone | None = None
    password: Password


class StaffUpdate(Changes):
    CLEARABLE = frozenset({"station_code", "phone"})  # a station: where the role allows none
    full_name: Name | None = None
    role: Role | None = None
    station_code: RecordCode | None = None
    phone: Phone | None = None
    password: Password | None = None
    active: bool | None = None


class StaffPublic(Versioned, View):
    id: int
    username: str
    full_name: str
    role: Role
    township_code: str | None
    station_code: str | None
    county_code: str | None = None  # None: the system administrator
    phone: str | None
    active: bool


class Credentials(Contract):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), CleanText]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128), CleanText]


class PasswordChange(Contract):
    """A staff member changing their own password: the current one (a wrong one counts against the
    account's sign-in throttle) and the new one, under the rules of a new account's password."""

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128), CleanText]
    new_password: Password


class OwnPasswordChange(Contract):
    """What the gateway sends the directory: the change and the client it came from (for the throttle)."""

    change: PasswordChange
    client: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "unknown"


# ---- the service catalogue 服务事项 -------------------------------------------------------------

class Category(StrEnum):
    """The six services that do not leave the village 六不出村."""

    AGENCY = "agency"  # 代办
    FARMING = "farming"  # 农资农技
    CULTURE_SPORT = "culture_sport"  # 文体
    MINOR_MEDICAL = "minor_medical"  # 小病
    MEDIATION = "mediation"  # 调解
    APPROVAL = "approval"  # 审批


class HandlingLevel(StrEnum):
    VILLAGE = "village"  # 小事不出村
    TOWNSHIP = "township"  # 大事不出乡镇
    COUNTY = "county"


class ItemKind(StrEnum):
    IMMEDIATE = "immediate"  # 即办件: promised limit 0
    PROMISED = "promised"  # 承诺件


class ItemStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class CatalogueItemFields(Contract):
    """What a service item publishes. Across fields: a fee above 0 needs its `fee_legal_basis`."""

    name: Name
    category: Category
    handling_level: HandlingLevel
    eligible_applicants: Text  # 服务对象
    procedure_steps: list[Text] = Field(min_length=1, max_length=30)  # 办事程序
    required_materials: list[Text] = Field(default_factory=list, max_length=50)
    promised_days: int = Field(ge=0, le=365)  # 承诺时限, working days; 0 = 即办件
    fee_yuan: Decimal = Field(default=Decimal("0"), ge=0, le=100000, decimal_places=2)  # 收费标准
    fee_legal_basis: Text | None = None  # the state rule that allows a fee (无偿原则 otherwise)
    supervision_method: Text  # 监督办法, e.g. the complaint hotline

    @model_validator(mode="after")
    def _fee_needs_legal_basis(self) -> CatalogueItemFields:
        if self.fee_yuan > 0 and not self.fee_legal_basis:
            raise ValueError("a fee needs its legal basis (fee_legal_basis); services are free otherwise")
        return self


class CatalogueItemCreate(CatalogueItemFields):
    """A service item 服务事项 of a township. Across fields: a fee above 0 needs its `fee_legal_basis`."""

    township_code: TownshipCode
    code: RecordCode


class CatalogueItemUpdate(Changes):
    CLEARABLE = frozenset({"fee_legal_basis"})  # while the item is free
    name: Name | None = None
    category: Category | None = None
    handling_level: HandlingLevel | None = None
    eligible_applicants: Text | None = None
    procedure_steps: list[Text] | None = Field(default=None, min_length=1, max_length=30)
    required_materials: list[Text] | None = Field(default=None, max_length=50)
    promised_days: int | None = Field(default=None, ge=0, le=365)
    fee_yuan: Decimal | None = Field(default=None, ge=0, le=100000, decimal_places=2)
    fee_legal_basis: Text | None = None
    supervision_method: Text | None = None


# ---- workflows: who acts on an item's applications, in which steps, within which limits -------------

StepName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
APPROVED = "approved"  # where the last step's approval leads: the item is ready for 办结


class WorkflowStep(Contract):
    name: StepName
    title: Name  # e.g. 村级审查, 乡镇审核, 领导签批
    roles: list[Role] = Field(min_length=1, max_length=7)  # who may act at this step
    level: HandlingLevel  # where they sit: the application's station (village), its township, or the county
    limit_days: int = Field(ge=0, le=365)  # the step's own limit in working days
    on_approve: StepName  # the next step, or "approved" after the last one


class WorkflowDefinition(Contract):
    """The steps an application of one catalogue item goes through. 受理/不予受理 happens at the first
    step; deny, return to the previous step and 补正 are possible at every step."""

    steps: list[WorkflowStep] = Field(min_length=1, max_length=12)
    warning_share: float = Field(default=0.75, gt=0, lt=1)  # warn when this share of a limit is used


ROLES_AT_LEVEL: dict[HandlingLevel, frozenset[Role]] = {
    HandlingLevel.VILLAGE: STATION_ROLES,
    HandlingLevel.TOWNSHIP: frozenset({Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR}),
    HandlingLevel.COUNTY: frozenset({Role.COUNTY_ADMIN, Role.DEPARTMENT_STAFF, Role.SUPERVISOR}),
}


def default_workflow(handling_level: HandlingLevel, promised_days: int) -> WorkflowDefinition:
    """The workflow of an item that has none of its own: one step at its handling level, the whole limit."""
    title = {HandlingLevel.VILLAGE: "村级办理", HandlingLevel.TOWNSHIP: "乡镇审核",
             HandlingLevel.COUNTY: "县级审批"}[handling_level]
    return WorkflowDefinition(steps=[WorkflowStep(
        name="review", title=title, roles=sorted(ROLES_AT_LEVEL[handling_level]), level=handling_level,
        limit_days=promised_days, on_approve=APPROVED)])


class CatalogueItemPublic(CatalogueItemFields, Versioned, View):
    township_code: str
    code: str
    kind: ItemKind
    status: ItemStatus
    workflow: WorkflowDefinition  # the item's own, or the default one (custom_workflow false)
    custom_workflow: bool


# ---- market sites 集市 and their market-day rules -----------------------------------------------

LUNAR_PATTERNS: dict[str, list[int]] = {
    "逢一四七": [1, 4, 7, 11, 14, 17, 21, 24, 27],
    "逢二五八": [2, 5, 8, 12, 15, 18, 22, 25, 28],
    "逢三六九": [3, 6, 9, 13, 16, 19, 23, 26, 29],
    "逢单": list(range(1, 31, 2)),
    "逢双": list(range(2, 31, 2)),
}


class MarketDayExceptions(Contract):
    skip_dates: list[date] = Field(default_factory=list, max_length=366)
    add_dates: list[date] = Field(default_factory=list, max_length=366)
    skip_lunar_new_year_days: int = Field(default=0, ge=0, le=15)  # e.g. 7: no market 正月初一..初七


class MarketDayRule(Contract):
    """How a site's market days fall. Scheduling turns it into dates; the directory keeps it valid.
    Across fields: a 逢… `pattern` goes with kind `lunar_days` (and `days`, if given, must match it); lunar days
    are 1–30; kind `lunar_days`/`solar_days` needs `days` (or a pattern), `weekly` needs `weekdays`, `dates`
    needs `dates`."""

    kind: Literal["lunar_days", "solar_days", "weekly", "dates"]
    pattern: Literal["逢一四七", "逢二五八", "逢三六九", "逢单", "逢双"] | None = None
    days: list[Annotated[int, Field(ge=1, le=31)]] = Field(default_factory=list, max_length=31)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=list, max_length=7)
    dates: list[date] = Field(default_factory=list, max_length=366)
    exceptions: MarketDayExceptions = Field(default_factory=MarketDayExceptions)

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> MarketDayRule:
        if self.pattern is not None:
            if self.kind != "lunar_days":
                raise ValueError("a 逢… pattern describes lunar days: use kind 'lunar_days'")
            if self.days and sorted(set(self.days)) != LUNAR_PATTERNS[self.pattern]:
                raise ValueError(f"days do not match the pattern {self.pattern}")
            object.__setattr__(self, "days", LUNAR_PATTERNS[self.pattern])
        if self.kind == "lunar_days" and any(d > 30 for d in self.days):
            raise ValueError("a lunar month has at most 30 days")
        needed = {"lunar_days": self.days, "solar_days": self.days, "weekly": self.weekdays,
                  "dates": self.dates}[self.kind]
        if not needed:
            field = {"weekly": "weekdays", "dates": "dates"}.get(self.kind, "days (or a pattern)")
            raise ValueError(f"a '{self.kind}' rule needs {field}")
        object.__setattr__(self, "days", sorted(set(self.days)))
        object.__setattr__(self, "weekdays", sorted(set(self.weekdays)))
        object.__setattr__(self, "dates", sorted(set(self.dates)))
        return self


class MarketSiteCreate(Contract):
    """A market site 集市 and its market-day rule. Across fields: `closes_at` is after `opens_at` (a change
    of either keeps it so)."""

    code: RecordCode
    township_code: TownshipCode
    village_code: VillageCode | None = None
    name: Name
    location: Text
    rule: MarketDayRule
    opens_at: HourMinute = "08:00"
    closes_at: HourMinute = "12:00"

    @model_validator(mode="after")
    def _hours_in_order(self) -> MarketSiteCreate:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class MarketSiteUpdate(Changes):
    name: Name | None = None
    location: Text | None = None
    rule: MarketDayRule | None = None
    opens_at: HourMinute | None = None
    closes_at: HourMinute | None = None


class MarketSitePublic(Versioned, View):
    code: str
    township_code: str
    village_code: str | None
    name: str
    location: str
    rule: MarketDayRule
    opens_at: str
    closes_at: str


# ---- the working-day calendar -------------------------------------------------------------------

class CalendarDayKind(StrEnum):
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"
    LOCAL_DAY_OFF = "local_day_off"


CalendarSource = Literal["official", "local"]


class CalendarDayChange(Contract):
    """An entry of the working-day calendar. Across fields: a `local` entry is a `local_day_off`; an
    `official` one is a `holiday` or a `makeup_workday`."""

    kind: CalendarDayKind
    name: Name
    # "official" when an admin enters the State Council's notice for a year the library lacks
    source: CalendarSource = "local"
    # changing the official schedule of a year confirmed complete moves running deadlines: say so on purpose
    confirm_complete_year: bool = False

    @model_validator(mode="after")
    def _local_means_day_off(self) -> CalendarDayChange:
        if self.source == "local" and self.kind is not CalendarDayKind.LOCAL_DAY_OFF:
            raise ValueError("a county's own entry is a local_day_off; holidays and 调休 are official")
        if self.source == "official" and self.kind is CalendarDayKind.LOCAL_DAY_OFF:
            raise ValueError("an official entry is a holiday or a makeup_workday")
        return self


class CalendarDaySet(CalendarDayChange):
    day: date


class CalendarRangeSet(CalendarDayChange):
    """Several days entered at once (春节's whole week): every day from `from_day` to `to_day`, both
    included; the directory's rules say how long a range may be (one year, at most 31 days)."""

    from_day: date
    to_day: date


class CalendarDayPublic(View):
    day: date
    kind: CalendarDayKind
    name: str
    source: CalendarSource
    working: bool


class CalendarStatus(View):
    county_code: str
    today: date
    official_years: list[int]  # years with at least one official day entered
    loaded_years: list[int] = []  # years whose whole official schedule is in: the ones deadlines may trust
    next_year: int
    next_year_missing: bool  # next year is not among loaded_years
    days_until_next_year: int = 0
    this_year_missing: bool = False  # the year under way is not loaded: worse, deadlines are wrong now
    warning: str | None  # while this year is missing, or from November while next year is, with the days left


CalendarYearBasis = Literal["official_data", "county"]


class CalendarYearPublic(View):
    """A year whose official schedule is complete, and who said so when."""

    county_code: str
    year: int
    basis: CalendarYearBasis  # official_data: loaded from chinesecalendar; county: declared by an admin
    completed_at: datetime
    completed_by: str
    completed_by_staff_id: int | None


class CalendarYearCompleted(CalendarYearPublic):
    """Event `calendar_year_completed`: deadlines may now trust the year's calendar."""


class CalendarChanged(Contract):
    """Event: a day of the calendar was set or cleared; read models replace that day."""

    county_code: str
    day: date
    kind: CalendarDayKind | None  # None: the entry was removed, the weekly default applies again
    name: str | None
    source: CalendarSource | None


class Page(Contract):
    limit: int = Field(default=50, ge=1, le=500)
    offset: Offset = 0


class CalendarDayQuery(Contract):
    day: date
    confirm_complete_year: bool = False


class CalendarYearQuery(Contract):
    year: int = Field(ge=2000, le=2100)


class CategoryQuery(Contract):
    category: Category


class ItemRef(Contract):
    township_code: TownshipCode
    code: RecordCode


class NamesQuery(Contract):
    """Records to name at once (a page of the audit log names its objects in one call); codes the caller
    may not see, or that no longer exist, are left out of the answer."""

    townships: list[TownshipCode] = Field(default=[], max_length=200)
    villages: list[VillageCode] = Field(default=[], max_length=200)
    stations: list[RecordCode] = Field(default=[], max_length=200)
    staff: list[Id] = Field(default=[], max_length=200)
    items: list[ItemRef] = Field(default=[], max_length=200)


class VillageName(View):
    name: str
    kind: VillageKind


class Names(View):
    """Names by code: staff by id (as text), catalogue items by "<township_code>/<code>"."""

    townships: dict[str, str] = {}
    villages: dict[str, VillageName] = {}
    stations: dict[str, str] = {}
    staff: dict[str, str] = {}
    items: dict[str, str] = {}


# ---- accounts: sign-in sessions and station API keys -----------------------------------------------

class SignIn(Contract):
    """What the gateway sends to sign someone in: the credentials and the client they came from."""

    credentials: Credentials
    client: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "unknown"


class SessionCheck(Contract):
    """A token's subject and the account version it was issued for: still valid while the account is
    active, unchanged since (a new password, role or place ends its sessions), and not signed out."""

    jti: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    staff_id: int
    account_version: int


class SessionEnd(Contract):
    jti: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    expires_at: datetime


class AccessRevoked(Contract):
    """The payload of `access_revoked`: a staff member's sessions or station keys stopped working just now
    (signed out, a key revoked or rotated, the account changed or disabled). Every gateway forgets what it
    remembered of that staff member, so the change holds at once on each replica."""

    reason: Literal["signed_out", "key_revoked", "key_rotated", "account_changed"]
    staff_id: int
    jti: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None  # the session signed out
    key_ids: list[int] = Field(default_factory=list)  # the station keys revoked


class StationKeyCreate(Contract):
    """A key for a machine at a station (its terminal or station software), acting for one of the
    station's staff members, who stays the first contact of what it files."""

    staff_id: Id
    label: Name


class StationKeyView(View):
    id: int
    station_code: RecordCode
    township_code: TownshipCode
    staff_id: int
    label: str
    prefix: str  # the first characters of the key, to tell keys apart; the key itself is never stored
    created_at: datetime
    created_by: int | None
    revoked_at: datetime | None
    last_used_on: date | None


class StationKeyIssued(StationKeyView):
    key: str  # shown once, at creation or rotation


STATION_KEY_PATTERN = r"^cbk_\d{1,12}_[A-Za-z0-9_-]{43}$"  # cbk_<id>_<32 random bytes, base64url>


class StationKeyQuery(Contract):
    key: Annotated[str, StringConstraints(pattern=STATION_KEY_PATTERN)]


class StationKeyCaller(View):
    """Who a valid station key acts as (directory's answer, read by the gateway itself)."""

    key_id: int
    staff_id: int
    township_code: TownshipCode
    station_code: RecordCode


# ---- the audit log -----------------------------------------------------------------------------------

class AuditEntry(Contract):
    """One request through the gateway that wrote something, or read personal data: append-only."""

    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    at: datetime
    correlation_id: str | None
    staff_id: int | None
    username: str | None
    role: Role
    township_code: str | None
    station_code: str | None
    action: Annotated[str, StringConstraints(max_length=100)]  # the operation id, e.g. file_application
    method: Annotated[str, StringConstraints(max_length=8)]
    target: Annotated[str, StringConstraints(max_length=300)]  # the path, e.g. /applications/4310…-0001
    outcome: int  # the HTTP status
    client: Annotated[str, StringConstraints(max_length=64)]
    personal_data: bool  # a read of personal data


class AuditEntries(Contract):
    """The gateway's audit entries of a moment, sent together (the payload of `audit_entries_recorded`)."""

    entries: Annotated[list[AuditEntry], Field(min_length=1, max_length=1000)]


class AuditQuery(Contract):
    staff_id: Id | None = None
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), CleanText] | None = None  # who
    correlation_id: Annotated[str | None, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = None
    township_code: Annotated[str | None, StringConstraints(pattern=r"^\d{9}$")] = None
    action: Annotated[str, StringConstraints(max_length=100), CleanText] | None = None
    personal_data: bool | None = None
    failed: bool | None = None  # only refused or failed requests (status ≥ 400), or only successes
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=500)
    before: int | None = Field(default=None, ge=1, le=2**62)  # the `seq` of the last entry of the previous page


class AuditView(AuditEntry, View):
    seq: int  # the order entries were stored in; newest first
