"""Tencent Cloud SMS (腾讯云短信, sms 2021-01-11) through its official SDK.

A message is sent by the county's template registered with Tencent Cloud (`TemplateId`) in its SMS app
(`SmsSdkAppId`), the template's variables as an ordered list (`TemplateParamSet`, in the order the
template text uses them), and our send key as `SessionContext`. Tencent Cloud keeps no idempotency key,
so a send cut off midway is first looked up with PullSmsSendStatusByPhoneNumber (the number's reports of
the last two days, matched on SessionContext) and sent again only if it is not there. That query sees a
message once its delivery report exists (seconds after sending, as a rule).

Failures: `LimitExceeded.*`, `RequestLimitExceeded*`, `InternalError*`, a 5xx, a timeout or a refused
connection are tried again later; an invalid number, a template or signature Tencent Cloud refuses, or an
unauthorised account fail the message for good."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tc
from tencentcloud.sms.v20210111.sms_client import SmsClient

from services.notifications.adapters.providers import Accepted, ProviderFailed, Sms

ENDPOINT = "sms.tencentcloudapi.com"
LOOK_BACK = 2 * 24 * 3600  # seconds of delivery reports a cut-off send is looked for in


def retryable(code: str | None) -> bool:
    code = code or ""
    return code.startswith(("LimitExceeded", "RequestLimitExceeded", "InternalError", "ClientNetworkError",
                            "ServerNetworkError", "FailedOperation.FailResolvePacket"))


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentProvider:
    name = "tencent"
    idempotent = False  # asked with PullSmsSendStatusByPhoneNumber before a cut-off send goes again

    def __init__(self, *, secret_id: str, secret_key: str, sdk_app_id: str, phone_of: Callable[[str], str | None],
                 endpoint: str | None = None, region: str | None = None, protocol: str = "https",
                 timeout: float = 10.0):
        profile = ClientProfile(httpProfile=HttpProfile(protocol=protocol, endpoint=endpoint or ENDPOINT,
                                                        reqTimeout=max(1, int(timeout))))
        self.client = SmsClient(Credential(secret_id, secret_key), region or "ap-guangzhou", profile)
        self.sdk_app_id, self.phone_of = sdk_app_id, phone_of

    def send(self, sms: Sms, now: datetime) -> Accepted:
        if not sms.template_id:
            raise ProviderFailed("tencent: the template has no Tencent Cloud template id (TemplateId); "
                                 "register it and save its id with the county's template", retry=False)
        request = tc.SendSmsRequest()
        request.PhoneNumberSet = [e164(sms.phone)]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = sms.signature
        request.TemplateId = sms.template_id
        request.TemplateParamSet = [str(v) for v in sms.values.values()]  # in the order the template uses them
        request.SessionContext = sms.key
        response = self._call(self.client.SendSms, request)
        statuses = response.SendStatusSet or []
        if not statuses:
            raise ProviderFailed("tencent: the answer has no SendStatusSet", retry=True)
        status = statuses[0]
        if status.Code != "Ok":
            raise ProviderFailed(f"tencent: {status.Code} {status.Message}", retry=retryable(status.Code))
        return Accepted(status.SerialNo)

    def status(self, key: str) -> Accepted | None:
        """The message sent with our key as SessionContext in the last two days, or None."""
        phone = self.phone_of(key)
        if not phone:
            return None
        end = int(time.time())
        offset = 0
        while True:
            request = tc.PullSmsSendStatusByPhoneNumberRequest()
            request.BeginTime, request.EndTime, request.Offset, request.Limit = end - LOOK_BACK, end, offset, 100
            request.PhoneNumber, request.SmsSdkAppId = e164(phone), self.sdk_app_id
            found = self._call(self.client.PullSmsSendStatusByPhoneNumber, request).PullSmsSendStatusSet or []
            for report in found:
                if report.SessionContext == key:
                    return Accepted(report.SerialNo)
            if len(found) < 100:
                return None
            offset += 100

    @staticmethod
    def _call(method, request):
        try:
            return method(request)
        except TencentCloudSDKException as e:
            raise ProviderFailed(f"tencent: {e.code} {e.message}"[:300], retry=retryable(e.code)) from e
