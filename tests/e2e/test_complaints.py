"""Complaints through the gateway of the embedded demo system: a hotline complaint to its call-back and
a reopening, an anonymous online complaint followed by its look-up code, a complaint about a cadre
kept from them, a complaint raised on a visit linked to it, an early-warning burst on the dashboard's
gauge, and bad input refused."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from shared.clock import today_in_china
from tests.support import embedded_system, login, wait_until

pytestmark = pytest.mark.e2e
QS = "431099101"
HOTLINE = {"kind": "dispute", "network": "mediation", "category": "water", "channel": "hotline",
           "village_code": f"{QS}006", "description": "灌溉渠被邻组堵塞，秧田缺水",
           "complainant": {"name": "周九", "phone": "13912340000"}}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with embedded_system(tmp_path_factory.mktemp("complaints")) as (base, _), \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def staff(client):
    supervisor = login(client, "qs_supervisor")
    people = {s["username"]: s["id"] for s in client.get("/staff", headers=supervisor, params={"limit": 500}).json()}
    return {"supervisor": supervisor, "ids": people, "cadre": login(client, "qs_cadre1"),
            "cadre2": login(client, "qs_cadre2"), "agent": login(client, "qs_agent1"), "admin": login(client, "admin")}


def _register(client, headers, body):
    # the complaints service learns the demo's villages and staff from the directory's events at start-up
    return wait_until(lambda: (r := client.post("/complaints", json=body, headers=headers)).status_code == 201
                      and r.json(), 15, "complaints knows the township")


def test_a_hotline_complaint_from_registration_to_call_back_and_a_reopening(client, staff):
    registered = _register(client, staff["agent"], HOTLINE)
    complaint = registered["complaint"]
    ref = complaint["receipt_no"]
    assert ref.startswith(f"{QS}-TS") and complaint["status"] == "registered" and complaint["stage"] == "assign"

    def act(who, **action):
        response = client.post(f"/complaints/{ref}/actions", json=action, headers=staff[who])
        assert response.status_code == 200, response.text
        return response.json()

    act("supervisor", action="assign", staff_id=staff["ids"]["qs_cadre1"])
    inbox = client.get("/complaints", headers=staff["cadre"], params={"mine": True}).json()
    assert [x["receipt_no"] for x in inbox] == [ref]
    act("cadre", action="sign")
    act("cadre", action="mediate", note="两组组长到场调解", parties=["周九", "邻组组长"], agreement=True)
    act("cadre", action="reply", note="渠道已疏通，约定轮灌时间")
    refused = client.post(f"/complaints/{ref}/actions", json={"action": "call_back", "rating": 5, "resolved": True},
                          headers=staff["cadre"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_independent"
    assert act("supervisor", action="call_back", rating=2, resolved=False)["status"] == "closed_unresolved"
    missing = client.post(f"/complaints/{ref}/actions", json={"action": "reopen"}, headers=staff["supervisor"])
    assert missing.status_code == 422
    assert act("supervisor", action="reopen", reason="回访：又被堵上了")["reopen_count"] == 1
    act("cadre", action="reply", note="加装闸门，村规民约约束")
    closed = act("supervisor", action="call_back", rating=5, resolved=True)
    assert closed["status"] == "closed_resolved"
    assert [h["action"] for h in closed["history"]] == ["register", "assign", "sign", "mediate", "reply", "call_back",
                                                         "reopen", "reply", "call_back"]
    public = client.get(f"/public/complaints/{ref}", params={"code": "0000"}).json()
    assert public["status"] == "closed_resolved" and public["reply"] == "加装闸门，村规民约约束"
    assert "周九" not in str(public)


def test_an_anonymous_online_complaint_is_followed_by_its_look_up_code(client):
    made = client.post("/public/complaints", json={"kind": "petition", "category": "social_assistance",
                                                   "village_code": f"{QS}007", "description": "低保评定不公开"})
    assert made.status_code == 201, made.text
    code, ref = made.json()["lookup_code"], made.json()["complaint"]["receipt_no"]
    assert client.get(f"/public/complaints/{ref}", params={"code": code}).json()["status"] == "registered"
    wrong = client.get(f"/public/complaints/{ref}", params={"code": "ABCDEFGH"})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "complaint_not_found"


def test_a_complaint_about_a_cadre_never_shows_them_who_complained(client, staff):
    accused = staff["ids"]["qs_cadre2"]
    ref = _register(client, staff["agent"], {
        **HOTLINE, "kind": "staff_conduct", "network": "services", "category": "staff_conduct",
        "description": "办理低保时态度恶劣", "accused_staff_id": accused})["complaint"]["id"]
    seen = client.get(f"/complaints/{ref}", headers=staff["cadre2"]).json()
    assert seen["complainant_name"] is None and seen["complainant_phone"] is None
    assert "周九" not in client.get("/complaints", headers=staff["cadre2"]).text
    refused = client.post(f"/complaints/{ref}/actions", json={"action": "assign", "staff_id": accused},
                          headers=staff["supervisor"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "accused_cannot_handle"
    finding = client.post(f"/complaints/{ref}/actions", headers=staff["admin"],
                          json={"action": "finding", "finding": "substantiated", "reason": "经核查属实"})
    assert finding.json()["finding"] == "substantiated"
    lx = login(client, "lx_supervisor")
    assert client.get(f"/complaints/{ref}", headers=lx).status_code == 404


def test_a_complaint_raised_on_a_visit_is_linked_to_it(client, staff):
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    visit = client.post("/visits", headers=staff["supervisor"], json={
        "kind": "appointment", "title": "上门接访", "village_code": f"{QS}008", "place": "村部", "day": tomorrow,
        "starts": "15:00", "ends": "17:00", "staff_ids": [staff["ids"]["qs_nongji"]]}).json()
    body = {**HOTLINE, "channel": "visit", "visit_id": visit["id"], "village_code": f"{QS}008"}
    receipt = _register(client, staff["supervisor"], body)["complaint"]["receipt_no"]
    linked = wait_until(lambda: client.get(f"/visits/{visit['id']}", headers=staff["supervisor"]).json()["linked"],
                        10, "the visit learns of the complaint")
    assert [(x["kind"], x["ref"]) for x in linked] == [("complaint", receipt)]


def test_a_burst_of_similar_complaints_raises_one_early_warning(client, staff):
    burst = {**HOTLINE, "category": "roads", "village_code": f"{QS}009", "description": "村道塌方无人管"}
    receipts = [_register(client, staff["agent"], burst)["complaint"]["receipt_no"] for _ in range(3)]
    [alert] = [a for a in client.get("/early-warnings", headers=staff["supervisor"]).json()
               if a["village_code"] == f"{QS}009"]
    assert (alert["rule"], alert["count"], alert["complaints"]) == ("burst", 3, receipts)
    gauge = wait_until(lambda: [line for line in client.get("/metrics").text.splitlines()
                                if line.startswith(f'cunban_early_warnings_open{{township="{QS}"}}')
                                and not line.endswith(" 0.0")], 10, "the gauge shows the alert")
    assert gauge
    done = client.post(f"/early-warnings/{alert['id']}/acknowledge", json={"note": "已安排修复"},
                       headers=staff["supervisor"])
    assert done.json()["status"] == "acknowledged"


@pytest.mark.parametrize(("change", "code"), [
    ({"village_code": "431099102001"}, "village_outside_township"),
    ({"kind": "staff_conduct"}, "validation_failed"),  # names nobody
    ({"channel": "market_day"}, "validation_failed"),  # names no session
    ({"complainant": {"name": "周九", "phone": "12345"}}, "validation_failed"),
])
def test_bad_complaints_get_a_clear_422(client, staff, change, code):
    response = client.post("/complaints", json={**HOTLINE, **change}, headers=staff["agent"])
    assert response.status_code == 422 and response.json()["error"]["code"] == code


def test_the_api_says_what_each_person_may_do_now_and_what_waits_for_them(client, staff):
    """GET /complaints/{ref} lists `allowed_actions` for the caller and `working_days_left` on the stage;
    GET /complaints?waiting=true and /complaints/waiting-counts answer what waits for the caller."""
    ref = _register(client, staff["agent"], {**HOTLINE, "description": "机耕道被冲断"})["complaint"]["receipt_no"]

    def seen(who):
        response = client.get(f"/complaints/{ref}", headers=staff[who])
        assert response.status_code == 200, response.text
        return response.json()

    assert seen("supervisor")["allowed_actions"] == ["assign", "extend"]
    assert seen("supervisor")["working_days_left"] in (0, 1)  # 分派 within one working day
    assert seen("cadre")["allowed_actions"] == []
    waiting = client.get("/complaints", headers=staff["supervisor"], params={"waiting": True, "limit": 200}).json()
    assert ref in [x["receipt_no"] for x in waiting]
    client.post(f"/complaints/{ref}/actions", headers=staff["supervisor"],
                json={"action": "assign", "staff_id": staff["ids"]["qs_cadre2"]}).raise_for_status()
    assert seen("cadre2")["allowed_actions"] == ["sign", "send_back"]
    counts = client.get("/complaints/waiting-counts", headers=staff["cadre2"])
    assert counts.status_code == 200 and counts.json()["waiting"] >= 1, counts.text
    mine = client.get("/complaints", headers=staff["cadre2"], params={"waiting": True}).json()
    assert ref in [x["receipt_no"] for x in mine] and len(mine) == counts.json()["waiting"]
    assert client.get("/complaints/waiting-counts").status_code == 401
