"""What the gateway accepts as input: bodies within the limit whatever their framing, bounded numbers, clean
text, PATCH nulls with one meaning, and a schema that says what the gateway does."""
from __future__ import annotations

import asyncio

import httpx

from gateway.app import create_app
from shared.settings import Settings
from tests.support import StandInCalls, api_routes

LIMIT = 4096


class NoServices(StandInCalls):
    """Calls are recorded and answered 404: what reached them passed the gateway's checks."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []

    async def call(self, *args, **kwargs):
        from shared.errors import NotFound

        self.calls.append((args, kwargs))
        raise NotFound("a stand-in for the services", code="stub_not_found")


def _request(app, method: str, url: str, **kwargs) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.request(method, url, **kwargs)
    return asyncio.run(go())


# ---- 11: the body limit holds for the bytes received, not only the Content-Length announced ----------------

def test_a_chunked_body_past_the_limit_is_refused_with_413_before_it_is_read_whole():
    services = NoServices()
    app = create_app(Settings(max_body_bytes=LIMIT), services)  # type: ignore[arg-type]
    sent = [0]

    async def endless_json():  # no Content-Length: Transfer-Encoding chunked, 1000 chunks of 1 KiB
        yield b'{"kind": "complaint", "description": "'
        for _ in range(1000):
            sent[0] += 1
            yield b"x" * 1024

    response = _request(app, "POST", "/public/complaints", content=endless_json(),
                        headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert sent[0] <= LIMIT // 1024 + 2  # the gateway stopped reading at the limit
    assert not services.calls


def test_the_received_limit_holds_on_every_route_and_a_body_within_it_passes():
    app = create_app(Settings(max_body_bytes=LIMIT), NoServices())  # type: ignore[arg-type]

    async def chunks(n: int):
        for _ in range(n):
            yield b" " * 1024

    for url in ("/auth/login", "/townships", "/complaints/0123456789abcdef0123456789abcdef/actions"):
        response = _request(app, "POST", url, content=chunks(50), headers={"content-type": "application/json"})
        assert response.status_code == 413, (url, response.text)
        assert response.json()["error"]["code"] == "payload_too_large"
    small = _request(app, "POST", "/auth/login", content=chunks(2), headers={"content-type": "application/json"})
    assert small.status_code == 422 and small.json()["error"]["code"] == "validation_failed"


# ---- 12 and 14: every number the gateway accepts is bounded, every text refuses control characters ----------

def _unchecked(tp, meta: list, where: str, seen: set, found: list[str]) -> None:
    """Every int with both bounds, every str with a pattern or the clean-text check, through models, lists,
    unions and mappings."""
    import types
    from enum import Enum
    from typing import Annotated, Literal, Union, get_args, get_origin

    from pydantic import BaseModel
    from pydantic.fields import FieldInfo

    from shared.contracts.base import clean_text

    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        for m in extra:
            meta = meta + (list(m.metadata) if isinstance(m, FieldInfo) else [m])
        _unchecked(base, meta, where, seen, found)
    elif origin in (Union, types.UnionType, list, set, frozenset, tuple, dict):
        for arg in get_args(tp):
            if arg is not Ellipsis:
                _unchecked(arg, meta if origin in (Union, types.UnionType) else [], where, seen, found)
    elif origin is Literal or tp in (type(None), bool) or (isinstance(tp, type) and issubclass(tp, Enum)):
        return
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in seen:
            seen.add(tp)
            for name, field in tp.model_fields.items():
                _unchecked(field.annotation, list(field.metadata), f"{tp.__name__}.{name}", seen, found)
    elif tp is int:
        bounds = {b for m in meta for b in ("ge", "gt", "le", "lt") if getattr(m, b, None) is not None}
        if not (bounds & {"ge", "gt"} and bounds & {"le", "lt"}):
            found.append(f"int {where}")
    elif tp is str and not any(getattr(m, "pattern", None) or getattr(m, "func", None) is clean_text for m in meta):
        found.append(f"str {where}")


def test_every_number_the_gateway_accepts_is_bounded_and_every_text_is_checked():
    """Bodies, query and path parameters and headers of every operation, walked through their models: an
    int without both bounds reaches the database as an overflow (500), a str without the clean-text check
    carries a 0-byte PostgreSQL refuses (500)."""
    app = create_app(Settings(), NoServices())  # type: ignore[arg-type]
    found: list[str] = []
    routes = list(api_routes(app.routes))
    assert len(routes) > 100
    for route in routes:
        d = route.dependant
        for param in d.body_params + d.query_params + d.path_params + d.header_params:
            _unchecked(param.field_info.annotation, list(param.field_info.metadata),
                       f"{route.operation_id}:{param.name}", set(), found)
    assert not found, "\n".join(sorted(set(found)))


def test_an_id_past_the_database_integer_is_refused_as_invalid_input():
    import pytest

    from shared.contracts.base import parse
    from shared.contracts.scheduling import LeaveCreate
    from shared.errors import ValidationFailed

    leave = {"staff_id": 18446744073709551616, "first_day": "2031-03-02", "last_day": "2031-03-03", "reason": "病假"}
    with pytest.raises(ValidationFailed) as err:
        parse(LeaveCreate, leave)
    assert [d["field"] for d in err.value.details] == ["staff_id"]
    assert parse(LeaveCreate, {**leave, "staff_id": 2**31 - 1}).staff_id == 2**31 - 1


def test_a_0_byte_or_other_control_character_in_text_is_refused_and_tab_and_newline_are_kept():
    import pytest

    from shared.contracts.base import parse
    from shared.contracts.complaints import PublicComplaint
    from shared.errors import ValidationFailed

    complaint = {"kind": "petition", "category": "roads", "village_code": "431099101001",
                 "description": "窗口无人"}
    for bad in ("\x00", "\x1b[31m", "\r", "\x7f", "\x85"):
        with pytest.raises(ValidationFailed) as err:
            parse(PublicComplaint, {**complaint, "description": f"窗口{bad}无人"})
        assert [d["field"] for d in err.value.details] == ["description"], bad
        assert "control character" in err.value.details[0]["message"]
    assert parse(PublicComplaint, {**complaint, "description": "第一行\n\t第二行"}).description == "第一行\n\t第二行"

    response = _request(create_app(Settings(), NoServices()), "POST", "/public/complaints",  # type: ignore[arg-type]
                        json={**complaint, "description": "路灯\u0000坏了"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.description"


def test_a_control_character_in_a_path_reaches_the_audit_log_escaped():
    """The audit entry of a refused write keeps its path, so a 0-byte there must not stop PostgreSQL storing it."""
    from shared.contracts.base import parse
    from shared.contracts.directory import AuditEntry

    services = NoServices()
    response = _request(create_app(Settings(), services), "POST", "/complaints/%00%1b/actions",  # type: ignore[arg-type]
                        json={"action": "sign"})
    assert response.status_code in (401, 422)
    [entry] = services.audited
    assert entry.target == "/complaints/%00%1B/actions"
    assert parse(AuditEntry, entry.model_dump(mode="json")) == entry


# ---- 13: PATCH null, one rule: it clears what may be empty, and is refused naming the field elsewhere ----------

def _signed_in_app(services):
    from gateway.auth import current_staff
    from shared.contracts.caller import Caller

    app = create_app(Settings(), services)
    app.dependency_overrides[current_staff] = lambda: Caller(staff_id=1, role="county_admin")
    return app


def test_patch_null_is_refused_naming_the_field_where_the_record_cannot_be_empty():
    services = NoServices()
    app = _signed_in_app(services)
    for url, field in (("/townships/431099101", "name"), ("/villages/431099101001", "name"),
                       ("/villages/431099101001", "kind"), ("/stations/ST-1", "name"), ("/staff/7", "active"),
                       ("/staff/7", "role"), ("/catalogue/431099101/YB-1", "promised_days"),
                       ("/market-sites/QS-JISHI", "rule"), ("/visit-series/3", "last_day")):
        response = _request(app, "PATCH", url, json={field: None})
        assert response.status_code == 422, (url, field, response.text)
        assert [d["field"] for d in response.json()["error"]["details"]] == [f"body.{field}"], (url, field)
    assert not services.calls
    for url, field in (("/townships/431099101", "hotline"), ("/stations/ST-1", "address"), ("/staff/7", "phone"),
                       ("/catalogue/431099101/YB-1", "fee_legal_basis")):
        response = _request(app, "PATCH", url, json={field: None})
        assert response.json()["error"]["code"] == "stub_not_found", (url, field, response.text)
    assert [call[1]["changes"] for call in services.calls][:2] == [{"hotline": None}, {"address": None}]


def test_the_schema_says_where_null_is_accepted():
    schemas = create_app(Settings(), NoServices()).openapi()["components"]["schemas"]  # type: ignore[arg-type]

    def nullable(model: str, field: str) -> bool:
        prop = schemas[model]["properties"][field]
        return {"type": "null"} in prop.get("anyOf", []) or prop.get("type") == "null"

    assert nullable("TownshipUpdate", "hotline") and not nullable("TownshipUpdate", "name")
    assert nullable("StationUpdate", "address") and not nullable("VillageUpdate", "kind")
    assert not nullable("CatalogueItemUpdate", "procedure_steps") and nullable("CatalogueItemUpdate", "fee_legal_basis")
    assert schemas["CatalogueItemUpdate"]["properties"]["procedure_steps"]["minItems"] == 1


# ---- 15: the schema and the gateway agree ---------------------------------------------------------------------

def test_a_405_says_which_methods_the_path_allows():
    response = _request(create_app(Settings(), NoServices()), "POST", "/healthz")  # type: ignore[arg-type]
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


def test_integer_and_date_parameters_take_only_what_the_schema_says():
    """A query or path parameter the schema calls an integer or a date is one, written as one: no 0.0 for 0,
    no 0 for 1970-01-01."""
    app = _signed_in_app(NoServices())
    refused = ["/public/townships/431099101/market-days?start=0", "/public/townships/431099101/market-days?end=1e3",
               "/townships?offset=0.0", "/townships?limit=5.0", "/townships?limit=%205", "/staff/7.0",
               "/calendar/2026.0", "/figures?level=county&start=20260101",
               "/audit-log?since=0", "/audit-log?staff_id=1.0"]
    for url in refused:
        response = _request(app, "GET", url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["code"] == "validation_failed"
    for url in ("/public/townships/431099101/market-days?start=2031-03-01&end=2031-03-31",
                "/townships?offset=0&limit=5", "/staff/7", "/calendar/2031",
                "/audit-log?since=2031-01-01T08:00:00Z",
                "/audit-log?staff_id=1"):
        assert _request(app, "GET", url).json()["error"]["code"] == "stub_not_found", url
    assert _request(app, "DELETE", "/calendar/days/0").status_code == 422
    assert _request(app, "DELETE", "/calendar/days/2031-01-01").json()["error"]["code"] == "stub_not_found"


def _input_models(app):
    import typing

    from pydantic import BaseModel

    seen: set = set()

    def walk(tp):
        if typing.get_origin(tp) is not None:
            for arg in typing.get_args(tp):
                yield from walk(arg)
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen.add(tp)
            yield tp
            for field in tp.model_fields.values():
                yield from walk(field.annotation)

    for route in api_routes(app.routes):
        for param in route.dependant.body_params + route.dependant.query_params:
            yield from walk(param.field_info.annotation)


def test_rules_across_fields_are_described_in_the_schema():
    """A request can be valid field by field and still break a rule between fields (a fee without its legal
    basis, an end before its start): the schema's description of the model or parameter says so."""
    app = create_app(Settings(), NoServices())  # type: ignore[arg-type]
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    undescribed = []
    for model in _input_models(app):
        if model.__pydantic_decorators__.model_validators:
            schema = schemas.get(model.__name__) or schemas.get(f"{model.__name__}-Input") or {}
            if not schema.get("description"):
                undescribed.append(model.__name__)
    assert not undescribed, undescribed
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            params = {p["name"]: p for p in operation.get("parameters", [])}
            if "start" in params and "end" in params:  # a period: the services refuse one reversed or too long
                assert "on or after start" in params["end"].get("description", ""), (method, path)


def test_a_405_lists_every_method_of_the_path_whichever_route_matched_first():
    app = create_app(Settings(), NoServices())  # type: ignore[arg-type]
    for url, allowed in (("/catalogue", "GET, POST"), ("/catalogue/431099101/YB-1", "DELETE, GET, PATCH"),
                         ("/campaigns", "GET, POST")):
        response = _request(app, "OPTIONS", url)
        assert response.status_code == 405, url
        assert response.headers["Allow"] == allowed, url
