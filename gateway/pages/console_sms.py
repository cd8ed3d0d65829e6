"""短信: how the county sends SMS (provider and its account, 签名, quiet hours, the daily cap per phone,
urgent notices, SMS to staff), the text of every notice with its preview, and the messages sent, with
masked numbers only. The same RPCs as `/notifications/settings|templates|messages`: the county's admin
gets the forms; a township's supervisor reads the settings and templates and their township's messages.
Secrets are typed, never shown: a field left empty keeps what is stored."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response

from gateway.pages.console import OutOfCounty
from gateway.pages.console_system import may
from gateway.pages.session import StaffPage
from gateway.pages.web import PAGE, PageRoute, read_form, render, see_other, submit, typed_fields
from gateway.routes import Calls
from shared.contracts import notifications as c
from shared.contracts.caller import Caller
from shared.errors import CunbanError, NotFound

router = APIRouter(prefix="/console/admin/sms", route_class=PageRoute)
Kind = Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")]
CountyQuery = Annotated[str | None, Query(pattern=r"^\d{6}$")]
PAGE_SIZE = 50

PROVIDERS = {"log": "只记在系统里，不真发（试用、演示）", "aliyun": "阿里云短信", "tencent": "腾讯云短信",
             "http": "本县政务短信平台（签名的HTTP接口）"}
AUDIENCES = {"applicant": "申请人", "booker": "预约的群众", "complainant": "诉求人", "staff": "工作人员"}
STATUSES = {"waiting": "等待发送", "sending": "正在发送", "sent": "已发出", "delivered": "已送达",
            "undelivered": "未送达", "failed": "发送失败", "withheld": "不发送"}
WITHHELD = {"opted_out": "号码已退订", "daily_cap": "超过每天条数上限", "no_contact": "没有手机号",
            "sms_off": "本县不给这类人员发短信"}
# the provider account's fields, in the form's order: (name, label, how it is shown). A "secret" is never shown
# and a "masked" one only masked: left empty, both keep what is stored. A "plain" one left empty is removed.
ACCOUNT = (("access_key_id", "AccessKey ID / SecretId", "masked"),
           ("access_key_secret", "AccessKey Secret / SecretKey", "secret"),
           ("sdk_app_id", "短信应用 SdkAppId（腾讯云）", "plain"),
           ("region", "地域（不填用默认：阿里云 cn-hangzhou，腾讯云 ap-guangzhou）", "plain"),
           ("endpoint", "接入地址（不填用服务商的公共地址）", "plain"),
           ("callback_token", "回执地址的令牌（24到64位字母、数字、横线）", "secret"),
           ("http_url", "政务短信平台的发送地址", "plain"),
           ("http_secret", "政务短信平台的签名密钥", "secret"))
SETTING_FIELDS = {
    "provider": "请选择发送方式。",
    "signature": "签名要2到12个字，只用汉字、字母或数字，例如：青石县政务。",
    "quiet_start": "请填写时间，例如 21:00。", "quiet_end": "请填写时间，例如 08:00。",
    "daily_cap": "请填写1到100之间的整数。",
    "urgent": "请从列表里选择。",
    "access_key_id": "请填写服务商给的 AccessKey ID（只用英文字母、数字和符号）。",
    "access_key_secret": "密钥至少8位，只用英文字母、数字和符号。",
    "sdk_app_id": "SdkAppId 是6到20位数字。",
    "region": "地域只用小写字母、数字和横线，例如 cn-hangzhou。",
    "endpoint": "接入地址写域名，例如 dysmsapi.aliyuncs.com。",
    "callback_token": "令牌要24到64位，只用字母、数字、横线和下划线。",
    "http_url": "请填写 http:// 或 https:// 开头的地址。",
    "http_secret": "密钥至少8位，只用英文字母、数字和符号。",
}
TEMPLATE_FIELDS = {"text": "请写短信内容；变量写成 ${变量名}，只能用下面列出的变量。",
                   "provider_template": "模板编号只用字母、数字、横线和下划线，例如 SMS_123456789。"}


async def county_choice(calls: Calls, staff: Caller, chosen: str | None) -> tuple[str, list[dict]]:
    """The county a page is about: the staff member's own (another one named is refused, 403 `out_of_county`);
    for the system administrator, the one chosen among the installation's counties (the first until one
    is chosen), with the counties to choose from."""
    if staff.county is not None:
        if chosen and chosen != staff.county:
            raise OutOfCounty(f"county {chosen} is not this staff member's ({staff.county})")
        return staff.county, []
    counties = await calls.call("directory", "list_counties", caller=staff)
    if chosen and chosen not in {c["code"] for c in counties}:
        raise NotFound(f"no county {chosen} here", code="county_not_found")
    if not counties:
        raise NotFound("no county has been set up yet", code="county_not_found")
    return chosen or counties[0]["code"], counties


def _here(county: str, counties: list[dict], path: str = "/console/admin/sms", **query: Any) -> str:
    shown = {**({"county": county} if len(counties) > 1 else {}), **{k: v for k, v in query.items() if v}}
    return f"{path}?{urlencode(shown)}" if shown else path


# ---- 发送设置 and the list of templates --------------------------------------------------------------------

async def _settings_page(request: Request, staff: Caller, calls: Calls, county: str, counties: list[dict],
                         status_code: int = 200, *, typed: dict[str, Any] | None = None,
                         errors: dict[str, str] | None = None, message: str | None = None,
                         saved: bool = False) -> Response:
    settings = await calls.call("notifications", "county_settings", caller=staff, county_code=county)
    notices = await calls.call("notifications", "templates", caller=staff, county_code=county)
    shown = typed if typed is not None else {**settings, "urgent": settings["urgent"]}
    return render(request, "console/sms.html", status_code, county=county, counties=counties, settings=settings,
                  notices=notices, typed=shown, errors=errors or {}, message=message, saved=saved,
                  may_set=may(staff, "notifications.set_county_settings"),
                  may_read_messages=may(staff, "notifications.messages"), providers=PROVIDERS, account=ACCOUNT,
                  audiences=AUDIENCES, here=lambda path="/console/admin/sms", **q: _here(county, counties, path, **q))


@router.get("", operation_id="page_sms", **PAGE)
async def sms(request: Request, staff: StaffPage, calls: Calls, county: CountyQuery = None,
              saved: bool = False) -> Response:
    chosen, counties = await county_choice(calls, staff, county)
    return await _settings_page(request, staff, calls, chosen, counties, saved=saved)


def _settings_of(form: Any, typed: dict[str, str]) -> dict[str, Any]:
    """The settings form as `CountySettings` takes it: a secret left empty keeps the stored one (left out);
    another account field left empty is removed (null), so a county can clear what it set by mistake."""
    account: dict[str, Any] = {}
    for name, _label, shown in ACCOUNT:
        value = typed.get(name, "")
        if value or shown == "plain":
            account[name] = value or None
    return {"provider": typed.get("provider", ""), "signature": typed.get("signature", ""),
            "quiet_start": typed.get("quiet_start", ""), "quiet_end": typed.get("quiet_end", ""),
            "daily_cap": typed.get("daily_cap", ""), "staff_sms": typed.get("staff_sms") == "1",
            "urgent": [k for k in form.getlist("urgent") if isinstance(k, str)], "provider_settings": account}


@router.post("/settings", operation_id="page_set_sms_settings", **PAGE)
async def set_settings(request: Request, staff: StaffPage, calls: Calls, county: CountyQuery = None) -> Response:
    form = await read_form(request)
    chosen, counties = await county_choice(calls, staff, county)
    typed = typed_fields(form, limit=400)
    body = _settings_of(form, typed)
    shown = {**typed, "urgent": body["urgent"], "staff_sms": body["staff_sms"]}
    for name, _label, how in ACCOUNT:
        if how == "secret":
            shown.pop(name, None)  # a typed secret is never sent back to the browser

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _settings_page(request, staff, calls, chosen, counties, status, typed=shown, errors=errors,
                                    message=message)

    async def send(settings: c.CountySettings) -> Response:
        await calls.call("notifications", "set_county_settings", caller=staff, county_code=chosen,
                         settings=settings.model_dump(mode="json", exclude_unset=True))
        return see_other(_here(chosen, counties, saved="1"))

    fields = {**SETTING_FIELDS, **{f"provider_settings.{k}": v for k, v in SETTING_FIELDS.items()}}
    required = {"signature": "请填写短信签名。", **{k: SETTING_FIELDS[k] for k in ("quiet_start", "quiet_end",
                                                                                    "daily_cap")}}
    return await submit(again, lambda: c.CountySettings.model_validate(body), send, fields=fields,
                        typed=typed, required=required, refused=_account_errors)


def _account_errors(exc: CunbanError) -> dict[str, str]:
    """The provider account's refusals (`provider_settings.<name>`: what the chosen provider needs) beside
    the field; the rest beside the field they name."""
    errors: dict[str, str] = {}
    for detail in exc.details if isinstance(exc.details, list) else []:
        field = str(detail.get("field", "")) if isinstance(detail, dict) else ""
        name = field.rsplit(".", 1)[-1]
        if name in SETTING_FIELDS:
            labels = {n: label for n, label, _how in ACCOUNT}
            needed = name in labels and str(detail.get("message", "")).startswith("required")
            errors.setdefault(name, f"请填写{labels[name]}。" if needed else SETTING_FIELDS[name])
    return errors


# ---- one notice's template: edit, preview, save ---------------------------------------------------------

async def _template_page(request: Request, staff: Caller, calls: Calls, county: str, counties: list[dict], kind: str,
                         status_code: int = 200, *, typed: dict[str, str] | None = None,
                         errors: dict[str, str] | None = None, message: str | None = None,
                         preview: dict | None = None, saved: bool = False) -> Response:
    notices = await calls.call("notifications", "templates", caller=staff, county_code=county)
    notice = next((n for n in notices if n["kind"] == kind), None)
    if notice is None:
        raise NotFound(f"no notice is called {kind!r}", code="notice_not_found")
    settings = await calls.call("notifications", "county_settings", caller=staff, county_code=county)
    shown = typed if typed is not None else {"text": notice["text"],
                                             "provider_template": notice["provider_template"] or ""}
    return render(request, "console/sms_template.html", status_code, county=county, counties=counties,
                  notice=notice, settings=settings, typed=shown, errors=errors or {}, message=message,
                  preview=preview, saved=saved, audiences=AUDIENCES,
                  may_save=may(staff, "notifications.save_template"),
                  may_preview=may(staff, "notifications.preview_template"),
                  here=lambda path="/console/admin/sms", **q: _here(county, counties, path, **q))


@router.get("/templates/{kind}", operation_id="page_sms_template", **PAGE)
async def template(request: Request, staff: StaffPage, calls: Calls, kind: Kind, county: CountyQuery = None,
                   saved: bool = False) -> Response:
    chosen, counties = await county_choice(calls, staff, county)
    return await _template_page(request, staff, calls, chosen, counties, kind, saved=saved)


@router.post("/templates/{kind}", operation_id="page_save_sms_template", **PAGE)
async def save_template(request: Request, staff: StaffPage, calls: Calls, kind: Kind,
                        county: CountyQuery = None) -> Response:
    """One form, two buttons: 预览 shows the message as a phone would (nothing saved); 保存 saves it."""
    form = await read_form(request)
    chosen, counties = await county_choice(calls, staff, county)
    typed = typed_fields(form, limit=600)
    body = {"text": typed.get("text", ""), "provider_template": typed.get("provider_template") or None}

    async def again(status: int, errors: dict[str, str], message: str, preview: dict | None = None) -> Response:
        return await _template_page(request, staff, calls, chosen, counties, kind, status, typed=typed,
                                    errors=errors, message=message, preview=preview)

    async def send(cmd: c.TemplateSave) -> Response:
        if typed.get("do") == "preview":
            preview = await calls.call("notifications", "preview_template", caller=staff, county_code=chosen,
                                       kind=kind, draft={"text": cmd.text})
            return await again(200, {}, "", preview)
        await calls.call("notifications", "save_template", caller=staff, county_code=chosen, kind=kind,
                         template=cmd.model_dump(mode="json"))
        return see_other(_here(chosen, counties, f"/console/admin/sms/templates/{kind}", saved="1"))

    return await submit(again, lambda: c.TemplateSave.model_validate(body), send, fields=TEMPLATE_FIELDS,
                        typed=typed, required={"text": "请写短信内容。"}, refused=template_errors)


def template_errors(exc: CunbanError) -> dict[str, str]:
    """What the template check found, in words, beside the text (every problem at once)."""
    said = []
    for detail in exc.details if isinstance(exc.details, list) else []:
        message = str(detail.get("message", "")) if isinstance(detail, dict) else ""
        if exc.code == "template_too_long":
            said.append(f"最长时有{message.split()[0]}个字（签名算在内），超过了3条短信（第一条70字，"
                        "分条时每条67字）。请写短一些。")
        elif message.startswith("${"):
            said.append(f"{message.split(' ', 1)[0]} 不是这条通知能用的变量。")
        elif message == "a variable is written ${name}":
            said.append("变量要写成 ${变量名}，$ 和 { } 不能单独用。")
        elif message == "empty":
            said.append("请写短信内容。")
        elif detail.get("field") == "signature":
            said.append("本县的短信签名不对：请先在发送设置里改好签名。")
    return {"text": " ".join(dict.fromkeys(said))} if said else {}


# ---- 短信记录: what was sent --------------------------------------------------------------------------------

@router.get("/messages", operation_id="page_sms_messages", **PAGE)
async def messages(request: Request, staff: StaffPage, calls: Calls, county: CountyQuery = None,
                   status: Annotated[str | None, Query(pattern=r"^[a-z]{1,12}$")] = None,
                   kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
                   after: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> Response:
    chosen, counties = await county_choice(calls, staff, county)
    status = status if status in STATUSES else None
    query = {"status": status, "kind": kind, "limit": PAGE_SIZE, "after": after}
    page = await calls.call("notifications", "messages", caller=staff,
                            query={k: v for k, v in query.items() if v is not None})
    notices = await calls.call("notifications", "templates", caller=staff, county_code=chosen)
    names = {n["kind"]: n["name"] for n in notices}
    more = _here(chosen, counties, "/console/admin/sms/messages", status=status, kind=kind,
                 after=page["next_after"]) if page["next_after"] else None
    return render(request, "console/sms_messages.html", county=chosen, counties=counties, items=page["items"],
                  more=more, names=names, statuses=STATUSES, withheld=WITHHELD, status=status, kind=kind,
                  first=after is not None,
                  here=lambda path="/console/admin/sms", **q: _here(chosen, counties, path, **q))

