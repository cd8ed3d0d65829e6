"""The audit log's gateway side: every write, and every read of personal data, becomes an entry —
who (staff, role, township, station), what (operation and path), when, from where, the correlation id
and the outcome — announced to the directory, which stores it append-only (GET /audit-log). The entries
of a moment (AUDIT_WINDOW_SECONDS, gateway/rpc.py) travel together as one event.

Routes that return personal data say so with `openapi_extra={"x-personal-data": True}` (PERSONAL_DATA);
the query string is never logged (a look-up carries phone digits there)."""
from __future__ import annotations

import re
import uuid
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from fastapi import Request

from shared.clock import utcnow
from shared.contracts.caller import Caller
from shared.contracts.directory import AuditEntries, AuditEntry
from shared.contracts.envelope import EventEnvelope
from shared.observability import correlation_id

PERSONAL_DATA: dict[str, Any] = {"x-personal-data": True}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _path(request: Request) -> str:
    """The path as the entry keeps it: a control character sent percent-encoded stays encoded, so the
    entry of a refused request is stored on PostgreSQL (which refuses a 0-byte) like any other."""
    return _UNPRINTABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")),
                            request.url.path)[:300]


def client_of(request: Request) -> str:
    """The client's address: the connecting one, unless that is one of CUNBAN_TRUSTED_PROXIES (the county's
    ingress); then the nearest address in X-Forwarded-For that is not a trusted proxy. Each proxy appends
    the address it saw, so what a client writes there itself is further left and never believed."""
    client = request.client.host if request.client else "unknown"
    trusted = getattr(request.app.state, "trusted_proxies", ())
    if trusted and _among(client, trusted):
        hops = [hop.strip() for hop in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
        for hop in reversed([hop for hop in hops if hop]):
            client = hop
            if not _among(hop, trusted):
                break
    return client[:64]


def _among(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def audit_entry(request: Request, status: int) -> AuditEntry | None:
    route = request.scope.get("route")
    operation = getattr(route, "operation_id", None)
    if operation is None:
        return None
    personal = bool((getattr(route, "openapi_extra", None) or {}).get("x-personal-data"))
    if request.method not in WRITES and not personal:
        return None
    caller: Caller = getattr(request.state, "caller", None) or Caller.public()
    return AuditEntry(id=uuid.uuid4().hex, at=utcnow(), correlation_id=correlation_id.get(),
                      staff_id=caller.staff_id, username=caller.username, role=caller.role,
                      township_code=caller.township_code, station_code=caller.station_code, action=operation,
                      method=request.method, target=_path(request), outcome=status,
                      client=client_of(request), personal_data=personal and request.method not in WRITES)


def audit_envelope(entries: list[AuditEntry]) -> EventEnvelope:
    """Entries of a moment as one event: under load, one message and one insert for many requests."""
    return EventEnvelope(event_id=uuid.uuid4().hex, source="gateway", type="audit_entries_recorded",
                         occurred_at=entries[0].at, payload=AuditEntries(entries=entries).model_dump(mode="json"))
