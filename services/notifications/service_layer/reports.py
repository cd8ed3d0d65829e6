"""What providers report back, through the gateway's callback routes: delivery reports (a message arrived
or not) and villagers' replies (回复TD退订 opts a number out).

Each callback is verified against the county's stored settings before anything is read from it: the
`http` provider signs its callbacks with the shared secret (HMAC-SHA256 over timestamp and body); Alibaba
Cloud and Tencent Cloud sign nothing they push, so the county gives them callback URLs carrying a secret
token, compared in constant time. Both are idempotent: a duplicate report changes nothing, a report for a
message this county never sent is counted and ignored, and a number opts out once."""
from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import datetime
from typing import Any

from services.notifications.adapters.http_sms import verified
from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.domain import sending as s
from services.notifications.service_layer.provider_settings import opened
from shared.contracts import notifications as c
from shared.errors import Unauthenticated, ValidationFailed
from shared.pii import PersonalDataVault, mask_phone

log = logging.getLogger(__name__)

OPT_OUT = frozenset({"TD", "T", "退订"})
REPORTING = ("aliyun", "tencent", "http")


def opts_out(text: str) -> bool:
    """Whether a reply opts out: "TD", "T" or "退订" (any case, spaces and punctuation around ignored)."""
    return re.sub(r"[\s\W_]+", "", text).upper() in OPT_OUT


def national(phone: str) -> str:
    """A mainland number as the contacts give it (11 digits), from +86…, 0086… or 86…."""
    digits = re.sub(r"\D", "", phone)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            return digits[len(prefix):]
    return digits


def verify(uow: NotificationsUnitOfWork, *, provider: str, county_code: str, callback: c.Callback,
           vault: PersonalDataVault) -> None:
    """Unauthenticated (401) unless the county uses this provider (else callback_not_configured) and the
    callback carries the county's secret (else callback_unverified)."""
    row = uow.county_settings.get(county_code)
    if provider not in REPORTING or row is None or row.provider != provider:
        raise Unauthenticated(f"county {county_code} takes no {provider} callbacks", code="callback_not_configured")
    settings = opened(row.provider_settings, vault)
    if provider == "http":
        ok = verified(settings.get("http_secret") or "", callback.timestamp, callback.signature,
                      callback.body.encode())
    else:
        expected = settings.get("callback_token") or ""
        ok = bool(expected) and hmac.compare_digest(expected.encode(), (callback.token or "").encode())
    if not ok:
        log.warning("a %s callback for county %s failed verification", provider, county_code,
                    extra={"service": "notifications"})
        raise Unauthenticated("the callback's signature or token is not the county's", code="callback_unverified")


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as e:
        raise ValidationFailed("the callback is not JSON", code="callback_invalid") from e


def _items(data: Any, key: str | None) -> list[dict]:
    if key is not None and isinstance(data, dict):
        data = data.get(key)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValidationFailed("the callback is not in the provider's format", code="callback_invalid")
    return data


def parse_reports(provider: str, body: str) -> list[c.DeliveryReport]:
    """Alibaba Cloud SmsReport: [{biz_id, out_id, success, err_code, …}]; Tencent Cloud: [{sid,
    report_status: SUCCESS|FAIL, errmsg, …}]; http: {"reports": [{message_id, status, error}]}."""
    data = _json(body)
    try:
        if provider == "aliyun":
            return [c.DeliveryReport(message_id=_str(r.get("biz_id")), send_key=_str(r.get("out_id")),
                                     delivered=bool(r.get("success")),
                                     error=None if r.get("success") else _str(r.get("err_code") or r.get("err_msg")))
                    for r in _items(data, None)]
        if provider == "tencent":
            return [c.DeliveryReport(message_id=_str(r.get("sid")), delivered=r.get("report_status") == "SUCCESS",
                                     error=None if r.get("report_status") == "SUCCESS"
                                     else _str(r.get("errmsg") or r.get("description")))
                    for r in _items(data, None)]
        return [c.DeliveryReport(message_id=_str(r.get("message_id")), send_key=_str(r.get("key")),
                                 delivered=r.get("status") == "delivered", error=_str(r.get("error")))
                for r in _items(data, "reports")]
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise ValidationFailed("a report is not in the provider's format", code="callback_invalid") from e


def parse_replies(provider: str, body: str) -> list[c.Reply]:
    """Alibaba Cloud SmsUp: [{phone_number, content, …}]; Tencent Cloud: {mobile, nationcode, text, …};
    http: {"replies": [{phone, text}]}."""
    data = _json(body)
    try:
        if provider == "aliyun":
            return [c.Reply(phone=str(r.get("phone_number", "")), text=str(r.get("content", "")))
                    for r in _items(data, None)]
        if provider == "tencent":
            return [c.Reply(phone=str(r.get("mobile", "")), text=str(r.get("text", ""))) for r in _items(data, None)]
        return [c.Reply(phone=str(r.get("phone", "")), text=str(r.get("text", ""))) for r in _items(data, "replies")]
    except ValueError as e:
        raise ValidationFailed("a reply is not in the provider's format", code="callback_invalid") from e


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)[:100]


def delivery_reports(uow: NotificationsUnitOfWork, *, provider: str, county_code: str, callback: c.Callback,
                     vault: PersonalDataVault, now: datetime) -> c.CallbackOutcome:
    """Mark each reported message delivered or undelivered — once: a message already reported keeps its
    first report; one this county never sent is counted as unknown and ignored."""
    verify(uow, provider=provider, county_code=county_code, callback=callback, vault=vault)
    reports = parse_reports(provider, callback.body)
    applied = unknown = 0
    for report in reports:
        row = None
        if report.message_id:
            row = uow.messages.by_provider_id(county_code, provider, report.message_id)
        if row is None and report.send_key:
            row = uow.messages.by_send_key(county_code, provider, report.send_key)
        if row is None:
            unknown += 1
            continue
        if row.status != s.Status.SENT.value:
            continue  # reported already (a duplicate), or not recorded as sent
        row.status = (s.Status.DELIVERED if report.delivered else s.Status.UNDELIVERED).value
        row.reported_at = now
        if not report.delivered:
            row.error = f"undelivered: {report.error or '?'}"[:500]
        applied += 1
    uow.commit()
    if unknown:
        log.info("%s delivery reports for county %s named messages it never sent", unknown, county_code,
                 extra={"service": "notifications"})
    return c.CallbackOutcome(received=len(reports), applied=applied, unknown=unknown)


def record_opt_outs(uow: NotificationsUnitOfWork, *, provider: str, county_code: str, callback: c.Callback,
                    vault: PersonalDataVault, now: datetime) -> c.CallbackOutcome:
    """A reply "TD" / "T" / "退订" opts its number out (kept by the number's keyed hash), once; other replies
    are counted and ignored."""
    verify(uow, provider=provider, county_code=county_code, callback=callback, vault=vault)
    replies = parse_replies(provider, callback.body)
    applied = 0
    for reply in replies:
        phone = national(reply.phone)
        if not phone or not opts_out(reply.text):
            continue
        if uow.opt_outs.add(vault.search_hash(phone), county_code=county_code, at=now, source=provider):
            applied += 1
            log.info("%s opted out (退订) through %s", mask_phone(phone), provider, extra={"service": "notifications"})
    uow.commit()
    return c.CallbackOutcome(received=len(replies), applied=applied, unknown=0)
