"""Applications through the gateway, as a station and a villager use them: filing with an
Idempotency-Key, the retry that must not file twice, masking, the public look-up that never shows
personal data and stops guessing, light records, and bad input that stores nothing."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from shared.clock import today_in_china
from tests.support import APPLICANT, FILING, QS, SECRETS, created, embedded_system, login, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # the test client stands in for the county's ingress: villagers' addresses come in X-Forwarded-For
    env = {"CUNBAN_TRUSTED_PROXIES": "127.0.0.1/32"}
    with embedded_system(tmp_path_factory.mktemp("intake"), env=env) as (base, process), \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client, process


@pytest.fixture(scope="module")
def client(api) -> httpx.Client:
    return api[0]


@pytest.fixture(scope="module")
def agent(client):
    return login(client, "qs_agent1")


@pytest.fixture(scope="module")
def filed(client, agent):
    response = client.post("/applications", json=FILING, headers={**agent, "Idempotency-Key": "e2e-proxy-0001"})
    assert response.status_code == 201, response.text
    return response.json()


def test_filing_returns_a_receipt_number_and_the_accountable_contact(filed, client, agent):
    assert filed["receipt_no"].startswith(f"{QS}-") and filed["status"] == "received"
    me = client.get("/auth/me", headers=agent).json()
    assert filed["accountable_staff_id"] == me["id"]
    assert filed["applicant"]["id_card"] == APPLICANT["id_card"]  # the receiver handles the case


def test_a_retry_returns_the_same_application_and_files_nothing_new(filed, client, agent):
    before = client.get("/applications", headers=agent, params={"mine": True}).json()["items"]
    again = client.post("/applications", json=FILING, headers={**agent, "Idempotency-Key": "e2e-proxy-0001"})
    assert again.status_code == 201 and again.json()["receipt_no"] == filed["receipt_no"]
    after = client.get("/applications", headers=agent, params={"mine": True}).json()["items"]
    assert len(after) == len(before)
    changed = client.post("/applications", json={**FILING, "description": "不同"},
                          headers={**agent, "Idempotency-Key": "e2e-proxy-0001"})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_key_reused"


def test_another_staff_member_sees_the_applicant_masked(filed, client):
    cadre = login(client, "qs_cadre1")
    seen = client.get(f"/applications/{filed['receipt_no']}", headers=cadre).json()
    assert seen["applicant"]["masked"] is True and seen["applicant"]["phone"] == "136****5678"
    listed = client.get("/applications", headers=cadre).json()["items"]
    assert listed and all(a["applicant"]["masked"] for a in listed)  # qs_cadre1 handles none of them
    other_township = login(client, "lx_cadre1")
    assert client.get(f"/applications/{filed['receipt_no']}", headers=other_township).status_code == 404


def test_the_public_look_up_shows_progress_and_nothing_personal(filed, client):
    response = client.get(f"/public/applications/{filed['receipt_no']}", params={"phone_last4": "5678"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "received" and body["item_name"] == "农村最低生活保障申请"
    for secret in SECRETS:
        assert secret not in response.text


def test_wrong_guesses_look_like_unknown_numbers_and_then_lock(filed, client):
    unknown = client.get(f"/public/applications/{QS}-20200101-0001", params={"phone_last4": "5678"})
    for _ in range(5):
        wrong = client.get(f"/public/applications/{filed['receipt_no']}", params={"phone_last4": "0000"})
        assert wrong.status_code == 404
        assert (wrong.json()["error"]["code"], wrong.json()["error"]["message"]) == \
            (unknown.json()["error"]["code"], unknown.json()["error"]["message"])
    locked = client.get(f"/public/applications/{filed['receipt_no']}", params={"phone_last4": "5678"})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "lookup_locked"


def test_behind_the_ingress_one_villagers_wrong_look_ups_do_not_lock_out_another(client, agent):
    receipt = client.post("/applications", json=FILING, headers=agent).json()["receipt_no"]
    guesser, villager = {"X-Forwarded-For": "100.64.0.1"}, {"X-Forwarded-For": "6.6.6.6, 100.64.0.2"}

    def look_up(number: str, digits: str, headers: dict[str, str]) -> int:
        return client.get(f"/public/applications/{number}", params={"phone_last4": digits}, headers=headers).status_code

    assert all(look_up(f"{QS}-20200101-{i:04d}", "0000", guesser) == 404 for i in range(25))
    assert look_up(receipt, "5678", guesser) == 200  # many wrong look-ups from one address lock no one else's
    assert all(look_up(receipt, "0000", guesser) == 404 for _ in range(5))
    assert look_up(receipt, "5678", guesser) == 429  # that address at that receipt: locked
    assert look_up(receipt, "5678", villager) == 200  # the villager, on another address behind the ingress


def test_an_immediate_item_is_completed_at_a_market_day_post(client, agent):
    supervisor = login(client, "qs_supervisor")
    today = today_in_china()
    sessions = client.post("/sessions/generate", headers=supervisor, json={
        "site_code": "QS-JISHI", "start": today.isoformat(), "end": (today + timedelta(days=14)).isoformat()}).json()
    filing = {"item_code": "YB-002", "channel": "market_day", "session_id": sessions[0]["id"],
              "applicant": {**APPLICANT, "village_code": f"{QS}001"}, "materials_provided": ["身份证", "户口簿"],
              "complete_now": True, "result_note": "当场登记参保"}
    response = wait_until(lambda: created(client.post("/applications", json=filing,
                                                       headers={**agent, "Idempotency-Key": "e2e-post-0001"})),
                          10, "intake learns of the session")
    assert response["status"] == "completed" and response["promised_deadline"]
    assert response["session_id"] == sessions[0]["id"]


@pytest.mark.parametrize("change,status,code", [
    ({"item_code": "NOPE-99"}, 422, "unknown_item"),
    ({"applicant": {**APPLICANT, "village_code": "431099102001"}}, 422, "village_outside_township"),
    ({"applicant": {**APPLICANT, "id_card": "430124200102280044"}}, 422, "validation_failed"),
    ({"materials_provided": ["身份证"]}, 422, "materials_missing"),
    ({"channel": "market_day"}, 422, "validation_failed"),
])
def test_bad_filings_get_a_clear_4xx_and_store_nothing(client, agent, change, status, code):
    before = len(client.get("/applications", headers=agent, params={"limit": 200}).json()["items"])
    response = client.post("/applications", json={**FILING, **change}, headers=agent)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert len(client.get("/applications", headers=agent, params={"limit": 200}).json()["items"]) == before


def test_a_county_admin_cannot_file(client):
    admin = login(client, "admin")
    assert client.post("/applications", json=FILING, headers=admin).status_code == 403


def test_light_records_are_kept_per_township(client, agent):
    response = client.post("/consultations", headers=agent, json={
        "topic": "低保政策咨询", "channel": "station", "occurred_on": "2026-11-28", "people_count": 3})
    assert response.status_code == 201, response.text
    assert client.post("/service-activities", headers=agent, json={
        "category": "minor_medical", "title": "义诊", "place": "石门村卫生室", "held_on": "2026-11-27",
        "attendance": 80}).status_code == 201
    assert client.post("/practical-deeds", headers=agent, json={
        "description": "帮助五保户修缮房屋", "done_on": "2026-11-26", "beneficiaries": 1}).status_code == 201
    assert len(client.get("/consultations", headers=agent).json()) == 1
    assert client.get("/service-activities", headers=login(client, "lx_cadre1")).json() == []


def test_no_personal_data_reaches_the_log(api, filed):
    _, process = api
    log = process.log()
    for secret in ("13612345678", "430124200102280043"):
        assert secret not in log
