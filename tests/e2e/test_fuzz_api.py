"""Bad input never breaks the gateway: every operation in the OpenAPI document is called with random
paths, query strings and bodies, signed in as a county admin, and must answer below 500 with the
error shape. New endpoints are covered because the test walks the document.

In the test suite the fuzzing is deterministic: a fixed seed and example budget, so a clean run is
reproducible and a landing never depends on luck. `scripts/fuzz` fuzzes deeper (CUNBAN_FUZZ_DEEP=1):
random seeds, ten times the examples, every phase of hypothesis, and schemathesis's own run with every
phase (examples, coverage, fuzzing, stateful links) and every check. What it finds becomes a fixed
example in REGRESSIONS below."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support import embedded_system, login

pytestmark = pytest.mark.e2e

DEEP = os.environ.get("CUNBAN_FUZZ_DEEP") == "1"
SEED = 20261203  # the suite's fixed seed; the deep run draws its own and prints it
DEEP_FACTOR = int(os.environ.get("CUNBAN_FUZZ_FACTOR", "10"))


def fuzzing(examples: int):
    """The suite: this seed and these many examples, nothing remembered between runs (database=None).
    Deep: a random seed (hypothesis prints how to reproduce a failure), ten times the examples, every phase."""
    common = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}
    if DEEP:
        return settings(max_examples=examples * DEEP_FACTOR, phases=list(Phase), print_blob=True, **common)

    def fixed(test):
        return seed(SEED)(settings(max_examples=examples, **common)(test))
    return fixed

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=15)
path_values = st.one_of(st.text(min_size=1, max_size=40), st.integers(-2**40, 2**70).map(str),
                        st.sampled_from(["431099101", "431099101001", "DB-001", "2026-10-01", "0", "..", "%00"]))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # the deep run is many times the traffic of a county: the abuse limits would answer most of it with 429
    unlimited = {"CUNBAN_CLIENT_REQUESTS_PER_MINUTE": "1000000", "CUNBAN_ACCOUNT_REQUESTS_PER_MINUTE": "1000000"}
    with embedded_system(tmp_path_factory.mktemp("fuzz"), env=unlimited if DEEP else None) as (base, process), \
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


@fuzzing(examples=150)
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


@fuzzing(examples=200)
@given(data=st.data())
def test_random_requests_never_fail_with_5xx(api, data):
    client, admin, spec, process = api
    path, method, operation = data.draw(st.sampled_from(list(_operations(spec))))
    if operation.get("operationId") in {"withdraw_catalogue_item", "clear_calendar_day", "update_staff", "logout",
                                        "change_own_password"}:
        # destructive on the demo data (or the admin's session or sign-in throttle) other examples rely on; junk
        # paths only
        path = path.replace("{", "junk{") if "{" in path else f"{path}-junk"
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


# ---- what fuzzing found, kept as fixed examples: each once answered 500 (or was read whole) ----------------------

REGRESSIONS = [  # (method, path, JSON body, expected status)
    ("POST", "/leave", {"staff_id": 18446744073709551616, "first_day": "2031-03-02", "last_day": "2031-03-03",
                        "reason": "病假"}, 422),  # OverflowError in the database
    ("POST", "/dead-letters/replay", {"service": "intake", "ids": [2**64]}, 422),
    ("PATCH", "/villages/431099101001", {"name": None}, 422),  # ValidationError inside the directory
    ("PATCH", "/market-sites/QS-JISHI", {"rule": None}, 422),
    ("POST", "/public/complaints", {"kind": "petition", "category": "roads", "village_code": "431099101001",
                                    "description": "路灯\u0000坏了"}, 422),  # a 0-byte PostgreSQL refuses
    ("PATCH", "/villages/431099101001", {"name": "石门\u0000村"}, 422),
    ("GET", "/townships?offset=0.0", None, 422),  # lax parsing took 0.0 for 0
    ("GET", "/public/townships/431099101/market-days?start=0", None, 422),  # and 0 for 1970-01-01
]


@pytest.mark.parametrize(("method", "path", "body", "status"), REGRESSIONS,
                         ids=[f"{m} {p}" for m, p, _, _ in REGRESSIONS])
def test_what_fuzzing_found_stays_fixed(api, method, path, body, status):
    client, _, spec, process = api
    admin = login(client, "sysadmin")  # a fresh session: fuzzing may have ended the module's; every county
    response = client.request(method, path, headers={**admin, "content-type": "application/json"},
                              content=None if body is None else json.dumps(body))
    assert response.status_code == status, (response.text, process.log()[-2000:])
    assert response.json()["error"]["code"]


DESTRUCTIVE = ("logout", "withdraw_catalogue_item", "clear_calendar_day", "update_staff", "rotate_station_key",
               "revoke_station_key", "change_own_password")


@pytest.mark.skipif(not DEEP, reason="the deep run only (scripts/fuzz)")
def test_schemathesis_every_phase_finds_nothing(api, tmp_path):
    """schemathesis's own run: examples, coverage, fuzzing and stateful links, a random seed, every check but
    positive_data_acceptance.
    A failure leaves a pytest file reproducing it (its path is printed): turn it into a REGRESSIONS entry."""
    client, admin, spec, process = api
    run_seed = int(os.environ.get("CUNBAN_FUZZ_SEED") or secrets.randbelow(2**31))
    reports = Path(os.environ.get("CUNBAN_FUZZ_REPORTS") or tmp_path)
    reports.mkdir(parents=True, exist_ok=True)
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [cli, "run", f"{client.base_url}/openapi.json", "--phases", "examples,coverage,fuzzing,stateful",
               # every check but positive_data_acceptance: a request valid field by field may break a rule across
               # fields (stated in the schema's descriptions) or name a record that does not exist
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", str(10 * DEEP_FACTOR), "--seed", str(run_seed),
               "-H", f"Authorization: {admin['Authorization']}", "--report", "junit,pytest",
               "--report-dir", str(reports), "--report-pytest-path", str(reports / "reproduce.py"),
               *(arg for op in DESTRUCTIVE for arg in ("--exclude-operation-id", op))]
    print("schemathesis seed", run_seed, "reports in", reports)
    # run in the reports' folder: schemathesis keeps its example database (.schemathesis) where it runs
    finished = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=reports)
    (reports / "schemathesis.txt").write_text(finished.stdout + finished.stderr, encoding="utf-8")
    print(finished.stdout[-20000:])
    assert finished.returncode == 0, (finished.stdout[-5000:], finished.stderr[-2000:], process.log()[-2000:])
