"""Gateway shape: every endpoint and dependency is async (the embedded hub cannot host FastAPI's thread
pool), every route has a stable operation id, and bad tokens are refused."""
import base64
import inspect
import json
from datetime import timedelta

import pytest

from gateway.app import create_app
from gateway.auth import issue_token, read_token
from gateway.rpc import ServiceCalls
from shared.clock import utcnow
from shared.contracts.caller import Role
from shared.contracts.directory import StaffPublic
from shared.errors import Unauthenticated
from shared.settings import Settings
from tests.support import StandInCalls, api_routes

SETTINGS = Settings()
APP = create_app(SETTINGS, ServiceCalls(client=None))  # type: ignore[arg-type]


def _dependencies(dependant):
    for dep in dependant.dependencies:
        yield dep
        yield from _dependencies(dep)


def test_every_endpoint_and_dependency_is_a_coroutine():
    routes = list(api_routes(APP.routes))
    assert len(routes) > 100  # the routers' routes, not only the app's own
    for route in routes:
        assert inspect.iscoroutinefunction(route.endpoint), route.path
        for dep in _dependencies(route.dependant):
            if dep.call is not None and not isinstance(dep.call, type) and not hasattr(dep.call, "__self__"):
                is_security_scheme = hasattr(dep.call, "scheme_name")
                assert is_security_scheme or inspect.iscoroutinefunction(dep.call), (route.path, dep.call)


def test_operation_ids_are_explicit_and_unique():
    ids = [r.operation_id for r in api_routes(APP.routes) if r.include_in_schema]
    assert len(ids) > 100 and all(ids) and len(ids) == len(set(ids))


STAFF = StaffPublic(id=7, username="qs_cadre1", full_name="甲", role=Role.TOWNSHIP_CADRE,
                    township_code="431099101", station_code=None, phone=None, active=True, version=1,
                    updated_at=utcnow())


def test_a_token_carries_identity_and_scope():
    token, _ = issue_token(STAFF, SETTINGS)
    caller = read_token(token, SETTINGS).caller
    assert (caller.staff_id, caller.role, caller.township_code) == (7, Role.TOWNSHIP_CADRE, "431099101")


def test_expired_tampered_and_foreign_tokens_are_refused():
    expired, _ = issue_token(STAFF, SETTINGS, now=utcnow() - timedelta(days=30))
    with pytest.raises(Unauthenticated) as err:
        read_token(expired, SETTINGS)
    assert err.value.code == "token_expired"
    token, _ = issue_token(STAFF, SETTINGS)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(role="county_admin", township=None)  # a cadre promoting itself
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthenticated):
        read_token(f"{header}.{forged}.{signature}", SETTINGS)
    foreign, _ = issue_token(STAFF, Settings(secret_key="another-secret-of-enough-length-0123456789"))
    with pytest.raises(Unauthenticated):
        read_token(foreign, SETTINGS)


def test_an_unexpected_failure_is_a_500_that_carries_the_correlation_id():
    import asyncio

    import httpx

    class Broken(StandInCalls):
        async def call(self, *args, **kwargs):
            raise RuntimeError("a bug, not the caller's fault")

    app = create_app(SETTINGS, Broken())  # type: ignore[arg-type]

    async def request():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get("/public/townships/431099101/catalogue",
                                    headers={"X-Correlation-ID": "station-0042-abcdef"})

    response = asyncio.run(request())
    assert response.status_code == 500
    assert response.json()["error"] == {"code": "internal_error", "details": None,
                                        "message": "something went wrong; quote the correlation id",
                                        "correlation_id": "station-0042-abcdef"}


