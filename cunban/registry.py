"""Every service the system runs, by name (shared/service_names.py holds the names): the one list the
runner, migrations and compose follow."""
from __future__ import annotations

import importlib
from typing import Any

from shared.service_names import SERVICE_NAMES

# each service's nameko class, at services/<name>/service.py
SERVICES: dict[str, str] = {name: f"services.{name}.service:{name.capitalize()}Service" for name in SERVICE_NAMES}


def service_class(name: str) -> type[Any]:
    module, _, attr = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def nameko_config(settings: Any, services: list[str] | None = None) -> dict[str, Any]:
    return {
        "AMQP_URI": settings.amqp_uri,
        "DB_URLS": {name: settings.database_url(name) for name in (services or list(SERVICES))},
        "OUTBOX_POLL_SECONDS": settings.outbox_poll_seconds,
        "PII_KEYS": settings.pii_keys,
        "PII_SEARCH_KEY": settings.pii_search_key,
        "serializer": "json",
        "max_workers": 10,
        "PARENT_CALLS_TRACKED": 10,
    }
