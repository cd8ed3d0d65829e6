"""Alibaba Cloud SMS (阿里云短信, dysmsapi 2017-05-25) through its official SDK.

A message is sent by the county's template registered with Alibaba Cloud (`TemplateCode`) and its variables
(`TemplateParam`, JSON); our send key goes as `OutId`, which Alibaba Cloud hands back in QuerySendDetails and
in its delivery reports. Alibaba Cloud keeps no idempotency key, so a send cut off midway is first looked
up with QuerySendDetails (by phone and day, matched on OutId) and sent again only if it is not there.

Failures: throttling (`isv.BUSINESS_LIMIT_CONTROL`, `Throttling.*`), a daily limit, a 5xx, a timeout or a
refused connection are tried again later; a number, template, signature or account Alibaba Cloud refuses
fails the message for good."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from alibabacloud_dysmsapi20170525 import models as ali
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import UnretryableException

from services.notifications.adapters.providers import Accepted, ProviderFailed, Sms
from shared.clock import CHINA, utcnow

ENDPOINT = "dysmsapi.aliyuncs.com"
RETRY_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isp.SYSTEM_ERROR",
                         "isv.OUT_OF_SERVICE", "SignatureNonceUsed", "ServiceUnavailable", "InternalError"})


def retryable(code: str | None, status: int | None = None) -> bool:
    code = code or ""
    return (code in RETRY_CODES or code.startswith("Throttling") or code.startswith("isp.")
            or (status is not None and (status == 429 or status >= 500)))


class AliyunProvider:
    name = "aliyun"
    idempotent = False  # asked with QuerySendDetails before a cut-off send goes again

    def __init__(self, *, access_key_id: str, access_key_secret: str, phone_of: Callable[[str], str | None],
                 endpoint: str | None = None, region: str | None = None, protocol: str = "https",
                 timeout: float = 10.0):
        self.client = Client(Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                    endpoint=endpoint or ENDPOINT, region_id=region or "cn-hangzhou",
                                    protocol=protocol, read_timeout=int(timeout * 1000),
                                    connect_timeout=int(min(timeout, 5.0) * 1000)))
        self.phone_of = phone_of

    def send(self, sms: Sms, now: datetime) -> Accepted:
        if not sms.template_id:
            raise ProviderFailed("aliyun: the template has no Alibaba Cloud template code (TemplateCode); "
                                 "register it and save its code with the county's template", retry=False)
        request = ali.SendSmsRequest(phone_numbers=sms.phone, sign_name=sms.signature, template_code=sms.template_id,
                                     template_param=json.dumps({k: str(v) for k, v in sms.values.items()},
                                                               ensure_ascii=False),
                                     out_id=sms.key)
        body = self._call(self.client.send_sms, request)
        if body.code != "OK":
            raise ProviderFailed(f"aliyun: {body.code} {body.message}", retry=retryable(body.code))
        if not body.biz_id:
            raise ProviderFailed("aliyun: the answer has no BizId", retry=True)
        return Accepted(body.biz_id)

    def status(self, key: str) -> Accepted | None:
        """The message sent with our key as OutId, today or yesterday (China time), or None."""
        phone = self.phone_of(key)
        if not phone:
            return None
        today = utcnow().astimezone(CHINA).date()
        for day in (today, today - timedelta(days=1)):
            page = 1
            while True:
                body = self._call(self.client.query_send_details, ali.QuerySendDetailsRequest(
                    phone_number=phone, send_date=day.strftime("%Y%m%d"), page_size=50, current_page=page))
                if body.code != "OK":
                    raise ProviderFailed(f"aliyun: QuerySendDetails {body.code} {body.message}", retry=True)
                details = (body.sms_send_detail_dtos.sms_send_detail_dto or []) if body.sms_send_detail_dtos else []
                for detail in details:
                    if detail.out_id == key:
                        # QuerySendDetails names no BizId: the message is known by our key (reports carry OutId)
                        return Accepted(f"out:{key}")
                if len(details) < 50:
                    break
                page += 1
        return None

    @staticmethod
    def _call(method, request):
        try:
            return method(request).body
        except AlibabaCloudException as e:
            raise ProviderFailed(f"aliyun: {e.code} {e.message}", retry=retryable(e.code, e.status_code)) from e
        except UnretryableException as e:  # the call did not get an answer: a timeout, a refused connection
            raise ProviderFailed(f"aliyun: no answer ({type(e.inner_exception).__name__})", retry=True) from e
