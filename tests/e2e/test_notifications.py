"""Messages the journeys produce, in the embedded `log` provider: a filing sends the applicant the receipt
number, a 补正 names the missing material, 办结 gives the result, and the invitation to rate follows the
documented days later (the system's clock moved forward by its test clock file) — each once."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.support import embedded_system, login, wait_until

pytestmark = pytest.mark.e2e
QS = "431099101"
FILING = {"item_code": "SP-008", "channel": "station", "station_code": f"ST{QS}010",
          "applicant": {"name": "周九", "phone": "13212345678", "id_card": "430124197506150021",
                        "village_code": f"{QS}010"},
          "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}


@pytest.fixture(scope="module")
def clock(tmp_path_factory):
    """The running system's clock: seconds written here are added to the real time (shared/clock.py)."""
    path = tmp_path_factory.mktemp("clock") / "offset"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory, clock):
    with embedded_system(tmp_path_factory.mktemp("notifications"), env={"CUNBAN_TEST_CLOCK_FILE": str(clock)}) as (
            base, _), httpx.Client(base_url=base, timeout=30) as client:
        yield client


def messages(client, headers, receipt):
    page = client.get("/notifications/messages", headers=headers, params={"limit": 200})
    assert page.status_code == 200, page.text
    return [m for m in page.json()["items"] if receipt in (m["text"] or str(m))]


def test_an_application_tells_its_applicant_at_filing_supplement_completion_and_when_to_rate(client, clock):
    admin, supervisor, agent = login(client, "admin"), login(client, "qs_supervisor"), login(client, "qs_agent1")
    # the test runs at any hour: the county turns its quiet hours off (from 00:00 to 00:00)
    settings = client.put("/notifications/settings/431099", headers=admin,
                          json={"quiet_start": "00:00", "quiet_end": "00:00", "signature": "清水县政务"})
    assert settings.status_code == 200, settings.text
    filed = client.post("/applications", json=FILING, headers=agent)
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt_no"]

    def sent(kind):
        found = [m for m in messages(client, supervisor, receipt) if m["kind"] == kind and m["status"] == "sent"]
        return found[0] if found else None

    receipt_sms = wait_until(lambda: sent("application_filed"), 30, "the receipt SMS")
    assert receipt_sms["text"].startswith("【清水县政务】您的")
    assert f"编号{receipt}" in receipt_sms["text"] and f"/q/{receipt}" in receipt_sms["text"]
    assert receipt_sms["phone_masked"] == "132****5678" and "13212345678" not in str(receipt_sms)

    def act(action, **extra):
        response = client.post(f"/applications/{receipt}/actions", json={"action": action, **extra},
                               headers=supervisor)
        assert response.status_code == 200, response.text

    wait_until(lambda: client.get(f"/applications/{receipt}/approval", headers=supervisor).status_code == 200, 20,
               "the case to open")
    act("accept")
    case = client.get(f"/applications/{receipt}/approval", headers=supervisor).json()
    holder = next(s for s in client.get("/staff", headers=supervisor).json()
                  if s["role"] in case["step_roles"] and s["active"] and s["username"] != "qs_supervisor"
                  and (s.get("station_code") in (None, case["station_code"])))
    holder_headers = login(client, holder["username"])
    new_case = wait_until(lambda: [n for n in client.get("/me/notices", headers=holder_headers).json()["items"]
                                   if n["kind"] == "case_assigned" and receipt in n["text"]], 30, "the 新办件 notice")
    assert new_case[0]["name"] == "新办件" and new_case[0]["link"] == f"/console/applications/{receipt}"
    act("request_supplement", materials=["户口簿复印件"])
    supplement = wait_until(lambda: sent("materials_requested"), 30, "the 补正 SMS")
    assert "需补正：户口簿复印件" in supplement["text"]
    act("supplement_received")
    act("approve")
    act("complete")
    done = wait_until(lambda: sent("application_completed"), 30, "the 办结 SMS")
    assert "结果：准予办理" in done["text"]
    kinds = [m["kind"] for m in messages(client, supervisor, receipt)]
    assert sorted(kinds) == ["application_completed", "application_filed", "clock_resumed", "materials_requested"]
    time.sleep(3)  # evaluation's sweeps run meanwhile: no invitation before the documented days
    assert sent("rating_invitation") is None
    clock.write_text(str(4 * 24 * 3600))  # four days on: the invitation is due three days after completion
    invitation = wait_until(lambda: sent("rating_invitation"), 40, "the invitation to rate")
    assert f"/rate?receipt={receipt}" in invitation["text"] and "请您评价" in invitation["text"]
    clock.write_text("0")
    time.sleep(2)  # the system reads its clock file at most once a second: back to today before going on


def test_a_county_template_is_checked_when_saved_and_previewed(client):
    admin, supervisor = login(client, "admin"), login(client, "qs_supervisor")
    bad = client.put("/notifications/templates/431099/application_filed", headers=admin,
                     json={"text": "编号${receipt_no}，材料${materials}"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "template_invalid"
    assert client.put("/notifications/templates/431099/application_filed", headers=supervisor,
                      json={"text": "编号${receipt_no}"}).status_code == 403
    saved = client.put("/notifications/templates/431099/application_filed", headers=admin,
                       json={"text": "${item}已受理，编号${receipt_no}，进度：${lookup_url}"})
    assert saved.status_code == 200 and saved.json()["own"]
    assert saved.json()["longest"] > 70 and saved.json()["segments"] == 2  # counted with the longest look-up address
    preview = client.post("/notifications/templates/431099/application_filed/preview", headers=supervisor,
                          json={"values": {"receipt_no": "QS-1"}})
    assert preview.status_code == 200
    assert preview.json()["text"].startswith("【清水县政务】农村低保申请已受理，编号QS-1，进度：")
    assert preview.json()["length"] == len(preview.json()["text"]) and preview.json()["segments"] == 2
    templates = client.get("/notifications/templates/431099", headers=supervisor).json()
    assert {t["kind"] for t in templates} >= {"application_filed", "materials_requested", "rating_invitation"}
