"""Contracts of the platform's own operations: dead letters."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.contracts.base import BigId, Contract, View


class DeadLetterView(View):
    """An event a service's handler could not apply after its retries."""

    id: int
    service: str
    event_id: str
    handler: str  # "<service>.<method>"
    event_type: str
    error: str  # the last error, e.g. "KeyError: 'village_code'"
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None
    body: dict[str, Any]  # the event envelope as delivered (events carry no personal data)


class DeadLetterQuery(Contract):
    include_replayed: bool = False
    limit: int = Field(default=100, ge=1, le=1000)


class ReplayRequest(Contract):
    ids: list[BigId] | None = Field(default=None, max_length=1000)  # None: every dead letter not yet replayed


class ReplayResult(View):
    service: str
    replayed: list[int]  # applied now (or found applied already: replay is idempotent)
    failed: dict[int, str]  # still failing, with the error; they stay dead letters
