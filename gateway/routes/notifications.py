"""Notifications: a county's SMS settings and templates (with a preview), the messages it sent (masked
numbers only), and each staff member's notices in the console."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request

from gateway.auth import CurrentStaff
from gateway.routes import Calls, TownshipChoice
from gateway.rpc import ServiceCalls
from shared.contracts import notifications as c
from shared.contracts.caller import Caller

router = APIRouter(tags=["notifications"])
County = Annotated[str, Path(pattern=r"^\d{6}$", description="the county's code (6 digits)")]
Kind = Annotated[str, Path(pattern=r"^[a-z_]{1,32}$", description="the notice, e.g. application_filed")]
After = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="the last id of the previous page")]


@router.get("/notifications/settings/{county}", operation_id="notification_settings",
            response_model=c.CountySettingsView)
async def notification_settings(county: County, caller: CurrentStaff, calls: Calls) -> dict:
    """How the county sends SMS: provider, signature 签名, quiet hours, daily cap per phone, urgent notices."""
    return await calls.call("notifications", "county_settings", caller=caller, county_code=county)


@router.put("/notifications/settings/{county}", operation_id="set_notification_settings",
            response_model=c.CountySettingsView)
async def set_notification_settings(county: County, body: c.CountySettings, caller: CurrentStaff,
                                    calls: Calls) -> dict:
    """County admins. Quiet hours from `quiet_start` to `quiet_end`, China time (equal: no quiet hours).
    `provider_settings`: a setting left out keeps the stored one, null removes it; secrets are never shown."""
    return await calls.call("notifications", "set_county_settings", caller=caller, county_code=county,
                            settings=body.model_dump(mode="json", exclude_unset=True))  # unset: kept / defaults


@router.get("/notifications/templates/{county}", operation_id="notification_templates",
            response_model=list[c.TemplateView])
async def notification_templates(county: County, caller: CurrentStaff, calls: Calls) -> list:
    """Every notice with the county's text, the variables it may use and its longest length in SMS."""
    return await calls.call("notifications", "templates", caller=caller, county_code=county)


@router.put("/notifications/templates/{county}/{kind}", operation_id="save_notification_template",
            response_model=c.TemplateView)
async def save_notification_template(county: County, kind: Kind, body: c.TemplateSave, caller: CurrentStaff,
                                     calls: Calls) -> dict:
    """County admins. Variables are written `${name}`; only the notice's own are accepted, and the longest
    message (every variable at its longest, signature included) must fit in three SMS."""
    return await calls.call("notifications", "save_template", caller=caller, county_code=county, kind=kind,
                            template=body.model_dump(mode="json"))


@router.post("/notifications/templates/{county}/{kind}/preview", operation_id="preview_notification_template",
             response_model=c.Preview)
async def preview_notification_template(county: County, kind: Kind, caller: CurrentStaff, calls: Calls,
                                        body: Annotated[c.PreviewRequest | None, Body()] = None) -> dict:
    """The message as a phone shows it, from a draft or the current text, with sample values."""
    return await calls.call("notifications", "preview_template", caller=caller, county_code=county, kind=kind,
                            draft=body.model_dump(mode="json") if body else {})


@router.get("/notifications/messages", operation_id="notification_messages", response_model=c.MessagePage)
async def notification_messages(caller: CurrentStaff, calls: Calls, township_code: TownshipChoice = None,
                                kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
                                status: Annotated[str | None, Query(pattern=r"^[a-z]{1,12}$")] = None,
                                limit: Annotated[int, Query(ge=1, le=200)] = 50, after: After = None) -> dict:
    """SMS messages newest first, with their status (waiting for the morning, sent, delivered, failed,
    withheld and why) and masked numbers."""
    query = {"township_code": township_code, "kind": kind, "status": status, "limit": limit, "after": after}
    return await calls.call("notifications", "messages", caller=caller,
                            query={k: v for k, v in query.items() if v is not None})


@router.get("/me/notices", operation_id="my_notices", response_model=c.StaffNoticePage)
async def my_notices(caller: CurrentStaff, calls: Calls, unread: bool = False,
                     limit: Annotated[int, Query(ge=1, le=100)] = 30, after: After = None) -> dict:
    """My notices (new cases and complaints, warnings, 督办, reminders), newest first, and how many are unread."""
    query = {"unread": unread, "limit": limit, **({"after": after} if after else {})}
    return await calls.call("notifications", "my_notices", caller=caller, query=query)


@router.post("/me/notices/read", operation_id="mark_my_notices_read", response_model=int)
async def mark_my_notices_read(caller: CurrentStaff, calls: Calls,
                               body: Annotated[c.MarkRead | None, Body()] = None) -> int:
    """Mark the given notices read (none given: all of mine); answers how many are still unread."""
    return await calls.call("notifications", "mark_notices_read", caller=caller,
                            cmd=body.model_dump(mode="json") if body else {})


# ---- what SMS providers report back ---------------------------------------------------------------------
# Outside the staff sign-in: each callback is verified by notifications against the county's stored secret
# (the http provider's HMAC signature; Alibaba and Tencent Cloud's `token` in the URL, as they sign nothing).
# Each provider gets the answer it expects.

SmsProvider = Annotated[Literal["aliyun", "tencent", "http"], Path(description="the county's SMS provider")]
CallbackToken = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the county's "
                                            "callback token (Alibaba and Tencent Cloud)")]
Timestamp = Annotated[str | None, Header(alias="X-Cunban-Timestamp", pattern=r"^\d{1,20}$",
                                         description="http provider: unix seconds, signed")]
Signature = Annotated[str | None, Header(alias="X-Cunban-Signature", pattern=r"^[0-9A-Fa-f]{1,128}$",
                                         description="http provider: hex HMAC-SHA256 of '<timestamp>.<body>'")]
ANSWERS: dict[str, dict[str, Any]] = {"aliyun": {"code": 0, "msg": "成功"}, "tencent": {"result": 0, "errmsg": "OK"},
                                      "http": {"ok": True}}


async def _callback(rpc: str, provider: str, county: str, request: Request, calls: ServiceCalls,
                    token: str | None, timestamp: str | None, signature: str | None) -> dict[str, Any]:
    body = (await request.body()).decode("utf-8", errors="replace")
    outcome = await calls.call("notifications", rpc, caller=Caller.system(), provider=provider, county_code=county,
                               callback={"body": body, "token": token, "timestamp": timestamp,
                                         "signature": signature})
    return ANSWERS[provider] if provider != "http" else {**ANSWERS[provider], **outcome}


@router.post("/notifications/callbacks/{provider}/{county}/status", operation_id="sms_delivery_reports",
             response_model=dict[str, Any])
async def sms_delivery_reports(provider: SmsProvider, county: County, request: Request, calls: Calls,
                               token: CallbackToken = None, timestamp: Timestamp = None,
                               signature: Signature = None) -> dict[str, Any]:
    """The provider's delivery reports (状态报告): each message becomes delivered or undelivered, once."""
    return await _callback("delivery_reports", provider, county, request, calls, token, timestamp, signature)


@router.post("/notifications/callbacks/{provider}/{county}/uplink", operation_id="sms_replies",
             response_model=dict[str, Any])
async def sms_replies(provider: SmsProvider, county: County, request: Request, calls: Calls,
                      token: CallbackToken = None, timestamp: Timestamp = None,
                      signature: Signature = None) -> dict[str, Any]:
    """Villagers' replies (上行短信): "TD", "T" or "退订" opts the number out of all but required notices."""
    return await _callback("record_opt_outs", provider, county, request, calls, token, timestamp, signature)
