"""A steady market-day mix sent through the gateway by a few stations, each retrying as a real station
would: the same request with the same Idempotency-Key until it is answered, whatever fails underneath.

The ledger keeps what the gateway acknowledged — the only promises the system made — and what stayed
uncertain (a request that was never answered may or may not have been carried out; it must exist at most
once)."""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import DEMO_PASSWORD

TOWNSHIP = "431099103"  # 龙口镇 of the demo county
VILLAGES = [f"{TOWNSHIP}00{n}" for n in (1, 2, 3)]
# the one-step township review of 农村最低生活保障申请, taken to its end; each action at most once per case
CASE_ACTIONS = [("accept", "supervisor"), ("approve", "supervisor"), ("complete", "supervisor"),
                ("deliver", "agent")]
RETRY_FOR_SECONDS = 90.0  # how long a station keeps retrying one request before it gives up on it


@dataclass
class Ledger:
    """What was sent and what the gateway answered, by kind of request."""

    filings: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → request, receipt
    complaints: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)  # receipt, action, outcome
    ratings: dict[str, dict[str, Any]] = field(default_factory=dict)  # receipt → level, outcome
    # filings sent once without an Idempotency-Key (marked by their result note): the request id alone keeps
    # a redelivered one from being filed twice
    keyless: dict[str, dict[str, Any]] = field(default_factory=dict)  # note → receipt (None unless answered 201)
    answered_writes: list[tuple[str, int]] = field(default_factory=list)  # (correlation id, status) of each answer
    refused: list[str] = field(default_factory=list)  # answers a correct request should never get
    statuses: Counter[str] = field(default_factory=Counter)  # every answer and failure seen, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged_filings(self) -> dict[str, str]:
        return {key: f["receipt_no"] for key, f in self.filings.items() if f.get("receipt_no")}

    def acknowledged_complaints(self) -> dict[str, str]:
        return {key: c["receipt_no"] for key, c in self.complaints.items() if c.get("receipt_no")}


class Unanswered(Exception):
    """A request that got no answer within RETRY_FOR_SECONDS."""


