"""Notifications' contracts: a county's sending settings and templates, the preview, the list of
messages (masked numbers only), a staff member's console notices, and what providers report back."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.contracts.base import BigId, CleanText, Contract
from shared.contracts.directory import TownshipCode

NoticeKind = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]  # "21:00", China time
TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), CleanText]
ProviderName = Literal["log", "aliyun", "tencent", "http"]


class CountySettings(Contract):
    """How a county sends. Quiet hours from `quiet_start` to `quiet_end` (equal: none); `urgent`: notices
    sent in quiet hours too, beyond those always urgent; `staff_sms`: staff get SMS besides the console."""

    provider: ProviderName = "log"
    signature: Annotated[str, StringConstraints(pattern=r"^[\u4e00-\u9fffA-Za-z0-9]{2,12}$")] = "村办"
    quiet_start: ClockTime = "21:00"
    quiet_end: ClockTime = "08:00"
    daily_cap: int = Field(default=10, ge=1, le=100)
    urgent: list[NoticeKind] = Field(default_factory=list, max_length=40)
    staff_sms: bool = False


class CountySettingsView(CountySettings):
    county_code: str
    updated_at: datetime | None  # None: never saved, these are the defaults


class VariableView(Contract):
    name: str
    description: str


class TemplateView(Contract):
    kind: str
    name: str  # in Chinese
    audience: str
    variables: list[VariableView]
    text: str
    own: bool  # the county saved its own text (False: the starting text)
    provider_template: str | None
    urgent: bool
    required: bool  # sent even after 退订 (the law requires it)
    longest: int  # characters of the longest message, signature included
    segments: int  # SMS that longest message is sent as


class TemplateSave(Contract):
    text: TemplateText
    provider_template: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class PreviewRequest(Contract):
    text: TemplateText | None = None  # a draft; none: the county's current template
    values: dict[Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")],
                 Annotated[str, StringConstraints(max_length=200), CleanText]] = Field(
        default_factory=dict, max_length=20)


class Preview(Contract):
    text: str  # the message as the phone shows it, signature first, with sample values for those not given
    length: int
    segments: int


class MessageQuery(Contract):
    """The county's messages, newest first; keyset paging: `after` is the last id of the previous page."""

    township_code: TownshipCode | None = None
    kind: NoticeKind | None = None
    status: Literal["waiting", "sending", "sent", "delivered", "undelivered", "failed", "withheld"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    after: BigId | None = None


class MessageView(Contract):
    id: int
    kind: str
    audience: str
    township_code: str
    phone_masked: str | None
    text: str | None
    status: str
    withheld: str | None
    attempts: int
    error: str | None
    provider: str | None
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None


class MessagePage(Contract):
    items: list[MessageView]
    next_after: int | None


class NoticeQuery(Contract):
    unread: bool = False
    limit: int = Field(default=30, ge=1, le=100)
    after: BigId | None = None


class StaffNoticeView(Contract):
    id: int
    kind: str
    name: str  # the notice's name in Chinese
    text: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class StaffNoticePage(Contract):
    items: list[StaffNoticeView]
    unread: int
    next_after: int | None


class MarkRead(Contract):
    ids: list[BigId] | None = Field(default=None, max_length=200)  # none: all of mine
