"""Every line the embedded system writes is one JSON object (issue 23, item 8): its own loggers, nameko's,
uvicorn's, warnings; a refusal the caller is told about (404, 422, 405) is logged without a traceback, and the
correlation id a caller supplied is logged as given, never masked (item 9)."""
from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support import embedded_system, login


def test_every_line_is_json_and_an_expected_404_has_no_traceback(tmp_path: Path):
    quoted = "abcd13912345678ef"  # an id a user may quote back: a mobile-shaped run inside, not a phone
    with embedded_system(tmp_path) as (base, process), httpx.Client(base_url=base, timeout=30) as client:
        supervisor = login(client, "qs_supervisor")
        assert client.get("/townships/431099102", headers=supervisor).status_code == 404
        missing = client.get("/applications/431099101-20200101-0001",
                             headers={**supervisor, "X-Correlation-Id": quoted})
        assert missing.status_code == 404
        assert missing.json()["error"]["correlation_id"] == quoted
        assert client.get("/no-such-route").status_code == 404
        assert client.get("/guide/999999999", headers={"accept": "text/html"}).status_code == 404
        assert client.post("/catalogue", headers=supervisor, json={"code": "x"}).status_code == 422
        assert client.delete("/healthz").status_code == 405
        assert client.post("/public/complaints", json={"description": "电话13612345678"}).status_code == 422
    records = [json.loads(line) for line in process.log().splitlines()]
    assert all(isinstance(record, dict) and {"ts", "level", "logger", "message"} <= set(record) for record in records)
    assert not [r for r in records if "exc_info" in r], "a traceback for an expected refusal"
    mine = [r for r in records if r["correlation_id"] == quoted]
    assert {r["logger"] for r in mine} >= {"cunban.gateway", "nameko.containers"}
    assert any(r.get("error") == "NotFound: application_not_found: application not found" for r in mine)
    assert "13612345678" not in process.log()
