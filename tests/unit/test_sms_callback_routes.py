"""The gateway's SMS callback routes: outside the staff sign-in, they hand notifications the body exactly as
it came with the token or signature headers, as the platform's own caller, and answer each provider in the
format it expects; a callback notifications cannot verify is a 401 with a stable code."""
from __future__ import annotations

import asyncio
import json

import httpx

from gateway.app import create_app
from shared.contracts.caller import Role
from shared.errors import Unauthenticated
from shared.settings import Settings
from tests.support import StandInCalls


class Notifications(StandInCalls):
    def __init__(self, refuse: bool = False):
        super().__init__()
        self.calls: list[tuple[str, str, dict]] = []
        self.refuse = refuse

    async def call(self, service, method, *, caller, **kwargs):
        self.calls.append((service, method, {"role": caller.role, **kwargs}))
        if self.refuse:
            raise Unauthenticated("the callback's signature or token is not the county's", code="callback_unverified")
        return {"received": 1, "applied": 1, "unknown": 0}


def post(calls: Notifications, url: str, body: bytes, headers: dict | None = None) -> httpx.Response:
    app = create_app(Settings(), calls)  # type: ignore[arg-type]

    async def request():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.post(url, content=body, headers={"Content-Type": "application/json",
                                                                  **(headers or {})})
    return asyncio.run(request())


def test_each_provider_is_answered_in_its_own_format():
    body = json.dumps([{"biz_id": "b1", "success": True}]).encode() + b"\n"
    calls = Notifications()
    aliyun = post(calls, "/notifications/callbacks/aliyun/431099/status?token=abc", body)
    assert (aliyun.status_code, aliyun.json()) == (200, {"code": 0, "msg": "成功"})
    [(service, method, sent)] = calls.calls
    assert (service, method) == ("notifications", "delivery_reports")
    assert sent == {"role": Role.SYSTEM, "provider": "aliyun", "county_code": "431099",
                    "callback": {"body": body.decode(), "token": "abc", "timestamp": None, "signature": None}}
    tencent = post(calls, "/notifications/callbacks/tencent/431099/uplink?token=abc", b"{}")
    assert (tencent.status_code, tencent.json()) == (200, {"result": 0, "errmsg": "OK"})
    assert calls.calls[-1][1] == "record_opt_outs"
    http = post(calls, "/notifications/callbacks/http/431099/status", b"{}",
                {"X-Cunban-Timestamp": "1764734400", "X-Cunban-Signature": "ab" * 32})
    assert http.json() == {"ok": True, "received": 1, "applied": 1, "unknown": 0}
    assert calls.calls[-1][2]["callback"]["signature"] == "ab" * 32
    assert all("token" not in entry.target for entry in calls.audited)  # the audit log keeps the path only


def test_an_unverified_callback_is_a_401_with_a_stable_code_and_unknown_providers_a_422():
    refused = post(Notifications(refuse=True), "/notifications/callbacks/aliyun/431099/status?token=x", b"[]")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "callback_unverified"
    calls = Notifications()
    assert post(calls, "/notifications/callbacks/sendgrid/431099/status", b"[]").status_code == 422
    assert post(calls, "/notifications/callbacks/aliyun/4310/status", b"[]").status_code == 422
    assert calls.calls == []
