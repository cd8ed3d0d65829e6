"""JSON as cunban writes and reads it on the hot path: every message (kombu's `json` serializer, used by
nameko's RPC and events and by cunban's own publishers) and every JSON column (SQLAlchemy's engines), with
orjson, which does in a few microseconds what the standard library does in tens.

The wire stays what kombu's own serializer writes — `application/json`, UTF-8 — so a process of the previous
release reads it. What kombu writes in a form of its own (a datetime, a decimal, bytes: `{"__type__": …,
"__value__": …}`) is still written and read by kombu's serializer: orjson is asked to pass those by
(OPT_PASSTHROUGH_DATETIME) and refuses the rest, and a body naming `__type__` is read by kombu's reader."""
from __future__ import annotations

from typing import Any

import orjson
from kombu.serialization import registry
from kombu.utils import json as kombu_json

_PASS_BY = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> bytes:
    """A message body: orjson's bytes, or kombu's own text for what orjson leaves to it."""
    try:
        return orjson.dumps(value, option=_PASS_BY)
    except TypeError:
        return kombu_json.dumps(value).encode()


def loads(body: bytes | bytearray | memoryview | str) -> Any:
    """A message body, whichever release wrote it."""
    raw = body.tobytes() if isinstance(body, memoryview) else body
    if (b'"__type__"' if isinstance(raw, (bytes, bytearray)) else '"__type__"') in raw:
        return kombu_json.loads(raw)
    return orjson.loads(raw)


def column_text(value: Any) -> str:
    """A JSON column's value (create_engine's json_serializer, which must give text)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()  # {1: …} as the standard library: "1"


def use_for_messages() -> None:
    """Make `json` in kombu (nameko's serializer, and cunban's publishers') this module's. Idempotent."""
    registry.register("json", dumps, loads, content_type="application/json", content_encoding="utf-8")


# installed on import, by the modules that send and receive (shared/service.py, shared/publishing.py,
# shared/rpc_client.py): never at the import of the settings, which a process reads before eventlet's monkey
# patching (that walks every module loaded by then, and kombu's serialization registry trips it up)
use_for_messages()
