"""JSON logs: every line a process writes on stderr is one JSON object — its own loggers, nameko's, the
libraries', uvicorn's, warnings, uncaught exceptions and eventlet's hub — with the correlation id, a
traceback inside the record (`exc_info`) only for the unexpected, and personal data masked (shared/masking.py).
Standard library only, so a process configures it before it chooses its event loop."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from typing import Any

from shared.errors import CunbanError
from shared.masking import mask_fields, mask_text

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

# what every LogRecord carries (and uvicorn's copy of the message with terminal colours); anything else on a
# record came as `extra=` and is logged as a field
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message"}


def expected(exc: BaseException | None) -> bool:
    """A refusal the caller is told about (a 4xx: not found, invalid, forbidden …): no traceback needed."""
    return isinstance(exc, CunbanError) and exc.http_status < 500


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            "correlation_id": correlation_id.get(),
        }
        extras = {key: value for key, value in vars(record).items()
                  if key not in _RECORD_ATTRIBUTES and not key.startswith("_")}
        entry.update(mask_fields(extras))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error"] = mask_text(f"{type(exc).__name__}: {exc}")
            if not expected(exc):
                entry["exc_info"] = mask_text(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["stack_info"] = mask_text(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=lambda value: mask_text(str(value)))


def configure_logging(level: str = "INFO") -> None:
    """Route everything this process logs, warns or dies of through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nameko", "kombu", "amqp", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.lastResort = handler  # a logger made outside the tree (eventlet's patcher makes one) writes JSON too
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
    _route_eventlet_hub()


def _log_uncaught(exc_type: type[BaseException], exc: BaseException | None, tb: Any) -> None:
    if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
        return
    logging.getLogger("cunban").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _route_eventlet_hub() -> None:
    """eventlet's hub prints the error of a green thread or timer with traceback.print_exception; in a process
    that has loaded it, the hub logs it instead."""
    hub_module = sys.modules.get("eventlet.hubs.hub")
    if hub_module is None:
        return
    hub_log = logging.getLogger("eventlet.hub")

    def squelch_timer_exception(self: Any, timer: Any, exc_info: Any) -> None:
        hub_log.error("a green thread failed", exc_info=exc_info)

    def squelch_generic_exception(self: Any, exc_info: Any) -> None:
        hub_log.error("the event loop caught an error", exc_info=exc_info)

    def squelch_exception(self: Any, fileno: Any, exc_info: Any) -> None:
        hub_log.error("removing descriptor %r after an error", fileno, exc_info=exc_info)
        try:
            self.remove_descriptor(fileno)
        except Exception:  # noqa: BLE001 - as eventlet does: the descriptor may be gone already
            hub_log.error("could not remove descriptor %r", fileno, exc_info=True)

    hub_module.BaseHub.squelch_timer_exception = squelch_timer_exception
    hub_module.BaseHub.squelch_generic_exception = squelch_generic_exception
    hub_module.BaseHub.squelch_exception = squelch_exception

