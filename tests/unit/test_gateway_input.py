"""What the gateway accepts as input: bodies within the limit whatever their framing, bounded numbers, clean
text, PATCH nulls with one meaning, and a schema that says what the gateway does."""
from __future__ import annotations

import asyncio

import httpx

from gateway.app import create_app
from shared.settings import Settings

LIMIT = 4096


class NoServices:
    """Calls that must not happen: the gateway refuses before any service is asked."""

    green = False

    def __init__(self):
        self.calls: list[tuple] = []

    async def call(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return {}

    def audit(self, entry):
        pass

    async def settle(self):
        pass


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
