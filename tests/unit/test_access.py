"""The access matrix is the one gate: every RPC has its row, the gateway and the services both apply
it, and the documentation carries it as generated."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from cunban.registry import SERVICES, service_class
from gateway.limits import RateLimiter
from gateway.rpc import ServiceCalls
from shared.contracts.access import MATRIX, authorize, markdown_table
from shared.contracts.caller import Caller, Role, Scope
from shared.errors import Forbidden, Unauthenticated
from shared.service import CallerContext, WorkerCaller

ROOT = Path(__file__).resolve().parents[2]
QS = "431099101"


def _rpc_actions() -> set[str]:
    actions = set()
    for name in SERVICES:
        service = service_class(name)
        assert isinstance(service.__dict__.get("caller"), CallerContext), f"{name} has no CallerContext"
        for attr in dir(service):
            if any(isinstance(e, Rpc) for e in getattr(getattr(service, attr), ENTRYPOINT_EXTENSIONS_ATTR, ())):
                actions.add(f"{name}.{attr}")
    return actions


def test_every_rpc_has_exactly_one_row_and_every_row_an_rpc():
    actions = _rpc_actions()
    assert actions - set(MATRIX) == set(), "RPCs missing from the access matrix"
    assert set(MATRIX) - actions == set(), "matrix rows naming no RPC"


def test_cells_make_sense():
    for rule in MATRIX.values():
        public = rule.grants.get(Role.PUBLIC)
        assert public in (None, Scope.PUBLIC), rule.action  # the public has no township to be scoped to
        assert rule.grants.get(Role.COUNTY_ADMIN) in (None, Scope.COUNTY, Scope.PUBLIC), rule.action
        assert rule.grants.get(Role.STATION_CLIENT) is not Scope.COUNTY, rule.action


def test_the_security_document_carries_the_generated_table():
    assert markdown_table() in (ROOT / "docs" / "SECURITY.md").read_text(), \
        "regenerate the table with `cunban access-matrix`"


def test_authorize_grants_the_scope_of_the_row_or_refuses():
    agent = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001")
    assert authorize(agent, "intake.file_application").scope is Scope.TOWNSHIP
    with pytest.raises(Forbidden) as refused:
        authorize(agent, "directory.create_township")
    assert refused.value.code == "role_not_allowed"
    with pytest.raises(Unauthenticated):
        authorize(Caller.public(), "intake.list_applications")
    assert authorize(Caller.public(), "intake.public_progress").scope is Scope.PUBLIC
    with pytest.raises(Forbidden):  # not in the matrix at all: only the platform
        authorize(agent, "intake.drop_everything")
    assert authorize(Caller.system(), "intake.drop_everything").scope is Scope.ALL
    with pytest.raises(Forbidden):  # a township role without a township
        authorize(Caller(staff_id=9, role=Role.TOWNSHIP_CADRE), "intake.list_applications")


def test_a_station_scope_sees_only_its_station():
    key = Caller(staff_id=6, role=Role.STATION_CLIENT, township_code=QS, station_code=f"ST{QS}001")
    granted = authorize(key, "intake.list_applications")
    assert granted.station_filter() == f"ST{QS}001" and granted.township_filter() == QS
    assert granted.sees_station(QS, f"ST{QS}001") and not granted.sees_station(QS, f"ST{QS}002")
    assert not granted.sees_station(QS, None)
    with pytest.raises(Forbidden):
        authorize(key, "evaluation.figures")
    cadre = authorize(Caller(staff_id=7, role=Role.TOWNSHIP_CADRE, township_code=QS), "intake.list_applications")
    assert cadre.station_filter() is None and cadre.sees_station(QS, "anything") and not cadre.sees_township("x")


def test_a_station_scope_files_at_its_own_station_only():
    key = authorize(Caller(staff_id=6, role=Role.STATION_CLIENT, township_code=QS, station_code=f"ST{QS}001"),
                    "intake.file_application")
    assert key.station_of_new_record(None) == f"ST{QS}001" == key.station_of_new_record(f"ST{QS}001")
    with pytest.raises(Forbidden) as refused:
        key.station_of_new_record(f"ST{QS}002")
    assert refused.value.code == "outside_station" and refused.value.details[0]["field"] == "station_code"
    with pytest.raises(Forbidden):
        authorize(key, "intake.record_activity").station_of_new_record(f"ST{QS}002")
    agent = authorize(Caller(staff_id=7, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001"),
                      "intake.file_application")  # a township scope names any station of its township
    assert agent.station_of_new_record(f"ST{QS}002") == f"ST{QS}002"
    assert agent.station_of_new_record(None) == f"ST{QS}001"


def test_a_service_refuses_a_call_without_a_caller_or_with_a_role_the_row_lacks():
    nobody = WorkerCaller(None)
    with pytest.raises(Unauthenticated):
        nobody.authorize("intake.list_applications")
    with pytest.raises(Unauthenticated):
        nobody()
    agent = WorkerCaller(Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS))
    with pytest.raises(Forbidden):
        agent.authorize("complaints.set_limits")
    assert agent.authorize("complaints.register").scope is Scope.TOWNSHIP and agent().scope is Scope.TOWNSHIP


def test_the_gateway_refuses_before_it_calls():
    class Recorder:
        calls: list[str] = []

        def call(self, service, method, **_):
            self.calls.append(f"{service}.{method}")

    calls = ServiceCalls(Recorder())  # type: ignore[arg-type]
    cadre = Caller(staff_id=7, role=Role.TOWNSHIP_CADRE, township_code=QS)
    with pytest.raises(Forbidden):
        asyncio.run(calls.call("directory", "create_township", caller=cadre))
    assert Recorder.calls == []


def test_the_rate_limiter_allows_the_limit_per_minute_then_says_how_long_to_wait():
    limiter = RateLimiter(3)
    start = 6000.0
    assert [limiter.hit("a", start + i) for i in range(3)] == [0, 0, 0]
    wait = limiter.hit("a", start + 3)
    assert 0 < wait <= 60
    assert limiter.hit("b", start + 3) == 0  # another client is not affected
    assert limiter.hit("a", start + 3 + wait + 60) == 0  # a quiet minute later


def test_a_client_over_its_limit_gets_429_with_retry_after():
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from shared.settings import Settings

    app = create_app(Settings(client_requests_per_minute=3), ServiceCalls(client=None))  # type: ignore[arg-type]
    client = TestClient(app)
    statuses = [client.get("/auth/me").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = client.get("/auth/me")
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200  # probes are never limited
