"""Each SMS provider adapter against a local HTTP server standing in for the provider's endpoint: the real
Alibaba Cloud and Tencent Cloud SDKs (only their endpoint is local, over http) and the generic signed HTTP
provider. Success, throttling (tried again), a refused number (not), a timeout (tried again), and the
status query that decides whether a send cut off midway goes again. No test reaches the internet."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.notifications.adapters.aliyun import AliyunProvider
from services.notifications.adapters.http_sms import HttpProvider, verified
from services.notifications.adapters.providers import LogProvider, ProviderFailed, Sms, build
from services.notifications.adapters.tencent import TencentProvider
from services.notifications.service_layer import provider_settings
from shared.contracts import notifications as c
from shared.errors import ValidationFailed
from shared.pii import PersonalDataVault
from shared.settings import DEVELOPMENT_PII_KEY
from tests.sms_stand_in import StandIn

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
PHONE = "13812345678"
KEY = "0123456789abcdef0123456789abcdef"
SMS = Sms(key=KEY, phone=PHONE, phone_masked="138****5678", county_code="431099", signature="村办",
          text="【村办】您的申请已受理，受理编号QS-1。", template_id="SMS_123456",
          values={"receipt_no": "QS-1", "item": "农村低保"})


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


# ---- Alibaba Cloud ---------------------------------------------------------------------------------------

def aliyun(stand_in: StandIn, phone_of=lambda key: PHONE, timeout: float = 5.0) -> AliyunProvider:
    return AliyunProvider(access_key_id="LTAI-test", access_key_secret="secret-test", endpoint=stand_in.endpoint,
                          protocol="http", phone_of=phone_of, timeout=timeout)


def test_aliyun_sends_by_template_code_with_our_key_as_out_id(stand_in):
    stand_in.answer((200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r1"}))
    assert aliyun(stand_in).send(SMS, NOW).message_id == "900619746936498440^0"
    [request] = stand_in.requests
    sent = request["query"]
    assert stand_in.actions() == ["SendSms"]
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"], sent["OutId"]) == (
        PHONE, "村办", "SMS_123456", KEY)
    assert json.loads(sent["TemplateParam"]) == {"receipt_no": "QS-1", "item": "农村低保"}
    assert "Credential=LTAI-test" in request["headers"]["Authorization"]  # signed by the SDK


def test_aliyun_throttling_is_tried_again_and_a_refused_number_is_not(stand_in):
    provider = aliyun(stand_in)
    stand_in.answer((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5"}))
    with pytest.raises(ProviderFailed) as throttled:
        provider.send(SMS, NOW)
    assert throttled.value.retry and "isv.BUSINESS_LIMIT_CONTROL" in str(throttled.value)
    stand_in.answer((200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}))
    with pytest.raises(ProviderFailed) as refused:
        provider.send(SMS, NOW)
    assert not refused.value.retry
    stand_in.answer((503, {"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "r"}))
    with pytest.raises(ProviderFailed) as unavailable:
        provider.send(SMS, NOW)
    assert unavailable.value.retry
    stand_in.answer((400, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模版不合法", "RequestId": "r"}))
    with pytest.raises(ProviderFailed) as bad_template:
        provider.send(SMS, NOW)
    assert not bad_template.value.retry


def test_aliyun_timeout_and_refused_connection_are_tried_again(stand_in):
    stand_in.answer((200, {"Code": "OK", "BizId": "late"}, 3.0))
    with pytest.raises(ProviderFailed) as timed_out:
        aliyun(stand_in, timeout=1.0).send(SMS, NOW)
    assert timed_out.value.retry
    gone = AliyunProvider(access_key_id="a", access_key_secret="b", endpoint="127.0.0.1:9", protocol="http",
                          phone_of=lambda key: PHONE, timeout=1.0)
    with pytest.raises(ProviderFailed) as refused:
        gone.send(SMS, NOW)
    assert refused.value.retry


def test_aliyun_without_a_template_code_fails_for_good_without_a_call(stand_in):
    stand_in.answer((200, {"Code": "OK", "BizId": "x"}))
    with pytest.raises(ProviderFailed) as failed:
        aliyun(stand_in).send(Sms(**{**SMS.__dict__, "template_id": None}), NOW)
    assert not failed.value.retry and "TemplateCode" in str(failed.value) and stand_in.requests == []


def test_aliyun_finds_a_cut_off_send_by_out_id_and_tells_when_it_has_none(stand_in):
    provider = aliyun(stand_in)
    assert not provider.idempotent
    found = {"Code": "OK", "TotalCount": 2, "SmsSendDetailDTOs": {"SmsSendDetailDTO": [
        {"OutId": "another-key", "PhoneNum": PHONE, "SendStatus": 3},
        {"OutId": KEY, "PhoneNum": PHONE, "SendStatus": 1, "TemplateCode": "SMS_123456"}]}}
    stand_in.answer((200, found))
    assert provider.status(KEY).message_id == f"out:{KEY}"
    [query] = stand_in.requests
    assert stand_in.actions() == ["QuerySendDetails"] and query["query"]["PhoneNumber"] == PHONE
    stand_in.answer((200, {"Code": "OK", "TotalCount": 0, "SmsSendDetailDTOs": {"SmsSendDetailDTO": []}}))
    assert provider.status(KEY) is None
    assert len(stand_in.requests) == 2  # today and yesterday (China time) were both asked
    assert aliyun(stand_in, phone_of=lambda key: None).status(KEY) is None  # no number: nothing can be sent


# ---- Tencent Cloud ---------------------------------------------------------------------------------------

def tencent(stand_in: StandIn, phone_of=lambda key: PHONE, timeout: float = 5.0) -> TencentProvider:
    return TencentProvider(secret_id="AKID-test", secret_key="secret-test", sdk_app_id="1400006666",
                           endpoint=stand_in.endpoint, protocol="http", phone_of=phone_of, timeout=timeout)


def _tc_sent(code: str = "Ok", serial: str = "2433:0001") -> dict:
    return {"Response": {"RequestId": "r1", "SendStatusSet": [{
        "SerialNo": serial, "PhoneNumber": f"+86{PHONE}", "Fee": 1, "SessionContext": KEY, "Code": code,
        "Message": "send success" if code == "Ok" else "refused", "IsoCode": "CN"}]}}


def _tc_error(code: str) -> dict:
    return {"Response": {"RequestId": "r1", "Error": {"Code": code, "Message": "no"}}}


def test_tencent_sends_by_template_id_with_the_values_in_the_templates_order(stand_in):
    stand_in.answer((200, _tc_sent()))
    assert tencent(stand_in).send(SMS, NOW).message_id == "2433:0001"
    [request] = stand_in.requests
    sent = json.loads(request["body"])
    assert request["headers"]["X-TC-Action"] == "SendSms" and "TC3-HMAC-SHA256" in request["headers"]["Authorization"]
    assert sent == {"PhoneNumberSet": [f"+86{PHONE}"], "SmsSdkAppId": "1400006666", "SignName": "村办",
                    "TemplateId": "SMS_123456", "TemplateParamSet": ["QS-1", "农村低保"], "SessionContext": KEY}


def test_tencent_limits_are_tried_again_and_an_invalid_number_is_not(stand_in):
    provider = tencent(stand_in)
    stand_in.answer((200, _tc_error("LimitExceeded.PhoneNumberThirtySecondLimit")))
    with pytest.raises(ProviderFailed) as throttled:
        provider.send(SMS, NOW)
    assert throttled.value.retry
    stand_in.answer((200, _tc_sent(code="LimitExceeded.PhoneNumberDailyLimit")))  # per number, in the status set
    with pytest.raises(ProviderFailed) as daily:
        provider.send(SMS, NOW)
    assert daily.value.retry
    stand_in.answer((200, _tc_sent(code="InvalidParameterValue.IncorrectPhoneNumber")))
    with pytest.raises(ProviderFailed) as refused:
        provider.send(SMS, NOW)
    assert not refused.value.retry and "IncorrectPhoneNumber" in str(refused.value)
    stand_in.answer((200, _tc_error("InvalidParameterValue.IncorrectPhoneNumber")))
    stand_in.answers[0][1]["Response"]["Error"]["Message"] = f"phone +86{PHONE} is incorrect"
    with pytest.raises(ProviderFailed) as echoed:
        provider.send(SMS, NOW)
    assert PHONE not in str(echoed.value) and "138****5678" in str(echoed.value)  # kept and logged masked
    stand_in.answer((200, _tc_error("FailedOperation.TemplateIncorrectOrUnapproved")))
    with pytest.raises(ProviderFailed) as bad_template:
        provider.send(SMS, NOW)
    assert not bad_template.value.retry


def test_tencent_timeout_is_tried_again(stand_in):
    stand_in.answer((200, _tc_sent(), 3.0))
    with pytest.raises(ProviderFailed) as timed_out:
        tencent(stand_in, timeout=1.0).send(SMS, NOW)
    assert timed_out.value.retry


def test_tencent_finds_a_cut_off_send_by_session_context(stand_in):
    provider = tencent(stand_in)
    report = {"UserReceiveTime": "2026-12-03 12:00:01", "CountryCode": "86", "SubscriberNumber": PHONE,
              "PhoneNumber": f"+86{PHONE}", "SerialNo": "2433:0009", "ReportStatus": "SUCCESS",
              "Description": "DELIVRD", "SessionContext": KEY}
    stand_in.answer((200, {"Response": {"RequestId": "r", "PullSmsSendStatusSet": [report]}}))
    assert provider.status(KEY).message_id == "2433:0009"
    sent = json.loads(stand_in.requests[0]["body"])
    assert stand_in.actions() == ["PullSmsSendStatusByPhoneNumber"] and sent["PhoneNumber"] == f"+86{PHONE}"
    another = {**report, "SessionContext": "another-key"}
    stand_in.answer((200, {"Response": {"RequestId": "r", "PullSmsSendStatusSet": [another]}}))
    assert provider.status(KEY) is None


# ---- the generic signed HTTP provider -------------------------------------------------------------------

def test_http_posts_signed_json_with_our_idempotency_key(stand_in):
    stand_in.answer((200, {"message_id": "gov-1"}))
    provider = HttpProvider(f"http://{stand_in.endpoint}/sms", "shared-secret-123")
    assert provider.idempotent and provider.send(SMS, NOW).message_id == "gov-1"
    [request] = stand_in.requests
    headers, body = request["headers"], request["body"].encode()
    assert json.loads(body) == {"phone": PHONE, "text": SMS.text, "key": KEY}
    assert headers["Idempotency-Key"] == KEY
    expected = hmac.new(b"shared-secret-123", headers["X-Cunban-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-Cunban-Signature"] == expected
    assert verified("shared-secret-123", headers["X-Cunban-Timestamp"], expected, body)
    assert not verified("another-secret", headers["X-Cunban-Timestamp"], expected, body)
    assert not verified("shared-secret-123", "1000", expected, body)  # too old


def test_http_retries_429_5xx_and_timeouts_but_not_a_refused_number(stand_in):
    provider = HttpProvider(f"http://{stand_in.endpoint}/sms", "shared-secret-123", timeout=1.0)
    for status, retry in ((429, True), (502, True), (400, False), (422, False)):
        stand_in.answer((status, {"error": "no"}))
        with pytest.raises(ProviderFailed) as failed:
            provider.send(SMS, NOW)
        assert failed.value.retry is retry, status
    stand_in.answer((200, {"message_id": "late"}, 3.0))
    with pytest.raises(ProviderFailed) as timed_out:
        provider.send(SMS, NOW)
    assert timed_out.value.retry


# ---- a county's settings build its provider -------------------------------------------------------------

VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)


def test_settings_are_checked_per_provider_and_secrets_stored_encrypted_and_masked():
    with pytest.raises(ValidationFailed) as missing:
        provider_settings.stored("tencent", c.ProviderSettings(access_key_id="AKID-x"), None, VAULT)
    assert missing.value.code == "provider_settings_invalid"
    assert {d["field"] for d in missing.value.details} == {"provider_settings.access_key_secret",
                                                           "provider_settings.sdk_app_id",
                                                           "provider_settings.callback_token"}
    given = c.ProviderSettings(access_key_id="LTAI5tAbCdEfGh", access_key_secret="s3cret-value",
                               callback_token="t" * 32, endpoint="http://127.0.0.1:8080")
    stored = provider_settings.stored("aliyun", given, None, VAULT)
    assert "s3cret-value" not in json.dumps(stored) and "t" * 32 not in json.dumps(stored)
    view = provider_settings.view(stored)
    assert (view.access_key_id, view.access_key_secret, view.callback_token) == ("LTAI…EfGh", True, True)
    kept = provider_settings.stored("aliyun", c.ProviderSettings(access_key_id="LTAI5tNewNewNew"), stored, VAULT)
    assert provider_settings.opened(kept, VAULT)["access_key_secret"] == "s3cret-value"  # not given: kept
    assert (kept["access_key_id"], kept["endpoint"]) == ("LTAI5tNewNewNew", "http://127.0.0.1:8080")
    cleared = provider_settings.stored("aliyun", c.ProviderSettings(endpoint=None), kept, VAULT)
    assert "endpoint" not in cleared  # given as null: removed
    with pytest.raises(ValidationFailed):  # a required one cannot be removed
        provider_settings.stored("aliyun", c.ProviderSettings(access_key_secret=None), kept, VAULT)
    provider = build("aliyun", provider_settings.opened(stored, VAULT), phone_of=lambda key: None, log=None)
    assert isinstance(provider, AliyunProvider) and provider.client._endpoint == "127.0.0.1:8080"
    assert provider_settings.endpoint_and_protocol("http://127.0.0.1:8080") == ("127.0.0.1:8080", "http")
    assert provider_settings.endpoint_and_protocol(None) == (None, "https")


def test_a_county_without_a_provider_uses_log():
    log = LogProvider(database=None)  # type: ignore[arg-type]
    assert build("log", {}, phone_of=lambda key: None, log=log) is log
    with pytest.raises(LookupError):
        build("carrier-pigeon", {}, phone_of=lambda key: None, log=log)
