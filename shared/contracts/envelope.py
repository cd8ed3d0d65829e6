"""The event envelope: what every event carries around its payload."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    source: str  # the publishing service; the nameko event exchange is "<source>.events"
    type: str  # the routing key, e.g. "township_created"
    version: int = 1
    occurred_at: datetime
    correlation_id: str | None = None
    township_code: str | None = None  # tenant of the fact; None for county-wide facts
    payload: dict[str, Any]
