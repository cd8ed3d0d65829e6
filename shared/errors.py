"""Typed errors with stable codes. They cross RPC as (code, message, details) and are rebuilt on the
caller's side, so the gateway maps them to HTTP in one place."""
from __future__ import annotations

import json
from typing import Any, ClassVar


class CunbanError(Exception):
    """Base of every error a caller is expected to handle. `code` is stable; `message` is for people."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, details: Any = None, *, code: str | None = None):
        # nameko stringifies non-string exception args on the wire, so details travel as JSON text
        super().__init__(code or self.code, message, json.dumps(details, default=str, ensure_ascii=False))
        self.message = message
        self.details = details
        if code:
            self.code = code  # a more specific code within the same class, e.g. "township_not_found"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details,
                "kind": type(self).__name__}


class ValidationFailed(CunbanError):
    code = "validation_failed"
    http_status = 422


class NotFound(CunbanError):
    code = "not_found"
    http_status = 404


class Conflict(CunbanError):
    code = "conflict"
    http_status = 409


class Forbidden(CunbanError):
    code = "forbidden"
    http_status = 403


class Unauthenticated(CunbanError):
    code = "unauthenticated"
    http_status = 401


class TooManyAttempts(CunbanError):
    code = "too_many_attempts"
    http_status = 429


class ServiceUnavailable(CunbanError):
    code = "service_unavailable"
    http_status = 503


ERROR_KINDS: dict[str, type[CunbanError]] = {
    cls.__name__: cls
    for cls in (CunbanError, ValidationFailed, NotFound, Conflict, Forbidden, Unauthenticated,
                TooManyAttempts, ServiceUnavailable)
}


def from_wire(kind: str, args: list[Any]) -> CunbanError:
    """Rebuild a typed error from nameko's serialized form (exc_type, exc_args)."""
    cls = ERROR_KINDS.get(kind, CunbanError)
    code, message, details = (list(args) + ["error", "", "null"])[:3]
    try:
        parsed = json.loads(details) if isinstance(details, str) else details
    except ValueError:
        parsed = details
    return cls(message, parsed, code=code)