def test_every_rpc_entrypoint_treats_typed_errors_as_expected():
    """A villager's bad input is not a service crash: typed errors must be nameko expected_exceptions."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
    from nameko.rpc import Rpc

    from cunban.registry import SERVICES, service_class
    from shared.errors import CunbanError

    for name in SERVICES:
        service = service_class(name)
        for attr in dir(service):
            for entrypoint in getattr(getattr(service, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, Rpc):
                    assert CunbanError in entrypoint.expected_exceptions, f"{name}.{attr}"


def test_every_response_carries_the_security_headers_and_big_bodies_are_refused():
    from fastapi.testclient import TestClient

    client = TestClient(APP)
    response = client.get("/healthz", headers={"Authorization": "Bearer x"})
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    docs = client.get("/docs")  # Swagger UI from the gateway's own copy, under the pages' strict policy
    assert "script-src 'self';" in docs.headers["Content-Security-Policy"] and "/static/swagger/" in docs.text
    assert "unsafe-inline" not in docs.headers["Content-Security-Policy"]
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    big = client.post("/auth/login", content=b"x" * (SETTINGS.max_body_bytes + 1),
                      headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    assert big.headers["X-Content-Type-Options"] == "nosniff"


def test_the_audit_entries_of_a_moment_travel_as_one_event_and_none_is_left_at_shutdown():
    import asyncio
    import uuid
    from types import SimpleNamespace

    from gateway.rpc import AUDIT_BATCH, AUDIT_WINDOW_SECONDS
    from shared.contracts.directory import AuditEntries, AuditEntry

    calls = ServiceCalls(SimpleNamespace(amqp_uri="memory://"))  # type: ignore[arg-type]
    sent = []
    calls.deliver = sent.append  # type: ignore[method-assign]

    def entry() -> AuditEntry:
        return AuditEntry(id=uuid.uuid4().hex, at=utcnow(), correlation_id=None, staff_id=7, username="lk_agent1",
                          role=Role.VILLAGE_AGENT, township_code="431099103", station_code=None,
                          action="file_application", method="POST", target="/applications", outcome=201,
                          client="10.0.0.9", personal_data=False)

    async def market_day() -> None:
        first = [entry() for _ in range(3)]
        for e in first:
            calls.audit(e)
        assert sent == []  # waiting for the others of its moment
        await asyncio.sleep(AUDIT_WINDOW_SECONDS * 2)
        assert len(sent) == 1 and sent[0].type == "audit_entries_recorded"
        assert AuditEntries.model_validate(sent[0].payload).entries == first
        last = entry()
        calls.audit(last)
        await calls.settle()  # shutdown: what waits goes out now
        assert len(sent) == 2 and AuditEntries.model_validate(sent[1].payload).entries == [last]
        rush = [entry() for _ in range(AUDIT_BATCH + 1)]  # more than one event may carry
        for e in rush:
            calls.audit(e)
        await calls.settle()
        assert [len(AuditEntries.model_validate(e.payload).entries) for e in sent[2:]] == [AUDIT_BATCH, 1]

    asyncio.run(market_day())


def test_a_slow_request_is_logged_with_the_time_it_waited_for_services(caplog):
    import time

    from fastapi.testclient import TestClient

    class SlowClient:
        def call(self, *args, **kwargs):
            time.sleep(0.06)
            return []

    app = create_app(Settings(slow_seconds=0.05), ServiceCalls(client=SlowClient()))  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="gateway.app"):
        assert TestClient(app).get("/public/townships/431099101/catalogue").status_code == 200
        assert TestClient(APP).get("/healthz").status_code == 200  # the default threshold is a second
    slow = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(slow) == 1 and slow[0].getMessage().startswith("slow request GET /public/townships/")
    assert slow[0].in_services_ms >= 60 and slow[0].elapsed_ms >= slow[0].in_services_ms


def test_an_announced_end_of_access_makes_the_gateway_ask_again_at_once():
    from fastapi.testclient import TestClient

    from gateway.revocations import AccessListener
    from shared.contracts.envelope import EventEnvelope

    asked: list[str] = []

    class Directory:
        during: list = []  # something to do while a check is on its way (an announcement arriving)

        def call(self, service, method, **kwargs):
            asked.append(method)
            for act in self.during:
                act()
            if method == "session_status":
                return True
            if method == "resolve_station_key":
                return {"key_id": 3, "staff_id": 8, "township_code": "431099101", "station_code": "ST431099101001"}
            return STAFF.model_dump(mode="json")

    directory = Directory()
    app = create_app(SETTINGS, ServiceCalls(client=directory))  # type: ignore[arg-type]
    accounts, client = app.state.accounts, TestClient(app)
    token = {"Authorization": f"Bearer {issue_token(STAFF, SETTINGS)[0]}"}
    key = {"X-API-Key": "cbk_3_" + "A" * 43}

    def checks() -> int:
        return len([m for m in asked if m in ("session_status", "resolve_station_key")])

    for headers in (token, key, token, key):
        assert client.get("/auth/me", headers=headers).status_code == 200
    assert checks() == 2  # each remembered after its first check
    listener = AccessListener("memory://", accounts)

    class Message:
        acked = False

        def ack(self):
            self.acked = True

    def announce(staff_id: int) -> Message:
        message = Message()
        listener._on_message(EventEnvelope(source="directory", type="access_revoked", occurred_at=utcnow(), payload={
            "reason": "account_changed", "staff_id": staff_id}).model_dump(mode="json"), message)
        return message

    assert announce(99).acked  # someone else's: both still remembered
    client.get("/auth/me", headers=token), client.get("/auth/me", headers=key)
    assert checks() == 2
    announce(STAFF.id)
    client.get("/auth/me", headers=token), client.get("/auth/me", headers=key)
    assert checks() == 3  # the token's holder: asked again; the key acts for staff 8, still remembered
    announce(8)
    client.get("/auth/me", headers=key)
    assert checks() == 4
    directory.during = [lambda: accounts.forget_staff(STAFF.id)]  # announced while the check was on its way
    accounts.forget_staff(STAFF.id)
    client.get("/auth/me", headers=token)
    directory.during = []
    client.get("/auth/me", headers=token)
    assert checks() == 6  # what was asked across an announcement is not remembered
    listener._on_message({"payload": {"nonsense": 1}}, Message())  # unreadable: forget everything
    client.get("/auth/me", headers=key)
    assert checks() == 7


def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy():
    from types import SimpleNamespace

    from starlette.requests import Request

    from gateway.audit import client_of

    def client(peer: str, forwarded: list[str], trusted: str = "10.42.0.0/16, fd00::/8") -> str:
        app = SimpleNamespace(state=SimpleNamespace(trusted_proxies=Settings(trusted_proxies=trusted)
                                                    .trusted_networks()))
        headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
        return client_of(Request({"type": "http", "client": (peer, 4321), "headers": headers, "app": app}))

    assert client("10.42.3.7", ["100.64.1.9"]) == "100.64.1.9"  # through the ingress: the villager's address
    assert client("10.42.3.7", ["6.6.6.6, 100.64.1.9"]) == "100.64.1.9"  # what the client wrote itself: ignored
    assert client("10.42.3.7", ["6.6.6.6", "100.64.1.9, 10.42.0.5"]) == "100.64.1.9"  # two trusted hops
    assert client("10.42.3.7", []) == "10.42.3.7"
    assert client("10.42.3.7", ["10.42.0.5"]) == "10.42.0.5"  # only proxies: the farthest of them
    assert client("203.0.113.5", ["100.64.1.9"]) == "203.0.113.5"  # not through a trusted proxy: not believed
    assert client("10.42.3.7", ["100.64.1.9"], trusted="") == "10.42.3.7"  # no proxies trusted (the default)
    assert client("fd00::1", ["2001:db8::7"]) == "2001:db8::7"
    with pytest.raises(ValueError, match="CUNBAN_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.42.0.0/16, the-ingress")


def test_a_request_sends_one_credential_a_token_or_a_station_key_never_both():
    """Which of two credentials acts would be the gateway's guess (and a bad key beside a good token went
    unnoticed): a request carrying both, an empty key included, is refused as ambiguous."""
    from fastapi.testclient import TestClient

    class Directory:
        def call(self, service, method, **kwargs):
            if method == "session_status":
                return True
            return STAFF.model_dump(mode="json")

    client = TestClient(create_app(SETTINGS, ServiceCalls(client=Directory())))  # type: ignore[arg-type]
    token = {"Authorization": f"Bearer {issue_token(STAFF, SETTINGS)[0]}"}
    assert client.get("/auth/me", headers=token).status_code == 200
    for key in ("", "cbk_3_" + "A" * 43, "junk"):
        both = client.get("/auth/me", headers={**token, "X-API-Key": key})
        assert both.status_code == 401, (key, both.text)
        assert both.json()["error"]["code"] == "credentials_ambiguous"


def test_pages_get_the_page_policy_and_gzip_and_the_api_keeps_its_own():
    from fastapi.testclient import TestClient

    from gateway.pages import is_page

    assert is_page("/") and is_page("/market/431099101") and is_page("/q/431099101-20261128-0001")
    assert not is_page("/market-sites") and not is_page("/ratings") and not is_page("/public/townships")
    client = TestClient(APP)
    home = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert home.headers["Content-Encoding"] == "gzip"
    assert "form-action 'self'" in home.headers["Content-Security-Policy"]
    api = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in api.headers
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    css = client.get("/static/cunban.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip" and css.headers["Content-Type"].startswith("text/css")
    assert client.get("/static/cunban.css", headers={"If-None-Match": css.headers["ETag"]}).status_code == 304
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_every_template_compiles_and_every_filter_it_names_exists():
    import re

    from gateway.pages.web import HERE, templates

    names = [str(path.relative_to(HERE / "templates")) for path in (HERE / "templates").rglob("*.html")]
    assert len(names) > 20
    for name in names:
        templates.env.get_template(name)  # an unknown filter used directly fails to compile
        source = (HERE / "templates" / name).read_text()
        for used in re.findall(r'map\("([a-z_]+)"\)', source):  # one named to map() is looked up only when run
            assert used in templates.env.filters, f"{name}: no filter {used}"


def test_a_browser_at_an_address_nobody_serves_gets_a_page_in_chinese_and_the_api_its_json():
    from fastapi.testclient import TestClient

    client = TestClient(APP)
    page = client.get("/Guide", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and "没有这个页面" in page.text
    assert page.headers["Content-Type"].startswith("text/html")
    cut_off = client.get("/q/431099101-20261203-000", headers={"Accept": "text/html"})  # a QR link cut short
    assert cut_off.status_code == 404 and "编号不对" in cut_off.text
    api = client.get("/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "route_not_found"


def test_numbers_are_read_as_people_type_them():
    from gateway.pages.public import typed_number

    for typed in ("431099101-20261203-0001", "431099101202612030001", "４３１０９９１０１－２０２６１２０３－０００１",
                  " 431099101 20261203 0001 ", "431099101—20261203—0001"):
        assert typed_number({"receipt_no": typed}, "receipt_no") == "431099101-20261203-0001", typed
    assert typed_number({"receipt_no": "431099101ts202612030002"}, "receipt_no") == "431099101-TS20261203-0002"
    assert typed_number({"phone": "138 1234-5678"}, "phone") == "13812345678"
    assert typed_number({"phone": "１３８１２３４５６７８"}, "phone") == "13812345678"
