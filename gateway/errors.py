"""The one place typed errors become HTTP responses: {"error": {code, message, details, correlation_id}}."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.contracts.base import field_errors
from shared.errors import CunbanError
from shared.observability import correlation_id

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str  # stable, e.g. "application_not_found"
    message: str  # for people
    details: Any = None
    correlation_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# Every operation may answer with these, always in the error shape (declared in the OpenAPI document so
# clients, and the schema fuzzing in the tests, know them)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "the request is not valid"), (401, "sign in first, or the token/key is not valid"),
        (403, "your role or scope does not allow this"), (404, "not found, or not in your scope"),
        (405, "method not allowed"), (409, "conflicts with the record's state"),
        (413, "the request body is too large"), (422, "the input is not valid (field errors in details)"),
        (429, "too many requests or attempts; see Retry-After"), (503, "a service or the broker is unavailable"))}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details,
                      "correlation_id": correlation_id.get()}}


class PayloadTooLarge(CunbanError):
    code = "payload_too_large"
    http_status = 413


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body is being received, the moment its bytes pass the limit (whatever the framing:
    a Content-Length that lied, or chunks): the route stops reading and the client gets 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"request bodies are limited to {limit} bytes")


def error_response(exc: CunbanError) -> JSONResponse:
    """A typed error as the HTTP answer: its status, the error shape, and the headers its status calls for."""
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.http_status,
                        headers=error_headers(exc))


def error_headers(exc: CunbanError) -> dict[str, str] | None:
    """401 says how to authenticate; 429 says when to come back (from the error's `retry_after`)."""
    if exc.http_status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if exc.http_status == 429:
        retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        return {"Retry-After": str(retry if isinstance(retry, int) and retry > 0 else 60)}
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CunbanError)
    async def _typed(_: Request, exc: CunbanError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("request failed: %s", exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("validation_failed", "the request is not valid", field_errors(exc.errors())),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            from gateway.pages.web import not_found_page  # a person's browser: a page, not JSON

            return not_found_page(request)
        code = {404: "route_not_found", 405: "method_not_allowed",
                413: "payload_too_large"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
            headers["Allow"] = ", ".join(allowed_methods(request.app.routes, request.url.path))
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers or None)


def allowed_methods(routes: Any, path: str) -> list[str]:
    """The methods of every route whose path matches (FastAPI keeps an included router whole)."""
    methods: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):
            methods.update(allowed_methods(route.original_router.routes, path))
        elif getattr(route, "methods", None) and route.path_regex.match(path):
            methods.update(route.methods)
    return sorted(methods)

