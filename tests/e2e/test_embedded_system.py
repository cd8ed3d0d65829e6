"""The embedded system as a person would use it: `cunban up` on SQLite with the in-process broker, the
demo county loaded, everything through the gateway over HTTP."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from datetime import date

import httpx
import pytest

from shared.clock import today_in_china
from tests.support import created, embedded_system, login, wait_until

pytestmark = pytest.mark.e2e
QS, LX = "431099101", "431099102"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    with embedded_system(data) as (base, process), httpx.Client(base_url=base, timeout=30) as client:
        yield {"client": client, "process": process, "data": data, "base": base}


@pytest.fixture(scope="module")
def client(system) -> httpx.Client:
    return system["client"]


@pytest.fixture(scope="module")
def admin(client):
    return login(client, "admin")


@pytest.fixture(scope="module")
def qs_supervisor(client):
    return login(client, "qs_supervisor")


def test_health_readiness_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    spec = client.get("/openapi.json").json()
    assert "/public/townships/{code}/catalogue" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_the_public_catalogue_needs_no_sign_in(client):
    items = client.get(f"/public/townships/{QS}/catalogue").json()
    assert len(items) == 10
    assert {i["category"] for i in items} == {"agency", "farming", "culture_sport", "minor_medical", "mediation",
                                              "approval"}
    fee = next(i for i in items if i["fee_yuan"] != "0.00")
    assert fee["fee_legal_basis"]
    assert all(i["supervision_method"] for i in items)
    only_mediation = client.get(f"/public/townships/{QS}/catalogue", params={"category": "mediation"}).json()
    assert [i["code"] for i in only_mediation] == ["TJ-007"]


def test_login_and_me(client, qs_supervisor):
    me = client.get("/auth/me", headers=qs_supervisor).json()
    assert me["username"] == "qs_supervisor" and me["township_code"] == QS and me["role"] == "supervisor"


def test_bad_credentials_are_401_with_a_stable_code(client):
    response = client.post("/auth/login", json={"username": "qs_supervisor", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_credentials"


def test_a_township_sees_only_itself_and_the_county_sees_all(client, admin, qs_supervisor):
    assert [t["code"] for t in client.get("/townships", headers=qs_supervisor).json()] == [QS]
    assert len(client.get("/townships", headers=admin).json()) == 3
    for path in (f"/townships/{LX}", f"/villages/{LX}001", f"/stations/ST{LX}001", f"/catalogue/{LX}/DB-001",
                 "/market-sites/LX-JISHI"):
        response = client.get(path, headers=qs_supervisor)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"].endswith("_not_found")
        assert client.get(path, headers=admin).status_code == 200, path
    assert client.get("/villages", params={"township_code": LX}, headers=qs_supervisor).status_code == 404
    staff = client.get("/staff", headers=qs_supervisor, params={"limit": 500}).json()
    assert staff and {s["township_code"] for s in staff} == {QS}
    villages = client.get("/villages", headers=qs_supervisor).json()
    assert len(villages) == 10 and {v["township_code"] for v in villages} == {QS}


def test_writes_into_another_township_are_forbidden(client, qs_supervisor):
    item = {"township_code": LX, "code": "NEW-1", "name": "跨镇事项", "category": "agency",
            "handling_level": "village", "eligible_applicants": "村民", "procedure_steps": ["登记"],
            "promised_days": 1, "supervision_method": "12345"}
    response = client.post("/catalogue", json=item, headers=qs_supervisor)
    assert response.status_code == 403


def test_catalogue_crud_within_scope(client, qs_supervisor):
    item = {"township_code": QS, "code": "HJ-011", "name": "户籍证明代办", "category": "agency",
            "handling_level": "township", "eligible_applicants": "本镇户籍居民",
            "procedure_steps": ["代收", "派出所出具"],
            "required_materials": ["身份证"], "promised_days": 3, "supervision_method": "监督电话 0731-88120101"}
    created = client.post("/catalogue", json=item, headers=qs_supervisor)
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "promised"
    assert client.post("/catalogue", json=item, headers=qs_supervisor).status_code == 409
    patched = client.patch(f"/catalogue/{QS}/HJ-011", json={"promised_days": 0}, headers=qs_supervisor).json()
    assert patched["kind"] == "immediate" and patched["version"] == 2
    public_codes = [i["code"] for i in client.get(f"/public/townships/{QS}/catalogue").json()]
    assert "HJ-011" in public_codes
    withdrawn = client.delete(f"/catalogue/{QS}/HJ-011", headers=qs_supervisor).json()
    assert withdrawn["status"] == "withdrawn"
    assert "HJ-011" not in [i["code"] for i in client.get(f"/public/townships/{QS}/catalogue").json()]


def test_a_cadre_reads_but_cannot_change_the_catalogue(client):
    cadre = login(client, "qs_cadre1")
    assert client.get("/catalogue", headers=cadre).status_code == 200
    response = client.patch(f"/catalogue/{QS}/DB-001", json={"name": "x"}, headers=cadre)
    assert response.status_code == 403 and response.json()["error"]["code"] == "role_not_allowed"


def test_supervisor_adds_staff_who_can_then_sign_in(client, qs_supervisor):
    response = client.post("/staff", headers=qs_supervisor, json={
        "username": "qs_agent9", "full_name": "新代办员", "role": "village_agent", "township_code": QS,
        "station_code": f"ST{QS}002", "phone": "13812345678", "password": "a-long-password"})
    assert response.status_code == 201, response.text
    agent = login(client, "qs_agent9", "a-long-password")
    assert client.get("/auth/me", headers=agent).json()["station_code"] == f"ST{QS}002"


def test_calendar_status_warns_about_next_year_and_admin_can_fix_it(client, admin, qs_supervisor):
    status = client.get("/calendar/status", headers=qs_supervisor).json()
    assert 2026 in status["official_years"]
    assert status["next_year_missing"] is (2027 not in status["official_years"])
    days_2026 = client.get("/calendar/2026", headers=qs_supervisor).json()
    assert any(d["day"] == "2026-10-01" and d["kind"] == "holiday" and not d["working"] for d in days_2026)
    assert any(d["day"] == "2026-10-10" and d["kind"] == "makeup_workday" and d["working"] for d in days_2026)
    response = client.put("/calendar/days/2026-12-18", json={"kind": "local_day_off", "name": "县庆"},
                          headers=admin)
    assert response.status_code == 200 and response.json()["working"] is False
    assert client.put("/calendar/days/2026-12-18", json={"kind": "local_day_off", "name": "x"},
                      headers=qs_supervisor).status_code == 403
    assert client.delete("/calendar/days/2026-12-18", headers=admin).status_code == 204
    assert client.delete("/calendar/days/2026-12-18", headers=admin).status_code == 404


def _next_year_gauge(client) -> str:
    line = next(x for x in client.get("/metrics").text.splitlines()
                if x.startswith('cunban_calendar_next_year_missing{county="431099"}'))
    return line.split()[-1]


def test_one_hand_entered_day_leaves_next_year_missing_until_the_admin_marks_it_complete(client, admin,
                                                                                        qs_supervisor):
    year = client.get("/calendar/status", headers=qs_supervisor).json()["next_year"]
    response = client.put(f"/calendar/days/{year}-01-01", json={"kind": "holiday", "name": "元旦",
                                                                "source": "official"}, headers=admin)
    assert response.status_code == 200, response.text
    status = client.get("/calendar/status", headers=qs_supervisor).json()
    assert status["next_year_missing"] is True and year not in status["loaded_years"]
    today = date.fromisoformat(status["today"])
    assert status["days_until_next_year"] == (date(year, 1, 1) - today).days
    if today.month >= 11:
        assert f"starts in {status['days_until_next_year']} day" in status["warning"]
    assert _next_year_gauge(client) == "1.0"
    assert client.put(f"/calendar/years/{year}/complete", headers=qs_supervisor).status_code == 403

    response = client.put(f"/calendar/years/{year}/complete", headers=admin)

    assert response.status_code == 200, response.text
    completed = response.json()
    assert completed["completed_by"] == "admin" and completed["basis"] == "county" and completed["completed_at"]
    assert _next_year_gauge(client) == "0.0"  # at once, not after the timer
    status = client.get("/calendar/status", headers=qs_supervisor).json()
    assert status["next_year_missing"] is False and (status["warning"] is None or status["this_year_missing"])
    assert client.put(f"/calendar/years/{year}/complete", headers=admin).json() == completed
    assert client.get("/calendar/years", headers=qs_supervisor).json()[-1] == completed
    response = client.put("/calendar/years/2090/complete", headers=admin)
    assert response.status_code == 409 and response.json()["error"]["code"] == "calendar_year_empty"


@pytest.mark.parametrize("method,path,body,status,code", [
    ("GET", "/townships", None, 401, "token_missing"),
    ("POST", "/auth/login", {"username": "x"}, 422, "validation_failed"),
    ("POST", "/catalogue", {"township_code": QS, "code": "X"}, 422, "validation_failed"),
    ("POST", "/townships", {"code": "431099109", "name": "新镇", "extra": 1}, 422, "validation_failed"),
    ("GET", "/townships/12", None, 422, "validation_failed"),
    ("GET", "/townships?limit=0", None, 422, "validation_failed"),
    ("GET", "/staff/0", None, 422, "validation_failed"),
    ("GET", "/staff/99999999999999", None, 422, "validation_failed"),
    ("GET", "/calendar/1800", None, 422, "validation_failed"),
    ("PUT", "/calendar/days/2026-13-01", {"kind": "local_day_off", "name": "x"}, 422, "validation_failed"),
    ("PUT", "/calendar/days/2027-03-09", {"kind": "makeup_workday", "name": "调休", "source": "official"}, 422,
     "makeup_day_not_weekend"),  # a Tuesday
    ("PUT", "/calendar/range", {"from_day": "2027-02-12", "to_day": "2027-02-06", "kind": "holiday", "name": "春节",
                                "source": "official"}, 422, "calendar_range_invalid"),
    ("PUT", "/calendar/days/2026-12-31", {"kind": "holiday", "name": "x", "source": "official"}, 409,
     "calendar_year_complete"),  # 2026 came whole from the official data
    ("DELETE", "/calendar/days/2026-10-01", None, 409, "calendar_year_complete"),
    ("PATCH", f"/villages/{QS}001", {"name": "桃源村"}, 409, "village_name_taken"),
    ("PATCH", f"/stations/ST{QS}001", {"name": "桃源村农事村办服务站"}, 409, "station_name_taken"),
    ("GET", "/names?village=12", None, 422, "validation_failed"),
    ("GET", "/catalogue?category=lottery", None, 422, "validation_failed"),
    ("GET", "/no-such-route", None, 404, "route_not_found"),
    ("DELETE", "/townships", None, 405, "method_not_allowed"),
    ("GET", "/public/townships/431099199/catalogue", None, 404, "township_not_found"),
])
def test_bad_input_gets_a_clear_4xx(client, admin, method, path, body, status, code):
    headers = {} if status == 401 else admin
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["correlation_id"]


def test_malformed_json_and_bad_tokens(client):
    response = client.post("/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = client.get("/townships", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"


def test_the_correlation_id_comes_back(client):
    response = client.get("/healthz", headers={"X-Correlation-ID": "station-retry-0001"})
    assert response.headers["X-Correlation-ID"] == "station-retry-0001"


def test_metrics_cover_gateway_services_and_the_outbox(client):
    client.get("/townships")
    text = client.get("/metrics").text
    assert 'cunban_http_requests_total{method="GET",route="/townships",status="401"}' in text
    assert 'cunban_entrypoint_calls_total{entrypoint="public_catalogue",outcome="ok",service="directory"}' in text
    assert 'cunban_outbox_backlog_events{service="directory"}' in text
    assert 'cunban_events_published_total{service="directory",type="catalogue_item_changed"}' in text
    assert "cunban_calendar_next_year_missing" in text


def test_no_unmasked_phone_number_reaches_the_log(system):
    log = system["process"].log()
    assert "13812345678" not in log


def test_a_supervisor_configures_an_items_workflow(client, qs_supervisor):
    steps = [
        {"name": "village_review", "title": "村级审查并公示", "roles": ["village_committee"], "level": "village",
         "limit_days": 5, "on_approve": "township_review"},
        {"name": "township_review", "title": "乡镇审核", "roles": ["department_staff"], "level": "township",
         "limit_days": 10, "on_approve": "leader_signoff"},
        {"name": "leader_signoff", "title": "领导签批", "roles": ["supervisor"], "level": "township",
         "limit_days": 5, "on_approve": "approved"}]
    saved = client.put(f"/catalogue/{QS}/SP-008/workflow", json={"steps": steps}, headers=qs_supervisor)
    assert saved.status_code == 200, saved.text
    assert saved.json()["workflow"]["warning_share"] == 0.75
    looping = [*steps[:2], {**steps[2], "on_approve": "village_review"}]
    refused = client.put(f"/catalogue/{QS}/SP-008/workflow", json={"steps": looping}, headers=qs_supervisor)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "workflow_invalid"
    too_long = [{**s, "limit_days": 10} for s in steps]
    refused = client.put(f"/catalogue/{QS}/SP-008/workflow", json={"steps": too_long}, headers=qs_supervisor)
    assert refused.status_code == 422 and "add up to 30" in refused.text
    assert client.delete(f"/catalogue/{QS}/SP-008/workflow", headers=qs_supervisor).json()["custom_workflow"] is False


def test_next_months_market_days_of_a_demo_site(client, qs_supervisor):
    preview = client.get("/market-sites/QS-JISHI/market-days", params={"start": "2026-12-09", "end": "2027-01-07"},
                         headers=qs_supervisor)
    assert preview.status_code == 200, preview.text
    assert preview.json()["days"][:3] == ["2026-12-09", "2026-12-12", "2026-12-15"]  # 十一月初一, 初四, 初七
    public = client.get(f"/public/townships/{QS}/market-days").json()
    assert [c["site_code"] for c in public] == ["QS-JISHI"] and len(public[0]["days"]) >= 8
    assert client.get("/market-sites/QS-JISHI/market-days", params={"start": "2026-12-09", "end": "2030-01-01"},
                      headers=qs_supervisor).status_code == 422
    assert client.get("/market-sites/LX-JISHI/market-days", headers=qs_supervisor).status_code == 404


def test_sessions_roster_and_a_booking(client, qs_supervisor):
    from datetime import timedelta

    today = today_in_china()  # the sessions' days are China's
    plan = {"site_code": "QS-JISHI", "start": today.isoformat(), "end": (today + timedelta(days=40)).isoformat()}
    sessions = client.post("/sessions/generate", json=plan, headers=qs_supervisor)
    assert sessions.status_code == 200, sessions.text
    upcoming = [s for s in sessions.json() if s["day"] > today.isoformat()]
    assert len(upcoming) >= 8 and all(s["status"] == "scheduled" for s in upcoming)
    assert client.post("/sessions/generate", json=plan, headers=qs_supervisor).json() == sessions.json()
    me = client.get("/staff", headers=qs_supervisor, params={"limit": 500}).json()
    cadres = [s["id"] for s in me if s["role"] in ("township_cadre", "department_staff")]
    roster = client.post("/rosters/generate", headers=qs_supervisor, json={
        "start": plan["start"], "end": plan["end"], "site_code": "QS-JISHI", "cadre_ids": cadres, "per_session": 1})
    assert roster.status_code == 200, roster.text
    assert all(len(s["roster"]) == 1 for s in roster.json())
    first = upcoming[0]["id"]
    slots = client.post(f"/sessions/{first}/slots", json={"minutes": 60, "capacity": 1}, headers=qs_supervisor).json()
    booking = {"name": "郑十一", "phone": "13112345678", "topic": "残疾人证办理咨询"}
    booked = client.post(f"/public/slots/{slots[0]['id']}/bookings", json=booking)
    assert booked.status_code == 201 and booked.json()["phone"] == "131****5678"
    full = client.post(f"/public/slots/{slots[0]['id']}/bookings", json=booking)
    assert full.status_code == 409 and full.json()["error"]["code"] == "slot_full"
    assert client.post(f"/public/bookings/{booked.json()['id']}/cancel").json()["status"] == "cancelled"
    assert client.get(f"/public/sessions/{first}/slots").json()[0]["booked"] == 0


def test_a_county_day_off_cancels_the_session_on_it_and_lifting_it_offers_it_back(client, admin, qs_supervisor):
    from datetime import timedelta

    from shared.clock import today_in_china

    today = today_in_china()
    plan = {"site_code": "QS-JISHI", "start": today.isoformat(), "end": (today + timedelta(days=40)).isoformat()}
    sessions = client.post("/sessions/generate", json=plan, headers=qs_supervisor).json()
    target = [s for s in sessions if s["day"] > today.isoformat() and s["status"] == "scheduled"][-1]
    day = target["day"]

    def session():
        listed = client.get("/sessions", params={"start": day, "end": day}, headers=qs_supervisor).json()
        return next(s for s in listed if s["id"] == target["id"])

    response = client.put(f"/calendar/days/{day}", json={"kind": "local_day_off", "name": "县庆"}, headers=admin)
    assert response.status_code == 200, response.text
    cancelled = wait_until(lambda: (s := session())["status"] == "cancelled" and s, 30, "the day off to arrive")
    assert cancelled["day_off"] == "县庆" and cancelled["restorable"] is False
    refused = client.post(f"/sessions/{target['id']}/restore", headers=qs_supervisor)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_restorable"

    assert client.delete(f"/calendar/days/{day}", headers=admin).status_code == 204
    wait_until(lambda: session()["restorable"], 30, "the session to be offered back")
    restored = client.post(f"/sessions/{target['id']}/restore", headers=qs_supervisor)
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "scheduled" and restored.json()["day_off"] is None


def test_records_name_only_their_townships_staff_sites_and_stations(client, admin, qs_supervisor):
    """Another township's staff member, market site or station named in a request answers like one that does
    not exist: refused with the field named, never stored, never silently replaced."""
    from datetime import timedelta

    everyone = client.get("/staff", headers=admin, params={"limit": 500}).json()
    ours = [s["id"] for s in everyone if s["township_code"] == QS and s["role"] == "township_cadre"]
    theirs = next(s["id"] for s in everyone if s["township_code"] == LX and s["role"] == "township_cadre")
    agent = login(client, "qs_agent1")
    activity = {"category": "farming", "title": "柑橘修剪培训", "place": "石门村部", "held_on": "2026-11-20",
                "attendance": 46}
    for staff_ids in ([ours[0], theirs], [ours[0], 2**31 - 1]):
        refused = client.post("/service-activities", headers=agent, json={**activity, "staff_ids": staff_ids})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "unknown_staff"
        assert refused.json()["error"]["details"][0]["field"] == "staff_ids"
    # intake learns the staff from the directory's events: the township's own are accepted once they arrive
    assert wait_until(lambda: created(client.post("/service-activities", headers=agent,
                                                  json={**activity, "staff_ids": ours})), 30, "staff known")
    today = today_in_china()  # the sessions' days are China's
    for site_code in ("LX-JISHI", "NO-SUCH-SITE"):
        roster = client.post("/rosters/generate", headers=qs_supervisor, json={
            "start": today.isoformat(), "end": (today + timedelta(days=30)).isoformat(), "site_code": site_code,
            "cadre_ids": ours, "per_session": 1})
        assert roster.status_code == 404, roster.text
        assert roster.json()["error"]["code"] == "market_site_not_found"
        assert roster.json()["error"]["details"][0]["field"] == "site_code"
    complaint = {"kind": "dispute", "network": "mediation", "category": "land", "channel": "station",
                 "village_code": f"{QS}001", "description": "宅基地边界纠纷", "station_code": f"ST{LX}001"}
    for body in (complaint, {**complaint, "station_code": "ST-NO-SUCH"}):
        refused = client.post("/complaints", headers=agent, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "station_outside_township"
        assert refused.json()["error"]["details"][0]["field"] == "station_code"
    named = wait_until(lambda: created(client.post("/complaints", headers=agent,
                                                   json={**complaint, "station_code": f"ST{QS}002"})),
                       30, "stations known")
    assert named["complaint"]["station_code"] == f"ST{QS}002"


def test_a_visit_from_planning_to_the_applications_raised_on_it(client, qs_supervisor):
    from datetime import timedelta

    from shared.clock import today_in_china

    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    staff = client.get("/staff", headers=qs_supervisor, params={"limit": 500}).json()
    cadres = [s["id"] for s in staff if s["role"] in ("township_cadre", "department_staff")]
    joint = client.post("/visits", headers=qs_supervisor, json={
        "kind": "joint", "title": "司法所、农技站联合下访", "village_code": f"{QS}003", "place": "村委会",
        "day": tomorrow, "starts": "14:00", "ends": "17:00",
        "departments": [{"department": "司法所", "staff_ids": cadres[:1]},
                        {"department": "农技站", "staff_ids": cadres[1:2]}]})
    assert joint.status_code == 201, joint.text
    visit = joint.json()
    clash = client.post("/visits", headers=qs_supervisor, json={
        "kind": "appointment", "title": "预约上门", "village_code": f"{QS}003", "place": "村委会", "day": tomorrow,
        "starts": "15:00", "ends": "16:00", "staff_ids": cadres[:1]})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "double_booked"

    agent = login(client, "qs_agent1")
    raised = {"item_code": "DB-001", "channel": "visit", "visit_id": visit["id"],
              "applicant": {"name": "钱七", "phone": "13512345678", "id_card": "430124200102280043",
                            "village_code": f"{QS}003"},
              "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"]}
    unknown = client.post("/applications", headers=agent, json={**raised, "visit_id": "f" * 32})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_visit"
    filed = wait_until(lambda: created(client.post("/applications", json=raised,
                                                    headers={**agent, "Idempotency-Key": "e2e-visit-0001"})),
                       10, "intake learns of the visit")
    linked = wait_until(lambda: client.get(f"/visits/{visit['id']}", headers=qs_supervisor).json()["linked"], 10,
                        "the visit learns of the application")
    assert [(x["kind"], x["ref"]) for x in linked] == [("application", filed["receipt_no"])]
    early = client.post(f"/visits/{visit['id']}/report", headers=qs_supervisor,
                        json={"went_staff_ids": cadres[:2], "summary": "走访", "raised": ["低保申请"]})
    assert early.status_code == 409 and early.json()["error"]["code"] == "visit_not_started"

    appointment = client.post("/visits", headers=qs_supervisor, json={
        "kind": "appointment", "title": "残疾人证预约上门", "village_code": f"{QS}005", "place": "村卫生室",
        "day": tomorrow, "starts": "18:00", "ends": "19:00", "staff_ids": cadres[2:3]}).json()
    slots = client.post(f"/visits/{appointment['id']}/slots", headers=qs_supervisor,
                        json={"minutes": 30, "capacity": 2}).json()
    assert client.get(f"/public/visits/{appointment['id']}/slots").json() == slots
    booked = client.post(f"/public/slots/{slots[0]['id']}/bookings",
                         json={"name": "孙八", "phone": "13712345678", "topic": "残疾人证"})
    assert booked.status_code == 201, booked.text
    calendar = client.get(f"/public/townships/{QS}/calendar", params={"start": tomorrow, "end": tomorrow}).json()
    mine = {e["id"]: e for e in calendar}
    assert mine[appointment["id"]]["free_places"] == 3 and mine[visit["id"]]["visit_kind"] == "joint"
    assert "staff" not in str(calendar)

    series = client.post("/visit-series", headers=qs_supervisor, json={
        "kind": "fixed_point", "title": "每月10日定点接访", "village_code": f"{QS}001", "place": "集镇便民服务中心",
        "rule": {"kind": "solar_days", "days": [10]}, "first_day": tomorrow,
        "last_day": (today_in_china() + timedelta(days=100)).isoformat(), "staff_ids": cadres[2:3],
        "starts": "08:30", "ends": "11:30"})
    assert series.status_code == 201, series.text
    assert series.json()["rule_summary"] == "每月10日" and len(series.json()["visits"]) >= 3
    listed = client.get("/visits", headers=qs_supervisor, params={"kind": "fixed_point", "start": tomorrow,
                                                                  "end": series.json()["last_day"]}).json()
    assert [x["id"] for x in listed] == [x["id"] for x in series.json()["visits"] if x["status"] == "planned"]
    lx = login(client, "lx_supervisor")
    assert client.get(f"/visits/{visit['id']}", headers=lx).status_code == 404


def test_the_townships_figures_and_report_follow_what_was_done(client, qs_supervisor):
    agent = login(client, "qs_agent1")
    filed = client.post("/applications", headers=agent, json={
        "item_code": "YB-002", "channel": "station", "complete_now": True, "result_note": "当场办结",
        "applicant": {"name": "吴十", "phone": "13312345678", "id_card": "430124197506150021",
                      "village_code": f"{QS}001"}, "materials_provided": ["身份证", "户口簿"]})
    assert filed.status_code == 201, filed.text
    consulted = client.post("/consultations", headers=agent, json={
        "topic": "养老保险缴费", "channel": "station", "occurred_on": filed.json()["filed_at"][:10], "people_count": 6})
    assert consulted.status_code == 201, consulted.text

    def counted():
        figures = client.get("/figures", headers=qs_supervisor, params={"level": "township", "unit": QS}).json()
        counts = figures.get("counts", {})
        return figures if counts.get("completed", 0) >= 1 and counts.get("consultations", 0) >= 6 else None

    figures = wait_until(counted, 15, "evaluation counts the filing and the consultation")
    assert figures["completion_rate"] is not None and figures["on_time_rate"] is not None
    records = client.get("/figures/records", headers=qs_supervisor,
                         params={"metric": "completed", "level": "township", "unit": QS}).json()
    assert filed.json()["receipt_no"] in [r["ref"] for r in records]
    report = client.get(f"/townships/{QS}/report", headers=qs_supervisor).json()
    assert report["township_name"] == "青石镇"
    assert report["summary"].startswith("今年以来，全镇各服务站共开展六大服务活动")
    csv_report = client.get(f"/townships/{QS}/report", headers=qs_supervisor, params={"format": "csv"})
    assert csv_report.headers["content-type"].startswith("text/csv")
    assert csv_report.content.startswith("\ufeff".encode())  # UTF-8 with a BOM, as Excel on Windows needs
    csv_lines = csv_report.content.decode("utf-8-sig").splitlines()
    assert csv_lines[0].startswith("层级,单位,受理数,办结数")  # the workbook's words
    assert csv_lines[1].startswith("乡镇,青石镇,") and f",{QS}," in csv_lines[1]  # units by name, code beside
    xlsx = client.get(f"/townships/{QS}/report", headers=qs_supervisor, params={"format": "xlsx"})
    assert xlsx.headers["content-type"].endswith("spreadsheetml.sheet") and xlsx.content[:2] == b"PK"
    png = client.get(f"/townships/{QS}/report", headers=qs_supervisor, params={"format": "png"})
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert client.get(f"/townships/{LX}/report", headers=qs_supervisor).status_code == 404
    assert client.get("/figures", headers=qs_supervisor, params={"level": "county"}).status_code == 403
    # 好差评 by the villager, with the receipt number and the phone's last four digits, once
    receipt = filed.json()["receipt_no"]
    wrong = client.post("/public/ratings", json={"receipt_no": receipt, "code": "0000", "level": 5})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "rateable_not_found"
    rated = client.post("/public/ratings", json={"receipt_no": receipt, "code": "5678", "level": 2,
                                                 "comment": "窗口让我跑了两趟", "efficiency": 2})
    assert rated.status_code == 201, rated.text
    assert rated.json()["words"] == "不满意" and rated.json()["follow_up_due"]
    again = client.post("/public/ratings", json={"receipt_no": receipt, "code": "5678", "level": 5})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    followed = client.post(f"/ratings/{receipt}/follow-up", headers=qs_supervisor, json={"note": "已电话回访致歉"})
    assert followed.status_code == 200, followed.text
    rated_figures = wait_until(lambda: (f := client.get("/figures", headers=qs_supervisor, params={
        "level": "township", "unit": QS}).json())["counts"]["ratings"] >= 1 and f, 10, "the rating counts")
    assert rated_figures["satisfaction_rate"] is not None
    def completion_gauge() -> float:  # the timer refreshes it every second in the tests
        lines = [line for line in client.get("/metrics").text.splitlines()
                 if line.startswith(f'cunban_township_completion_ratio{{township="{QS}"}}')]
        return float(lines[0].split()[-1]) if lines else 0.0

    assert wait_until(lambda: completion_gauge() > 0, 10, "the rate gauge to show the completion")
    ranking = client.get("/rankings", headers=qs_supervisor, params={"level": "station", "township": QS}).json()
    assert ranking["units"] and all(u["rank"] is None for u in ranking["units"])  # samples below the minimum
    lists = client.get("/honours", headers=qs_supervisor, params={"level": "station", "township": QS})
    assert lists.status_code == 200 and lists.json()["commendation"] == []
    bad_weights = client.put("/score-settings", headers=login(client, "sysadmin"),
                             json={"weights": {"completion": 0.7, "on_time": 0.7}})
    assert bad_weights.status_code == 422 and "add up to 1" in bad_weights.text


def test_figures_say_whether_they_are_of_a_cohort_or_a_flow(client, qs_supervisor):
    """Cohort by default (of what the period received); ?basis=flow for what happened in it, with no
    completion rate; the report's sentence follows; anything else is a 422 with a stable code."""
    township = {"level": "township", "unit": QS}
    cohort = client.get("/figures", headers=qs_supervisor, params=township)
    flow = client.get("/figures", headers=qs_supervisor, params={**township, "basis": "flow"})
    assert cohort.status_code == 200 and cohort.json()["basis"] == "cohort"
    assert flow.status_code == 200 and flow.json()["basis"] == "flow" and flow.json()["completion_rate"] is None
    for figures in (cohort.json(), flow.json()):
        assert all(r is None or 0 <= r <= 1 for r in (figures["completion_rate"], figures["on_time_rate"]))
    assert cohort.json()["counts"]["cohort_completed"] <= cohort.json()["counts"]["received"]
    report = client.get(f"/townships/{QS}/report", headers=qs_supervisor, params={"basis": "flow"}).json()
    assert report["basis"] == "flow" and "期内办结申请事项" in report["summary"]
    honours = client.get("/honours", headers=qs_supervisor, params={"level": "staff", "township": QS,
                                                                   "basis": "flow"})
    assert honours.status_code == 200 and honours.json()["basis"] == "flow"
    bad = client.get("/figures", headers=qs_supervisor, params={**township, "basis": "both"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"


def test_a_token_signed_with_the_published_development_secret_is_refused(client, admin):
    """No CUNBAN_SECRET_KEY: the system signs with a secret of its own, generated into the data directory."""
    import time

    import jwt

    from shared.settings import DEVELOPMENT_SECRET

    me = client.get("/auth/me", headers=admin).json()
    now = int(time.time())
    forged = jwt.encode({"sub": str(me["id"]), "username": "admin", "role": "county_admin", "township": None,
                         "station": None, "ver": me.get("version", 1), "iat": now, "exp": now + 600,
                         "jti": "f" * 32}, DEVELOPMENT_SECRET, algorithm="HS256")
    response = client.get("/townships", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"


def test_a_second_cunban_up_on_the_same_data_dir_is_refused(system):
    """Two real processes: the second stops before writing anything, says why, and exits non-zero."""
    import subprocess

    from tests.support import CUNBAN, ROOT, free_port

    second = subprocess.run(CUNBAN + ["up", "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "CUNBAN_DATA_DIR": str(system["data"])})
    assert second.returncode == 3, second.stderr[-3000:]
    assert "is in use by another cunban process" in second.stderr
    assert f"pid {system['process'].proc.pid}" in second.stderr
    assert "gateway listening" not in second.stderr + second.stdout
    assert system["process"].alive() and system["client"].get("/healthz").status_code == 200


def test_data_survives_a_restart_and_the_demo_is_not_loaded_twice(system):
    """Run last in this module: stops the system and starts it again on the same data folder."""
    secrets = (system["data"] / "secrets.json").read_text()
    assert stat.S_IMODE((system["data"] / "secrets.json").stat().st_mode) == 0o600
    before = login(system["client"], "admin")
    system["process"].stop()
    # as a data directory from before intake kept the staff and complaints the stations: empty copies
    for service, table in (("intake", "rm_staff"), ("complaints", "rm_stations")):
        with contextlib.closing(sqlite3.connect(system["data"] / f"{service}.db")) as db, db:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    port = int(system["base"].rsplit(":", 1)[1])
    with embedded_system(system["data"], port) as (base, _), httpx.Client(base_url=base, timeout=30) as client:
        admin = login(client, "admin")
        assert len(client.get("/townships", headers=admin).json()) == 3
        # the directory announces its staff and stations again at the start: the copies fill
        cadres = [s["id"] for s in client.get("/staff", headers=admin, params={"township_code": QS}).json()
                  if s["role"] == "township_cadre"]
        assert wait_until(lambda: created(client.post("/service-activities", headers=login(client, "qs_agent1"), json={
            "category": "farming", "title": "培训", "place": "村部", "held_on": "2026-11-20", "attendance": 5,
            "staff_ids": cadres})), 30, "intake's copy of the staff")
        # the generated secrets are kept: a token from before the restart still signs in
        assert (system["data"] / "secrets.json").read_text() == secrets
        assert client.get("/auth/me", headers=before).status_code == 200
        agent = login(client, "qs_agent9", "a-long-password")
        assert client.get("/auth/me", headers=agent).status_code == 200

