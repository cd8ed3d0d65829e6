"""Notifications' contracts: a county's sending settings and templates, the preview, the list of
messages (masked numbers only), a staff member's console notices, and what providers report back."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from shared.contracts.base import BigId, CleanText, Contract, View
from shared.contracts.directory import TownshipCode

NoticeKind = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]  # "21:00", China time
TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), CleanText]
ProviderName = Literal["log", "aliyun", "tencent", "http"]


Secret = Annotated[str, StringConstraints(min_length=8, max_length=200, pattern=r"^[\x21-\x7e]+$")]
Setting = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
Endpoint = Annotated[str, StringConstraints(pattern=r"^(https?://)?[A-Za-z0-9.-]{1,200}(:\d{1,5})?/?$")]
CallbackToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{24,64}$")]
SECRET_SETTINGS = ("access_key_secret", "http_secret", "callback_token")


class ProviderSettings(Contract):
    """The county's account with its provider. `aliyun`: access_key_id, access_key_secret (a RAM user's
    AccessKey allowed SendSms and QuerySendDetails), callback_token; `tencent`: access_key_id (SecretId),
    access_key_secret (SecretKey), sdk_app_id, callback_token; `http`: http_url, http_secret. `region` and
    `endpoint` override the SDK's defaults (cn-hangzhou / ap-guangzhou; the providers' public endpoints).
    Secrets are stored encrypted and never shown again. A setting left out keeps the stored one; one given
    as null is removed."""

    access_key_id: Setting | None = None
    access_key_secret: Secret | None = None
    sdk_app_id: Annotated[str, StringConstraints(pattern=r"^\d{6,20}$")] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,32}$")] | None = None
    endpoint: Endpoint | None = None
    http_url: Annotated[str, StringConstraints(pattern=r"^https?://[\x21-\x7e]{1,300}$")] | None = None
    http_secret: Secret | None = None
    callback_token: CallbackToken | None = None  # in the callback URLs given to Alibaba and Tencent Cloud


class ProviderSettingsView(View):
    """What is set, secrets masked: a secret shows only that it is set."""

    access_key_id: str | None = None  # masked: its first and last four characters
    access_key_secret: bool = False
    sdk_app_id: str | None = None
    region: str | None = None
    endpoint: str | None = None
    http_url: str | None = None
    http_secret: bool = False
    callback_token: bool = False


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
    provider_settings: ProviderSettings = Field(default_factory=ProviderSettings)


class CountySettingsView(CountySettings, View):
    county_code: str
    provider_settings: ProviderSettingsView = Field(default_factory=ProviderSettingsView)  # type: ignore[assignment]
    updated_at: datetime | None  # None: never saved, these are the defaults


class VariableView(View):
    name: str
    description: str


class TemplateView(View):
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


class Preview(View):
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


class MessageView(View):
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


class MessagePage(View):
    items: list[MessageView]
    next_after: int | None


class NoticeQuery(Contract):
    unread: bool = False
    limit: int = Field(default=30, ge=1, le=100)
    after: BigId | None = None


class StaffNoticeView(View):
    id: int
    kind: str
    name: str  # the notice's name in Chinese
    text: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class StaffNoticePage(View):
    items: list[StaffNoticeView]
    unread: int
    next_after: int | None


class MarkRead(Contract):
    ids: list[BigId] | None = Field(default=None, max_length=200)  # none: all of mine


# ---- what providers report back -------------------------------------------------------------------------

class DeliveryReport(Contract):
    """A provider's word on one message: it arrived or not (found by the provider's message id, or by our
    send key where the provider hands it back)."""

    message_id: str | None = Field(default=None, max_length=100)
    send_key: str | None = Field(default=None, max_length=64)
    delivered: bool
    error: str | None = Field(default=None, max_length=200)


class Reply(Contract):
    """A villager's reply to a message (an uplink); "TD", "T" or "退订" opts the number out."""

    phone: str = Field(max_length=20)
    text: str = Field(max_length=500)


class Callback(Contract):
    """A provider's callback as the gateway received it, verified by notifications against the county's
    stored secret (the http provider's signature, or Alibaba and Tencent Cloud's callback token)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # the body is signed as it came

    body: str = Field(max_length=1_000_000)
    timestamp: str | None = Field(default=None, max_length=20)
    signature: str | None = Field(default=None, max_length=128)
    token: str | None = Field(default=None, max_length=64)


class CallbackOutcome(Contract):
    received: int
    applied: int  # messages whose status changed, or numbers newly opted out
    unknown: int  # reports for a message id this county never sent (counted and ignored)