class Station(threading.Thread):
    """One station's staff at work: files applications (some completed on the spot), registers
    complaints, takes its cases through approval, and records villagers' ratings."""

    def __init__(self, base_url: str, ledger: Ledger, stop: threading.Event, seed: int, pause: float = 0.05):
        super().__init__(daemon=True, name=f"station-{seed}")
        self.base_url, self.ledger, self.stop_event, self.pause = base_url, ledger, stop, pause
        self.random = random.Random(seed)
        self.headers: dict[str, dict[str, str]] = {}
        self.cases: list[tuple[str, int]] = []  # (receipt, index of its next action)
        self.rateable: list[str] = []
        self.errors: list[BaseException] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=15) as self.client:
            try:
                for who in ("agent", "supervisor", "cadre"):
                    self.headers[who] = self._login(who)
                while not self.stop_event.is_set():
                    self._one_request()
                    time.sleep(self.pause)
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)

    def _one_request(self) -> None:
        roll = self.random.random()
        if roll < 0.05:
            self._file_without_a_key()
        elif roll < 0.45 or not (self.cases or self.rateable):
            self._file(complete_now=self.random.random() < 0.3)
        elif roll < 0.6:
            self._register_complaint()
        elif roll < 0.85 and self.cases:
            self._act_on_a_case()
        elif self.rateable:
            self._rate()
        else:
            self._file(complete_now=True)

    # ---- the requests --------------------------------------------------------------------------------
    def _file(self, complete_now: bool) -> None:
        key = uuid.uuid4().hex
        applicant = {"name": "钱七", "phone": f"135{self.random.randrange(10**8):08d}", "id_card": "430124197506150021",
                     "village_code": self.random.choice(VILLAGES)}
        body: dict[str, Any] = {"item_code": "YB-002" if complete_now else "DB-001", "channel": "station",
                                "applicant": applicant}
        if complete_now:
            body |= {"complete_now": True, "result_note": "当场办结", "materials_provided": ["身份证", "户口簿"]}
        else:
            body["materials_provided"] = ["申请书", "身份证", "户口簿", "家庭收入情况说明"]
        record = {"request": body, "receipt_no": None}
        with self.ledger.lock:
            self.ledger.filings[key] = record
        response = self._send("POST", "/applications", "agent", body, key=key)
        if response is None or response.status_code != 201:
            return
        record["receipt_no"] = receipt = response.json()["receipt_no"]
        if complete_now:
            self.rateable.append(receipt)
        else:
            self.cases.append((receipt, 0))

    def _file_without_a_key(self) -> None:
        """A filing completed on the spot, sent once with no key (a station that cannot retry safely): filed
        once if answered 201, at most once if not."""
        note = f"当场办结 {uuid.uuid4().hex[:12]}"
        body = {"item_code": "YB-002", "channel": "station", "complete_now": True, "result_note": note,
                "materials_provided": ["身份证", "户口簿"],
                "applicant": {"name": "钱七", "phone": f"135{self.random.randrange(10**8):08d}",
                              "id_card": "430124197506150021", "village_code": self.random.choice(VILLAGES)}}
        record: dict[str, Any] = {"receipt_no": None}
        with self.ledger.lock:
            self.ledger.keyless[note] = record
        response = self._send("POST", "/applications", "agent", body, once=True)
        if response is not None and response.status_code == 201:
            record["receipt_no"] = response.json()["receipt_no"]

    def _register_complaint(self) -> None:
        key = uuid.uuid4().hex
        body = {"kind": "dispute", "network": "mediation", "category": "land", "channel": "hotline",
                "village_code": self.random.choice(VILLAGES), "description": "山林界址纠纷",
                "complainant": {"name": "孙八", "phone": f"137{self.random.randrange(10**8):08d}"}}
        record = {"request": body, "receipt_no": None}
        with self.ledger.lock:
            self.ledger.complaints[key] = record
        response = self._send("POST", "/complaints", "agent", body, key=key)
        if response is not None and response.status_code == 201:
            record["receipt_no"] = response.json()["complaint"]["receipt_no"]

    def _act_on_a_case(self) -> None:
        receipt, step = self.cases.pop(self.random.randrange(len(self.cases)))
        action, who = CASE_ACTIONS[step]
        entry = {"receipt_no": receipt, "action": action, "outcome": "sent"}
        with self.ledger.lock:
            self.ledger.actions.append(entry)
        response = self._send("POST", f"/applications/{receipt}/actions", who, {"action": action},
                              key=uuid.uuid4().hex, not_yet={404})
        if response is None:
            entry["outcome"] = "unanswered"
        elif response.status_code == 404:  # approvals has not heard of the filing yet: come back later
            entry["outcome"] = "not_yet"
            self.cases.append((receipt, step))
            return
        else:
            entry["outcome"] = "acknowledged" if response.status_code == 200 else "refused"
        if step + 1 < len(CASE_ACTIONS):
            self.cases.append((receipt, step + 1))

    def _rate(self) -> None:
        receipt = self.rateable.pop(self.random.randrange(len(self.rateable)))
        level = self.random.randint(3, 5)
        record = {"level": level, "outcome": "sent"}
        self.ledger.ratings[receipt] = record
        response = self._send("POST", "/ratings", "cadre", {"receipt_no": receipt, "level": level},
                              not_yet={404, 409})
        if response is None:
            record["outcome"] = "unanswered"
        elif response.status_code in (404, 409):  # evaluation has not heard of the filing or completion yet
            del self.ledger.ratings[receipt]
            self.rateable.append(receipt)
        else:
            record["outcome"] = "acknowledged"

    # ---- how a station sends -------------------------------------------------------------------------------
    def _login(self, who: str) -> dict[str, str]:
        username = {"agent": "lk_agent1", "supervisor": "lk_supervisor", "cadre": "lk_cadre1"}[who]
        response = self._send("POST", "/auth/login", None, {"username": username, "password": DEMO_PASSWORD})
        if response is None or response.status_code != 200:
            raise AssertionError(f"could not sign in {username}")
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def _send(self, method: str, path: str, who: str | None, body: dict[str, Any], *, key: str | None = None,
              not_yet: set[int] = frozenset(), once: bool = False) -> httpx.Response | None:
        """Send until answered: a lost connection, a timeout, 429 and 5xx are retried with the same request
        (and key); any other refusal of a correct request is recorded in the ledger. `once`: sent once, its
        answer (or None) returned whatever it is. Each try has a correlation id of its own: every answer the
        gateway gave must have its audit entry."""
        headers = dict(self.headers[who]) if who else {}
        if key:
            headers["Idempotency-Key"] = key
        deadline, delay = time.monotonic() + RETRY_FOR_SECONDS, 0.2
        while time.monotonic() < deadline:
            headers["X-Correlation-ID"] = correlation = uuid.uuid4().hex
            try:
                response = self.client.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                self._seen(type(exc).__name__)
                if once:
                    return None
            else:
                self._seen(str(response.status_code))
                with self.ledger.lock:
                    self.ledger.answered_writes.append((correlation, response.status_code))
                if response.status_code < 400 or response.status_code in not_yet:
                    return response
                if response.status_code not in (429, 500, 502, 503, 504):
                    with self.ledger.lock:
                        self.ledger.refused.append(f"{method} {path} → {response.status_code} {response.text[:300]}")
                    return response
                if once:
                    return response
            time.sleep(delay)
            delay = min(2.0, delay * 2)
        self._seen("unanswered")
        return None

    def _seen(self, what: str) -> None:
        with self.ledger.lock:
            self.ledger.statuses[what] += 1


class Traffic:
    """A few stations at work until stopped."""

    def __init__(self, base_url: str, ledger: Ledger, stations: int = 3, seed: int = 0):
        self.stop_event = threading.Event()
        self.stations = [Station(base_url, ledger, self.stop_event, seed * 100 + n) for n in range(stations)]

    def __enter__(self) -> Traffic:
        for station in self.stations:
            station.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for station in self.stations:
            station.join(timeout=RETRY_FOR_SECONDS + 30)
        errors = [e for s in self.stations for e in s.errors]
        if errors and exc[0] is None:
            raise errors[0]
