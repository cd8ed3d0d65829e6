"""`GET /approvals/inbox`: the filters and the keyset cursor reach approvals.inbox as the InboxQuery, and a
filter that is not one (a village code of the wrong shape, an unknown stage) is refused at the gateway."""
from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import issue_token
from gateway.rpc import ServiceCalls
from shared.clock import utcnow
from shared.contracts.caller import Role
from shared.contracts.directory import StaffPublic
from shared.settings import Settings

SETTINGS = Settings()
CADRE = StaffPublic(id=7, username="qs_cadre1", full_name="驻村干部甲", role=Role.TOWNSHIP_CADRE,
                    township_code="431099101", station_code=None, phone=None, active=True, version=1,
                    updated_at=utcnow())


class Services:
    """The directory knows the cadre; approvals answers an empty inbox page and keeps what it was asked."""

    def __init__(self):
        self.asked: list[dict] = []

    def call(self, service, method, **kwargs):
        if method == "session_status":
            return True
        if (service, method) == ("approvals", "inbox"):
            self.asked.append(kwargs["query"])
            return {"items": [], "next_cursor": "bmV4dA==", "counts": {"overdue": 2}}
        return CADRE.model_dump(mode="json")


def test_the_inbox_route_passes_its_filters_and_cursor_and_refuses_bad_ones():
    services = Services()
    client = TestClient(create_app(SETTINGS, ServiceCalls(client=services)))  # type: ignore[arg-type]
    token = {"Authorization": f"Bearer {issue_token(CADRE, SETTINGS)[0]}"}
    answer = client.get("/approvals/inbox", headers=token, params={
        "item_code": "SP-008", "status": "awaiting_supplement", "village_code": "431099101002", "limit": 10,
        "cursor": "abc"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "next_cursor": "bmV4dA==", "counts": {"overdue": 2}}
    assert services.asked == [{"item_code": "SP-008", "status": "awaiting_supplement",
                               "village_code": "431099101002", "limit": 10, "cursor": "abc"}]
    for bad in ({"village_code": "4310991"}, {"status": "delivered"}, {"limit": 0}, {"offset": 20},
                {"item_code": "-x"}):
        refused = client.get("/approvals/inbox", headers=token, params=bad)
        if "offset" in bad:  # paged by keyset now: an offset is not read
            assert refused.status_code == 200 and services.asked[-1]["cursor"] is None
            continue
        assert refused.status_code == 422, (bad, refused.text)
    assert len(services.asked) == 2
