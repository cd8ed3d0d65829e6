"""What the gateway answers on from a service is read tolerantly (shared/contracts/base.py, View): during a
rolling update the previous release's gateway reads the new release's answers, and a field the new release
added must not turn an answer into a 500."""
from __future__ import annotations

import asyncio
import typing

import httpx
from pydantic import BaseModel

from gateway.app import create_app
from shared.contracts.base import View
from shared.contracts.directory import StaffPublic, StationKeyCaller
from shared.settings import Settings
from tests.support import StandInCalls, api_routes

# the settings a county admin reads and sends back the same: refused when sent with a field it does not know,
# so a field added to one travels in two releases, as an event's does (docs/OPERATIONS.md)
SENT_AND_ANSWERED = {"ScoreSettings", "WarningRule", "StageLimits", "MarketDayRule", "MarketDayExceptions",
                     "WorkflowDefinition", "WorkflowStep"}


def _models(annotation: typing.Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            annotation.model_rebuild()  # a field naming a model defined further down is resolved now
            for field in annotation.model_fields.values():
                _models(field.annotation, found)
    else:
        for argument in typing.get_args(annotation):
            _models(argument, found)
    return found


def test_every_model_the_gateway_answers_with_is_a_view_unless_it_is_also_sent():
    answered: set[type[BaseModel]] = set()
    sent: set[type[BaseModel]] = set()
    for route in api_routes(create_app(Settings(), NewerScheduling()).routes):  # type: ignore[arg-type]
        if route.response_model is not None:
            _models(route.response_model, answered)
        for param in route.dependant.body_params + route.dependant.query_params:
            _models(param.field_info.annotation, sent)
    assert len(answered) > 60
    assert {m.__name__ for m in answered & sent} == SENT_AND_ANSWERED
    not_views = sorted(m.__name__ for m in answered - sent if not issubclass(m, View))
    assert not_views == [], "answered by the gateway, so read tolerantly: make these Views"
    assert all(m.model_config["extra"] == "ignore" for m in answered - sent)
    assert all(m.model_config["extra"] == "forbid" for m in sent)  # what is sent is still checked strictly
    # and the answers the gateway reads for itself (gateway/auth.py: who a token or a station key is)
    assert issubclass(StaffPublic, View) and issubclass(StationKeyCaller, View)


class NewerScheduling(StandInCalls):
    """A service of the next release: its slots carry a field this gateway does not know."""

    async def call(self, service, method, **kwargs):
        assert (service, method) == ("scheduling", "list_slots")
        return [{"id": 1, "session_id": "a" * 32, "visit_id": None, "starts_at": "2026-12-09T01:00:00Z",
                 "ends_at": "2026-12-09T01:30:00Z", "capacity": 5, "booked": 2, "open": True}]


def test_an_answer_with_a_field_the_gateway_does_not_know_is_answered_without_it():
    app = create_app(Settings(), NewerScheduling())  # type: ignore[arg-type]

    async def request() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(f"/public/sessions/{'a' * 32}/slots")

    response = asyncio.run(request())
    assert response.status_code == 200, response.text
    assert response.json()[0]["booked"] == 2 and "open" not in response.json()[0]
