"""A county's SMS provider end to end on a migrated database: its settings (secrets encrypted, masked,
checked per provider), messages sent through the real Alibaba Cloud SDK against a local stand-in, a send
cut off midway resumed after the status query, and what providers report back — delivery reports (once;
unknown ids counted and ignored), 退订 replies (the next message is withheld), each verified by the county's
callback token or the http provider's signature."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.notifications.adapters import orm
from services.notifications.adapters.aliyun import AliyunProvider
from services.notifications.adapters.http_sms import signed_headers
from services.notifications.domain import sending as s
from services.notifications.service import NotificationsService
from services.notifications.service_layer import sending
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.errors import Forbidden, Unauthenticated, ValidationFailed
from shared.pii import PersonalDataVault
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY
from tests.sms_stand_in import StandIn

VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)
ADMIN = Caller(staff_id=1, username="admin", role=Role.COUNTY_ADMIN, county_code="431099")
COUNTY, QS, PHONE = "431099", "431099101", "13812345678"
TOKEN = "cb-token-0123456789abcdefghij"
HTTP_SECRET = "county-platform-secret"
NOON = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


@pytest.fixture
def db(migrated_db):
    return migrated_db("notifications", orm.Base.metadata)


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def service(db, caller: Caller = ADMIN):
    return worker_factory(NotificationsService, db=db.unit_of_work(), caller=WorkerCaller(caller), vault=VAULT)


def settings(provider: str, **account) -> dict:
    return {"provider": provider, "signature": "村办", "quiet_start": "00:00", "quiet_end": "00:00",
            "provider_settings": account}


def aliyun_county(db, endpoint: str = "127.0.0.1:9") -> dict:
    return service(db).set_county_settings(COUNTY, settings(
        "aliyun", access_key_id="LTAI5tTestTestTest", access_key_secret="aliyun-secret-value",
        callback_token=TOKEN, endpoint=f"http://{endpoint}"))


def filed(app_id: str = "app1", receipt: str = "QS-20261203-0001") -> dict:
    return {"id": app_id, "receipt_no": receipt, "township_code": QS, "station_code": "QS-SM",
            "village_code": f"{QS}001", "item_code": "dibao", "item_name": "农村低保申请", "item_kind": "promised",
            "handling_level": "township", "promised_days": 20, "channel": "station", "session_id": None,
            "visit_id": None, "accountable_staff_id": 7, "materials_provided": [], "filed_at": NOON.isoformat(),
            "required_materials": ["户口簿"], "completed_on_the_spot": False,
            "contact_check": VAULT.contact_check(receipt, PHONE[-4:])}


def deliver_filed(db, app_id: str = "app1", receipt: str = "QS-20261203-0001") -> None:
    envelope = EventEnvelope(source="intake", type="application_filed", occurred_at=NOON,
                             payload=filed(app_id, receipt), event_id=uuid.uuid4().hex).model_dump(mode="json")
    worker = service(db, Caller.system())
    worker.on_application_filed(envelope)
    worker.db.close()


def send_due(db, provider, now: datetime | None = None) -> list:
    now = now or utcnow() + timedelta(seconds=1)
    uow = db.unit_of_work()
    try:
        return [sending.send(uow, message_id, contacts={"application:app1": PHONE, "application:app2": PHONE}.get,
                             providers=lambda county: provider, vault=VAULT, now=now, clock=lambda: now)
                for message_id in sending.due(uow, now=now)]
    finally:
        uow.close()


def messages(db) -> list[orm.MessageRow]:
    with db.sessions() as session:
        return list(session.execute(select(orm.MessageRow).order_by(orm.MessageRow.id)).scalars())


def aliyun(stand_in: StandIn) -> AliyunProvider:
    return AliyunProvider(access_key_id="LTAI5tTestTestTest", access_key_secret="aliyun-secret-value",
                          endpoint=stand_in.endpoint, protocol="http", phone_of=lambda key: PHONE, timeout=5.0)


def report(db, provider: str, body, **verification) -> dict:
    return service(db, Caller.system()).delivery_reports(provider, COUNTY, {"body": json.dumps(body), **verification})


def reply(db, provider: str, body, **verification) -> dict:
    return service(db, Caller.system()).record_opt_outs(provider, COUNTY, {"body": json.dumps(body), **verification})


# ---- settings ----------------------------------------------------------------------------------------------

def test_a_countys_provider_settings_are_checked_stored_encrypted_and_never_shown(db):
    with pytest.raises(ValidationFailed) as missing:
        service(db).set_county_settings(COUNTY, settings("aliyun", access_key_id="LTAI5tTestTestTest"))
    assert missing.value.code == "provider_settings_invalid"
    view = aliyun_county(db)
    assert view["provider"] == "aliyun"
    assert view["provider_settings"] == {"access_key_id": "LTAI…Test", "access_key_secret": True,
                                         "sdk_app_id": None, "region": None, "endpoint": "http://127.0.0.1:9",
                                         "http_url": None, "http_secret": False, "callback_token": True}
    with db.sessions() as session:
        stored = session.get(orm.CountySettingsRow, COUNTY).provider_settings
    assert "aliyun-secret-value" not in json.dumps(stored) and TOKEN not in json.dumps(stored)
    again = service(db).set_county_settings(COUNTY, {"provider": "aliyun", "daily_cap": 5})
    assert again["daily_cap"] == 5 and again["provider_settings"] == view["provider_settings"]  # all kept
    assert service(db).county_settings(COUNTY)["provider_settings"]["callback_token"] is True


# ---- sending through Alibaba Cloud, and what it reports back ---------------------------------------------

def _save_template_code(db, code: str | None = "SMS_100001") -> None:
    service(db).save_template(COUNTY, "application_filed", {
        "text": "您的${item}申请已受理，编号${receipt_no}。", "provider_template": code})


def test_a_message_goes_by_template_code_and_its_delivery_report_is_applied_once(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    stand_in.answer((200, {"Code": "OK", "Message": "OK", "BizId": "biz-1", "RequestId": "r"}))
    assert send_due(db, aliyun(stand_in)) == [s.Status.SENT]
    sent = stand_in.requests[0]["query"]
    assert (sent["TemplateCode"], json.loads(sent["TemplateParam"])) == (
        "SMS_100001", {"item": "农村低保申请", "receipt_no": "QS-20261203-0001"})  # in the template's order
    [message] = messages(db)
    assert (message.status, message.provider, message.provider_message_id) == ("sent", "aliyun", "biz-1")

    delivered = [{"phone_number": PHONE, "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
                  "biz_id": "biz-1", "out_id": message.send_key, "report_time": "2026-12-03 12:00:05"}]
    assert report(db, "aliyun", delivered, token=TOKEN) == {"received": 1, "applied": 1, "unknown": 0}
    assert report(db, "aliyun", delivered, token=TOKEN) == {"received": 1, "applied": 0, "unknown": 0}  # duplicate
    failed_late = [{**delivered[0], "success": False, "err_code": "MK:0001"}]
    assert report(db, "aliyun", failed_late, token=TOKEN)["applied"] == 0  # the first report stands
    stranger = [{**delivered[0], "biz_id": "never-sent", "out_id": "nope"}]
    assert report(db, "aliyun", stranger, token=TOKEN) == {"received": 1, "applied": 0, "unknown": 1}
    [message] = messages(db)
    assert message.status == "delivered" and message.reported_at is not None


def test_an_undelivered_report_keeps_the_providers_reason(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    stand_in.answer((200, {"Code": "OK", "BizId": "biz-2"}))
    send_due(db, aliyun(stand_in))
    undelivered = [{"phone_number": PHONE, "success": False, "err_code": "MK:0012", "biz_id": "biz-2"}]
    assert report(db, "aliyun", undelivered, token=TOKEN)["applied"] == 1
    [message] = messages(db)
    assert (message.status, message.error) == ("undelivered", "undelivered: MK:0012")


def test_a_template_without_a_provider_code_fails_for_good(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    deliver_filed(db)
    stand_in.answer((200, {"Code": "OK", "BizId": "x"}))
    assert send_due(db, aliyun(stand_in)) == [s.Status.FAILED]
    assert stand_in.requests == [] and "TemplateCode" in messages(db)[0].error


def test_throttling_waits_and_tries_again(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    stand_in.answer((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
                    (200, {"Code": "OK", "BizId": "biz-3"}))
    now = utcnow() + timedelta(seconds=1)
    assert send_due(db, aliyun(stand_in), now) == [s.Status.WAITING]
    assert send_due(db, aliyun(stand_in), now + s.FIRST_RETRY) == [s.Status.SENT]
    assert messages(db)[0].provider_message_id == "biz-3" and messages(db)[0].attempts == 2


def _cut_off(db) -> datetime:
    start = utcnow() + timedelta(seconds=1)
    uow = db.unit_of_work()
    for message in uow.session.execute(select(orm.MessageRow)).scalars():  # what a killed sender leaves
        message.status, message.lease_until, message.attempts = "sending", start + s.LEASE, 1
    uow.commit()
    uow.close()
    return start + s.LEASE + timedelta(seconds=1)


def test_a_cut_off_send_found_by_the_status_query_is_not_sent_again(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    later = _cut_off(db)
    key = messages(db)[0].send_key
    stand_in.answer((200, {"Code": "OK", "TotalCount": 1, "SmsSendDetailDTOs": {"SmsSendDetailDTO": [
        {"OutId": key, "PhoneNum": PHONE, "SendStatus": 3}]}}))
    assert send_due(db, aliyun(stand_in), later) == [s.Status.SENT]
    assert stand_in.actions() == ["QuerySendDetails"]  # asked, and not sent twice
    # its delivery report (with Alibaba Cloud's BizId, which the query does not give) is matched by OutId
    delivered = [{"phone_number": PHONE, "success": True, "biz_id": "biz-9", "out_id": key}]
    assert report(db, "aliyun", delivered, token=TOKEN)["applied"] == 1


def test_a_cut_off_send_the_provider_never_got_is_sent(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    later = _cut_off(db)
    nothing = {"Code": "OK", "TotalCount": 0, "SmsSendDetailDTOs": {"SmsSendDetailDTO": []}}
    stand_in.answer((200, nothing), (200, nothing), (200, {"Code": "OK", "BizId": "biz-4"}))
    assert send_due(db, aliyun(stand_in), later) == [s.Status.SENT]
    assert stand_in.actions() == ["QuerySendDetails", "QuerySendDetails", "SendSms"]


# ---- verification -----------------------------------------------------------------------------------------

def test_callbacks_without_the_countys_token_or_signature_are_refused(db):
    with pytest.raises(Unauthenticated) as not_configured:
        report(db, "aliyun", [], token=TOKEN)
    assert not_configured.value.code == "callback_not_configured"
    aliyun_county(db)
    for token in (None, "", TOKEN[:-1] + "X"):
        with pytest.raises(Unauthenticated) as refused:
            report(db, "aliyun", [], token=token)
        assert refused.value.code == "callback_unverified"
    with pytest.raises(Unauthenticated):
        reply(db, "tencent", {"mobile": PHONE, "text": "TD"}, token=TOKEN)  # not this county's provider
    assert report(db, "aliyun", [], token=TOKEN) == {"received": 0, "applied": 0, "unknown": 0}


def test_the_http_providers_callbacks_are_checked_by_their_signature(db):
    service(db).set_county_settings(COUNTY, settings("http", http_url="https://sms.example.gov.cn/send",
                                                     http_secret=HTTP_SECRET))
    body = json.dumps({"replies": [{"phone": PHONE, "text": "TD"}]}).encode()
    headers = signed_headers(HTTP_SECRET, body)
    callback = {"body": body.decode(), "timestamp": headers["X-Cunban-Timestamp"],
                "signature": headers["X-Cunban-Signature"]}
    worker = service(db, Caller.system())
    assert worker.record_opt_outs("http", COUNTY, callback)["applied"] == 1
    with pytest.raises(Unauthenticated) as forged:
        service(db, Caller.system()).record_opt_outs("http", COUNTY, {**callback, "body": body.decode() + " "})
    assert forged.value.code == "callback_unverified"
    with pytest.raises(Unauthenticated):
        service(db, Caller.system()).record_opt_outs("http", COUNTY, {**callback, "signature": "0" * 64})


def test_only_the_platform_itself_may_report(db):
    aliyun_county(db)
    for rpc in ("delivery_reports", "record_opt_outs"):
        with pytest.raises(Forbidden):
            getattr(service(db, ADMIN), rpc)("aliyun", COUNTY, {"body": "[]", "token": TOKEN})


# ---- 退订 -------------------------------------------------------------------------------------------------

def test_a_td_reply_opts_the_number_out_once_and_the_next_message_is_withheld(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    replies = [{"phone_number": f"86{PHONE}", "content": " td ", "sign_name": "村办", "dest_code": "1234"},
               {"phone_number": "13900001111", "content": "谢谢", "sign_name": "村办"}]
    assert reply(db, "aliyun", replies, token=TOKEN) == {"received": 2, "applied": 1, "unknown": 0}
    assert reply(db, "aliyun", replies, token=TOKEN)["applied"] == 0  # a duplicate uplink
    with db.sessions() as session:
        [opted_out] = session.execute(select(orm.OptOutRow)).scalars()
    assert (opted_out.phone_hash, opted_out.source) == (VAULT.search_hash(PHONE), "aliyun")
    deliver_filed(db)
    stand_in.answer((200, {"Code": "OK", "BizId": "should-not-be-sent"}))
    assert send_due(db, aliyun(stand_in)) == [s.Status.WITHHELD]
    assert stand_in.requests == [] and messages(db)[0].withheld == "opted_out"


def test_tencent_replies_and_reports_in_tencents_format(db):
    service(db).set_county_settings(COUNTY, settings(
        "tencent", access_key_id="AKIDtesttesttest", access_key_secret="tencent-secret", sdk_app_id="1400006666",
        callback_token=TOKEN))
    uplink = {"extend": "", "mobile": PHONE, "nationcode": "86", "sign": "村办", "text": "退订", "time": 1764734400}
    assert reply(db, "tencent", uplink, token=TOKEN)["applied"] == 1
    unknown = [{"user_receive_time": "2026-12-03 12:00:01", "nationcode": "86", "mobile": PHONE,
                "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "x"}]
    assert report(db, "tencent", unknown, token=TOKEN) == {"received": 1, "applied": 0, "unknown": 1}
    with pytest.raises(ValidationFailed) as garbled:
        report(db, "tencent", "not a list of reports", token=TOKEN)
    assert garbled.value.code == "callback_invalid"


# ---- each county's provider, built from its settings ---------------------------------------------------------

def test_a_countys_provider_is_built_from_its_settings_and_rebuilt_when_they_change(db):
    from types import SimpleNamespace

    from services.notifications.adapters.providers import LogProvider, Providers
    from services.notifications.adapters.tencent import TencentProvider
    providers = Providers()
    providers.database, providers.personal_data = SimpleNamespace(db=db), SimpleNamespace(vault=VAULT)
    providers.contacts, providers._built = None, {}
    assert isinstance(providers.for_county(COUNTY), LogProvider)  # no settings yet
    aliyun_county(db)
    first = providers.for_county(COUNTY)
    assert isinstance(first, AliyunProvider) and providers.for_county(COUNTY) is first  # kept
    assert first.client._endpoint == "127.0.0.1:9"
    service(db).set_county_settings(COUNTY, settings("tencent", access_key_id="AKIDtesttesttest",
                                                     access_key_secret="tencent-secret", sdk_app_id="1400006666",
                                                     callback_token=TOKEN))
    assert isinstance(providers.for_county(COUNTY), TencentProvider)  # rebuilt: the settings changed
    assert providers.phone_of("no-such-key") is None


def test_a_cut_off_send_whose_status_cannot_be_learned_is_never_sent_blind(db, stand_in):
    aliyun_county(db, stand_in.endpoint)
    _save_template_code(db)
    deliver_filed(db)
    later = _cut_off(db)
    stand_in.answer((503, {"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "r"}))
    provider = aliyun(stand_in)
    for attempt in range(2, s.ATTEMPTS + 1):
        outcome = send_due(db, provider, later)
        assert outcome == [s.Status.SENDING if attempt < s.ATTEMPTS else s.Status.FAILED], attempt
        later += s.LEASE + timedelta(seconds=1)  # asked again when its lease ends
    assert set(stand_in.actions()) == {"QuerySendDetails"}  # never sent without knowing
    [message] = messages(db)
    assert message.status == "failed" and message.error.startswith("status unknown: aliyun: ServiceUnavailable")


def test_a_cut_off_tencent_send_is_looked_up_by_session_context_before_it_goes_again(db, stand_in):
    from services.notifications.adapters.tencent import TencentProvider
    service(db).set_county_settings(COUNTY, settings(
        "tencent", access_key_id="AKIDtesttesttest", access_key_secret="tencent-secret", sdk_app_id="1400006666",
        callback_token=TOKEN))
    _save_template_code(db, "1234567")
    deliver_filed(db)
    deliver_filed(db, "app2", "QS-20261203-0002")
    later = _cut_off(db)
    first, second = messages(db)
    tencent = TencentProvider(secret_id="AKIDtesttesttest", secret_key="tencent-secret", sdk_app_id="1400006666",
                              endpoint=stand_in.endpoint, protocol="http", phone_of=lambda key: PHONE)
    pulled = {"Response": {"RequestId": "r", "PullSmsSendStatusSet": [{
        "SerialNo": "2433:found", "PhoneNumber": f"+86{PHONE}", "ReportStatus": "SUCCESS",
        "SessionContext": first.send_key}]}}
    sent = {"Response": {"RequestId": "r", "SendStatusSet": [{
        "SerialNo": "2433:new", "PhoneNumber": f"+86{PHONE}", "SessionContext": second.send_key, "Code": "Ok"}]}}
    stand_in.answer((200, pulled), (200, pulled), (200, sent))
    assert send_due(db, tencent, later) == [s.Status.SENT, s.Status.SENT]
    assert stand_in.actions() == ["PullSmsSendStatusByPhoneNumber", "PullSmsSendStatusByPhoneNumber", "SendSms"]
    assert json.loads(stand_in.requests[2]["body"])["TemplateParamSet"] == ["农村低保申请", "QS-20261203-0002"]
    assert [m.provider_message_id for m in messages(db)] == ["2433:found", "2433:new"]
    delivered = [{"mobile": PHONE, "nationcode": "86", "report_status": "SUCCESS", "sid": "2433:new"}]
    assert report(db, "tencent", delivered, token=TOKEN)["applied"] == 1
