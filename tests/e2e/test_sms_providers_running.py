"""SMS providers with the whole system running (`cunban up`), each against a local stand-in for its endpoint.

A county on its own 政务短信平台 (the generic signed HTTP provider): a filing's SMS
reaches the platform (a local stand-in) signed and with our idempotency key; the platform's signed delivery
report marks it delivered, once; its 回复TD opts the number out, and the next filing's SMS is withheld; an
unsigned or forged callback is refused with 401. Then Alibaba Cloud through its SDK inside the running
service."""
from __future__ import annotations

import json

import httpx
import pytest

from services.notifications.adapters.http_sms import signed_headers, verified
from tests.sms_stand_in import StandIn
from tests.support import embedded_system, login, wait_until

pytestmark = pytest.mark.e2e
QS = "431099101"
SECRET = "county-platform-secret-0001"
PHONE = "13512345678"


def filing(name: str) -> dict:
    return {"item_code": "SP-008", "channel": "station", "station_code": f"ST{QS}010",
            "applicant": {"name": name, "phone": PHONE, "id_card": "430124197506150021", "village_code": f"{QS}010"},
            "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}


@pytest.fixture(scope="module")
def platform():
    server = StandIn().answer((200, {"message_id": "gov-0001"}))
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with embedded_system(tmp_path_factory.mktemp("sms-http")) as (base, _), \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client


def signed_post(client, url: str, payload: dict, secret: str = SECRET) -> httpx.Response:
    body = json.dumps(payload).encode()
    return client.post(url, content=body, headers={"Content-Type": "application/json",
                                                   **signed_headers(secret, body)})


def test_the_countys_platform_gets_signed_messages_and_its_signed_callbacks_are_applied(client, platform):
    admin, supervisor, agent = login(client, "admin"), login(client, "qs_supervisor"), login(client, "qs_agent1")
    settings = client.put("/notifications/settings/431099", headers=admin, json={
        "provider": "http", "quiet_start": "00:00", "quiet_end": "00:00",
        "provider_settings": {"http_url": f"http://{platform.endpoint}/sms", "http_secret": SECRET}})
    assert settings.status_code == 200, settings.text
    assert settings.json()["provider_settings"]["http_secret"] is True and SECRET not in settings.text
    missing = client.put("/notifications/settings/431099", headers=admin, json={"provider": "tencent"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "provider_settings_invalid"
    quiet = client.put("/notifications/settings/431099", headers=admin, json={
        "provider": "http", "quiet_start": "00:00", "quiet_end": "00:00", "daily_cap": 20})
    assert quiet.status_code == 200 and quiet.json()["provider_settings"]["http_secret"] is True  # the account kept

    filed = client.post("/applications", json=filing("吴十"), headers=agent)
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt_no"]
    [request] = wait_until(lambda: platform.requests or None, 30, "the SMS at the county's platform")
    body = request["body"].encode()
    sent = json.loads(body)
    assert sent["phone"] == PHONE and f"编号{receipt}" in sent["text"] and request["headers"]["Idempotency-Key"]
    assert verified(SECRET, request["headers"]["X-Cunban-Timestamp"], request["headers"]["X-Cunban-Signature"], body)

    def message():
        page = client.get("/notifications/messages", headers=supervisor, params={"kind": "application_filed"})
        return next((m for m in page.json()["items"] if receipt in (m["text"] or "")), None)

    assert wait_until(lambda: (m := message()) and m["status"] == "sent" and m, 30, "sent")["provider"] == "http"

    status_url = "/notifications/callbacks/http/431099/status"
    report = {"reports": [{"message_id": "gov-0001", "status": "delivered"}]}
    forged = signed_post(client, status_url, report, secret="not-the-county-secret")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "callback_unverified"
    unsigned = client.post(status_url, json=report)
    assert unsigned.status_code == 401
    applied = signed_post(client, status_url, report)
    assert applied.status_code == 200 and applied.json() == {"ok": True, "received": 1, "applied": 1, "unknown": 0}
    again = signed_post(client, status_url, report)
    assert again.json()["applied"] == 0  # a duplicate report changes nothing
    assert message()["status"] == "delivered"
    wrong_provider = client.post("/notifications/callbacks/aliyun/431099/status?token=abcdefabcdefabcdefabcdef",
                                 json=[])
    assert wrong_provider.status_code == 401
    assert wrong_provider.json()["error"]["code"] == "callback_not_configured"

    uplink = signed_post(client, "/notifications/callbacks/http/431099/uplink",
                         {"replies": [{"phone": PHONE, "text": "TD"}]})
    assert uplink.status_code == 200 and uplink.json()["applied"] == 1
    second = client.post("/applications", json=filing("吴十一"), headers=agent)
    assert second.status_code == 201, second.text
    first_id = message()["id"]

    def newest():  # a withheld message has no text: it is the newest receipt SMS
        page = client.get("/notifications/messages", headers=supervisor, params={"kind": "application_filed"})
        return next((m for m in page.json()["items"] if m["id"] > first_id and m["status"] == "withheld"), None)

    withheld = wait_until(newest, 30, "the next receipt SMS withheld")
    assert withheld["withheld"] == "opted_out" and withheld["phone_masked"] == "135****5678"
    assert len(platform.requests) == 1  # the platform got nothing more


def test_alibaba_cloud_through_its_sdk_in_the_running_system(client):
    """The SDK inside the running service (eventlet), against a stand-in for dysmsapi: the message goes by
    the county's TemplateCode, and Alibaba Cloud's report (unsigned: the URL's token is the proof) lands."""
    aliyun = StandIn().answer((200, {"Code": "OK", "Message": "OK", "BizId": "biz-e2e-1", "RequestId": "r"}))
    try:
        admin, supervisor, agent = login(client, "admin"), login(client, "qs_supervisor"), login(client, "qs_agent1")
        token = "e2e-callback-token-0123456789"
        settings = client.put("/notifications/settings/431099", headers=admin, json={
            "provider": "aliyun", "quiet_start": "00:00", "quiet_end": "00:00", "provider_settings": {
                "access_key_id": "LTAI5tE2eE2eE2e", "access_key_secret": "aliyun-e2e-secret",
                "callback_token": token, "endpoint": f"http://{aliyun.endpoint}"}})
        assert settings.status_code == 200, settings.text
        template = client.put("/notifications/templates/431099/application_filed", headers=admin, json={
            "text": "您的${item}申请已受理，编号${receipt_no}。", "provider_template": "SMS_900001"})
        assert template.status_code == 200, template.text
        filed = client.post("/applications", json={**filing("郑十二"), "applicant": {
            **filing("郑十二")["applicant"], "phone": "13712345678"}}, headers=agent)
        assert filed.status_code == 201, filed.text
        receipt = filed.json()["receipt_no"]
        [request] = wait_until(lambda: aliyun.requests or None, 30, "SendSms at the stand-in")
        assert aliyun.actions() == ["SendSms"]
        assert (request["query"]["PhoneNumbers"], request["query"]["TemplateCode"]) == ("13712345678", "SMS_900001")
        assert json.loads(request["query"]["TemplateParam"])["receipt_no"] == receipt

        def message():
            page = client.get("/notifications/messages", headers=supervisor, params={"kind": "application_filed"})
            return next((m for m in page.json()["items"] if receipt in (m["text"] or "")), None)

        assert wait_until(lambda: (m := message()) and m["status"] == "sent" and m, 30, "sent")["provider"] == "aliyun"
        url = "/notifications/callbacks/aliyun/431099/status"
        report = [{"phone_number": "13712345678", "success": True, "err_code": "DELIVERED", "biz_id": "biz-e2e-1"}]
        assert client.post(f"{url}?token={token[:-1]}X", json=report).status_code == 401
        delivered = client.post(f"{url}?token={token}", json=report)
        assert (delivered.status_code, delivered.json()) == (200, {"code": 0, "msg": "成功"})
        assert message()["status"] == "delivered"
    finally:
        aliyun.close()
