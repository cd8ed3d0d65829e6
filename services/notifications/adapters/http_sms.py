"""The generic signed HTTP provider, for a county's own 政务短信平台.

Its contract (docs/OPERATIONS.md, "SMS providers"):

- Send: `POST <url>` with a JSON body `{"phone": "13812345678", "text": "【签名】…", "key": "<send key>"}` and the
  headers `Idempotency-Key: <send key>`, `X-Cunban-Timestamp: <unix seconds>` and
  `X-Cunban-Signature: <hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>`. The platform answers
  2xx with `{"message_id": "…"}`; the same Idempotency-Key answers the first message's id and sends nothing
  again (so this provider is `idempotent`: a send cut off midway is simply sent again). 429 and 5xx are
  tried again later; any other 4xx (`{"error": "…"}`) fails the message for good.
- Callbacks the platform makes to us are signed the same way (the same secret, the same two headers): delivery
  reports `{"reports": [{"message_id": "…", "status": "delivered" | "undelivered", "error": "…"}]}` and replies
  `{"replies": [{"phone": "…", "text": "TD"}]}`. A timestamp more than five minutes off is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import httpx

from services.notifications.adapters.providers import Accepted, ProviderFailed, Sms

TIMESTAMP = "X-Cunban-Timestamp"
SIGNATURE = "X-Cunban-Signature"
SKEW = 300  # seconds a signed request's timestamp may be off


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP: timestamp, SIGNATURE: signature(secret, timestamp, body)}


def verified(secret: str, timestamp: str | None, given: str | None, body: bytes, now: float | None = None) -> bool:
    """Whether a callback carries our shared secret's signature over its timestamp and body, made recently."""
    if not timestamp or not given or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SKEW:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given.strip().lower())


class HttpProvider:
    name = "http"
    idempotent = True  # the platform keeps our Idempotency-Key

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, client: httpx.Client | None = None):
        self.url, self.secret = url, secret
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, sms: Sms, now: datetime) -> Accepted:
        body = json.dumps({"phone": sms.phone, "text": sms.text, "key": sms.key}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": sms.key,
                   **signed_headers(self.secret, body)}
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as e:
            raise ProviderFailed(f"http: timed out ({type(e).__name__})", retry=True) from e
        except httpx.HTTPError as e:
            raise ProviderFailed(f"http: {type(e).__name__}: {e}", retry=True) from e
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderFailed(f"http: {response.status_code} {_error(response)}", retry=True)
        if response.status_code >= 400:
            raise ProviderFailed(f"http: {response.status_code} {_error(response)}", retry=False)
        try:
            message_id = str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError) as e:
            raise ProviderFailed("http: the answer has no message_id", retry=True) from e
        return Accepted(message_id)

    def status(self, key: str) -> Accepted | None:  # never asked: the platform keeps our key (idempotent)
        return None


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))[:200]
    except ValueError:
        return response.text[:200]
