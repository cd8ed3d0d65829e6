"""One application from filing to 办结 through the gateway, as the people involved would do it: the
agent files, the inbox shows it to the right people, each acts at their step, the villager follows it
with the public look-up, and the supervisor sees the case's history."""
from __future__ import annotations

import httpx
import pytest

from tests.support import embedded_system, login, wait_until

pytestmark = pytest.mark.e2e
QS = "431099101"
WORKFLOW = {"steps": [
    {"name": "village_review", "title": "村级审查并公示", "roles": ["village_committee"], "level": "village",
     "limit_days": 5, "on_approve": "township_review"},
    {"name": "township_review", "title": "乡镇审核", "roles": ["department_staff", "supervisor"],
     "level": "township", "limit_days": 10, "on_approve": "approved"}]}
FILING = {"item_code": "SP-008", "channel": "station",
          "applicant": {"name": "周九", "phone": "13212345678", "id_card": "430124197506150021",
                        "village_code": f"{QS}010"},
          "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with embedded_system(tmp_path_factory.mktemp("approvals")) as (base, _), \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_from_filing_to_completion(client):
    supervisor, committee = login(client, "qs_supervisor"), login(client, "qs_committee1")
    department, agent = login(client, "qs_nongji"), login(client, "qs_agent1")
    assert client.put(f"/catalogue/{QS}/SP-008/workflow", json=WORKFLOW, headers=supervisor).status_code == 200
    # the committee member's station is the community's (…010): file there so it is theirs to review
    filed = client.post("/applications", json={**FILING, "station_code": f"ST{QS}010"}, headers=agent).json()
    receipt = filed["receipt_no"]

    def in_inbox(headers):
        return receipt in [c["receipt_no"] for c in client.get("/approvals/inbox", headers=headers).json()["items"]]

    wait_until(lambda: in_inbox(committee), 20, "the case to reach the committee's inbox")
    assert not in_inbox(department)

    def step(headers, action, **extra):
        response = client.post(f"/applications/{receipt}/actions", json={"action": action, **extra}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    accepted = step(committee, "accept")
    assert accepted["status"] == "in_review" and accepted["overall_due"]
    refused = client.post(f"/applications/{receipt}/actions", json={"action": "approve"}, headers=department)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_your_step"
    step(committee, "approve")
    assert in_inbox(department) and not in_inbox(committee)
    step(department, "request_supplement", materials=["户口簿复印件"])
    illegal = client.post(f"/applications/{receipt}/actions", json={"action": "approve"}, headers=department)
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_action"
    step(agent, "supplement_received")
    step(department, "approve")
    step(supervisor, "complete")
    delivered = step(agent, "deliver")
    assert delivered["status"] == "delivered" and delivered["outcome"] == "approved"
    history = client.get(f"/applications/{receipt}/approval", headers=supervisor).json()
    assert [a["action"] for a in history["audit"]] == ["accept", "approve", "request_supplement",
                                                       "supplement_received", "approve", "complete", "deliver"]
    public = wait_until(lambda: (r := client.get(f"/public/applications/{receipt}", params={"phone_last4": "5678"})
                                 .json())["status"] == "delivered" and r, 20, "intake to hear of the delivery")
    assert [s["stage"] for s in public["stages"]][-2:] == ["completed", "result_delivered"]
    assert public["promised_deadline"] == accepted["overall_due"]
    counts = client.get("/approvals/counts", headers=supervisor).json()
    assert counts.get("delivered") == 1
    opened = client.get("/supervision-notices", headers=supervisor, params={"open": "true"})  # 督办 still open
    assert opened.status_code == 200 and all(n["closed_at"] is None for n in opened.json())
    assert client.get("/supervision-notices", headers=supervisor, params={"open": "maybe"}).status_code == 422
    # evaluation: the agent received it (首问); each reviewer handled the step they held, in time
    staff = client.get("/staff", headers=supervisor, params={"limit": 500})
    assert staff.status_code == 200, staff.text
    usernames = {"agent": "qs_agent1", "committee": "qs_committee1", "department": "qs_nongji"}
    ids = {name: next(str(s["id"]) for s in staff.json() if s["username"] == username)
           for name, username in usernames.items()}

    def staff_figures(name):
        return client.get("/figures", headers=supervisor, params={"level": "staff", "unit": ids[name]}).json()

    handled = wait_until(lambda: (f := staff_figures("department"))["counts"]["steps_handled"] >= 1 and f, 20,
                         "evaluation to count the department's step")
    assert handled["counts"]["steps_on_time"] == 1 and handled["step_on_time_rate"] == 1
    assert handled["counts"]["received"] == 0
    committee_figures = staff_figures("committee")
    assert committee_figures["counts"]["steps_handled"] == 1 and committee_figures["counts"]["accountability"] == 0
    agent_figures = staff_figures("agent")
    assert agent_figures["counts"]["received"] >= 1 and agent_figures["counts"]["steps_handled"] == 0


def test_reasons_are_required_and_other_townships_see_nothing(client):
    agent, committee = login(client, "qs_agent1"), login(client, "qs_committee1")
    filed = client.post("/applications", json={**FILING, "station_code": f"ST{QS}010"}, headers=agent).json()
    receipt = filed["receipt_no"]
    wait_until(lambda: client.get(f"/applications/{receipt}/approval", headers=committee).status_code == 200, 20,
               "the case to open")
    no_reason = client.post(f"/applications/{receipt}/actions", json={"action": "refuse"}, headers=committee)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    refused = client.post(f"/applications/{receipt}/actions", json={"action": "refuse", "reason": "不符合申请条件"},
                          headers=committee)
    assert refused.json()["status"] == "refused"
    other = login(client, "lx_supervisor")
    assert client.get(f"/applications/{receipt}/approval", headers=other).status_code == 404
    assert client.get("/supervision-notices", headers=other).json() == []


def test_dashboards_get_open_warned_and_overdue_gauges(client):
    agent = login(client, "qs_agent1")
    assert client.post("/applications", json=FILING, headers=agent).status_code == 201  # stays open
    def gauges():
        text = client.get("/metrics").text
        return text if f'cunban_applications_open{{township="{QS}"}}' in text else None

    text = wait_until(gauges, 30, "a sweep to publish the gauges")
    assert f'cunban_applications_open{{township="{QS}"}}' in text
    assert "cunban_applications_overdue" in text and "cunban_applications_warned" in text


def test_the_deadline_shows_from_filing_and_a_pause_says_what_it_waits_for(client):
    """The receipt carries the promised deadline, counted from the filing as approvals counts it; before
    anyone accepts it staff and the villager see it; a 补正 shows as a paused clock naming the materials,
    and their arrival as the new deadline."""
    agent, committee = login(client, "qs_agent1"), login(client, "qs_committee1")
    response = client.post("/applications", json={**FILING, "station_code": f"ST{QS}010"}, headers=agent)
    assert response.status_code == 201, response.text
    filed = response.json()
    receipt = filed["receipt_no"]
    assert filed["promised_deadline"] is not None and filed["overdue"] is False  # on the receipt itself

    def staff_view():
        return client.get(f"/applications/{receipt}", headers=agent).json()

    def public_view():
        return client.get(f"/public/applications/{receipt}", params={"phone_last4": "5678"}).json()

    seen = staff_view()
    case = wait_until(lambda: (r := client.get(f"/applications/{receipt}/approval", headers=committee)
                               ).status_code == 200 and r.json(), 20, "approvals to open the case")
    assert filed["promised_deadline"] == case["overall_due"]  # the same rule, the same calendar
    assert seen["status"] == "received" and seen["promised_deadline"] == case["overall_due"]
    assert seen["overdue"] is False and seen["paused"] is False
    assert public_view()["promised_deadline"] == case["overall_due"]
    for action in ({"action": "accept"}, {"action": "request_supplement", "materials": ["户口簿复印件"]}):
        response = client.post(f"/applications/{receipt}/actions", json=action, headers=committee)
        assert response.status_code == 200, response.text
    paused = wait_until(lambda: (v := staff_view())["paused"] and v, 20, "intake to hear of the pause")
    assert (paused["promised_deadline"], paused["awaiting_materials"]) == (None, ["户口簿复印件"])
    public = public_view()
    assert (public["paused"], public["promised_deadline"], public["awaiting_materials"]) == \
        (True, None, ["户口簿复印件"])
    resumed = client.post(f"/applications/{receipt}/actions", json={"action": "supplement_received"}, headers=agent)
    assert resumed.status_code == 200, resumed.text
    running = wait_until(lambda: not (v := staff_view())["paused"] and v, 20, "intake to hear the clock runs")
    assert running["promised_deadline"] == resumed.json()["overall_due"] and running["awaiting_materials"] == []
    assert public_view()["promised_deadline"] == resumed.json()["overall_due"]
