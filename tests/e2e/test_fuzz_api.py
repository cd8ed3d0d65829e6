"""Bad input never breaks the gateway: every operation in the OpenAPI document is called with random
paths, query strings and bodies, signed in as a county admin, and must answer below 500 with the
error shape. New endpoints are covered because the test walks the document."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import embedded_system, login

pytestmark = pytest.mark.e2e

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=15)
path_values = st.one_of(st.text(min_size=1, max_size=40), st.integers(-2**40, 2**70).map(str),
                        st.sampled_from(["431099101", "431099101001", "DB-001", "2026-10-01", "0", "..", "%00"]))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with embedded_system(tmp_path_factory.mktemp("fuzz")) as (base, process), \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client, login(client, "admin"), client.get("/openapi.json").json(), process


def _operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


VALID_BODIES = {
    "create_catalogue_item": {
        "township_code": "431099101", "code": "FZ-1", "name": "模糊测试事项", "category": "agency",
        "handling_level": "village", "eligible_applicants": "村民", "procedure_steps": ["登记"],
        "required_materials": [], "promised_days": 1, "fee_yuan": "0", "fee_legal_basis": None,
        "supervision_method": "12345"},
    "create_market_site": {
        "code": "FZ-SITE", "township_code": "431099101", "village_code": "431099101001", "name": "集",
        "location": "街", "rule": {"kind": "lunar_days", "pattern": "逢单"}, "opens_at": "08:00",
        "closes_at": "12:00"},
    "create_staff": {"username": "fuzz_user", "full_name": "测试", "role": "township_cadre",
                     "township_code": "431099101", "password": "long-enough-1"},
    "set_calendar_day": {"kind": "local_day_off", "name": "测试", "source": "local"},
}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_nearly_valid_bodies_never_fail_with_5xx(api, data):
    """One field of an otherwise valid body replaced by junk: the edges where validation is thinnest."""
    client, admin, spec, process = api
    operation_id = data.draw(st.sampled_from(sorted(VALID_BODIES)))
    path, method = next((p, m) for p, m, op in _operations(spec) if op["operationId"] == operation_id)
    body = dict(VALID_BODIES[operation_id])
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = data.draw(json_values)
    url = path.replace("{day}", "2031-12-31")
    response = client.request(method, url, content=json.dumps(body),
                              headers={**admin, "content-type": "application/json"})
    assert response.status_code < 500, (method, url, body, response.text, process.log()[-2000:])


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_requests_never_fail_with_5xx(api, data):
    client, admin, spec, process = api
    path, method, operation = data.draw(st.sampled_from(list(_operations(spec))))
    if operation.get("operationId") in {"withdraw_catalogue_item", "clear_calendar_day", "update_staff"}:
        # destructive on the demo data other examples rely on; exercised with junk paths only
        path = path.replace("{", "junk{")
    url = re.sub(r"\{[^}]+\}", lambda _: quote(data.draw(path_values), safe=""), path)
    params = data.draw(st.dictionaries(st.sampled_from(["limit", "offset", "township_code", "category",
                                                        "include_withdrawn", "junk"]),
                                       st.text(max_size=12), max_size=3))
    body = data.draw(json_values)
    headers = admin if data.draw(st.booleans()) else {"Authorization": data.draw(st.sampled_from(
        ["", "Bearer", "Bearer x.y.z", "Basic abc"]))}
    response = client.request(method, url, params=params, content=json.dumps(body),
                              headers={**headers, "content-type": "application/json"})
    assert response.status_code < 500, (method, url, body, response.text, process.log()[-2000:])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
