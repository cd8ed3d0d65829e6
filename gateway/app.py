"""The FastAPI application: middleware (correlation id, metrics, request log), routes, error mapping."""
from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import pages
from gateway.audit import audit_entry, client_of
from gateway.auth import Accounts
from gateway.errors import (
    ERROR_RESPONSES,
    BodyTooLarge,
    PayloadTooLarge,
    error_body,
    error_response,
    install_error_handlers,
)
from gateway.limits import RateLimiter
from gateway.pages import PAGE_CSP
from gateway.params import written_as_declared
from gateway.revocations import AccessListener
from gateway.routes import (
    approvals,
    auth,
    complaints,
    directory,
    evaluation,
    health,
    intake,
    notifications,
    operations,
    scheduling,
    visits,
)
from gateway.rpc import ServiceCalls, in_services
from shared.errors import TooManyAttempts
from shared.observability import correlation_id, metrics
from shared.settings import Settings

log = logging.getLogger("cunban.gateway")
_CORRELATION = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# On every response: no sniffing, no framing, no referrer, HTTPS remembered; the API's JSON may load
# nothing, a page (gateway/pages) only what this host serves.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
                    "Cross-Origin-Resource-Policy": "same-origin"}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
UNLIMITED = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes are never rate limited

DESCRIPTION = """村办 cunban: village service stations and market-day service posts for a county.

Sign in with `POST /auth/login`, then send `Authorization: Bearer <token>`. Errors always come as
`{"error": {"code", "message", "details", "correlation_id"}}` with a stable `code`."""


def create_app(settings: Settings, calls: ServiceCalls) -> FastAPI:
    app = FastAPI(title="cunban", version="0.1.0", description=DESCRIPTION, docs_url=None, redoc_url=None,
                  dependencies=[Depends(written_as_declared)])  # ints and dates written as the schema says
    app.state.settings = settings
    app.state.calls = calls
    app.router.add_event_handler("startup", calls.resume_audit)  # what the spool kept from before goes out
    app.router.add_event_handler("shutdown", calls.settle)  # audit entries still waiting go out first
    app.state.accounts = Accounts(settings)
    app.state.trusted_proxies = settings.trusted_networks()  # where X-Forwarded-For is believed (client_of)
    amqp_uri = getattr(getattr(calls, "client", None), "amqp_uri", None)
    if isinstance(amqp_uri, str):  # every gateway process hears ends of access at once (gateway/revocations.py)
        listener = AccessListener(amqp_uri, app.state.accounts)
        app.state.access_listener = listener
        app.router.add_event_handler("startup", listener.start)
        app.router.add_event_handler("shutdown", listener.stop)
    per_client = RateLimiter(settings.client_requests_per_minute)
    install_error_handlers(app)
    app.add_middleware(pages.Compressed)
    app.add_middleware(Observe, settings=settings, calls=calls, per_client=per_client)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for area in (health, auth, directory, intake, approvals, scheduling, visits, complaints, evaluation, notifications,
                 operations):
        app.include_router(area.router, responses=ERROR_RESPONSES)
    pages.install(app)
    return app


class Observe:
    """Around every request (plain ASGI: Starlette's BaseHTTPMiddleware runs the app in a task of its own
    and copies the body through a stream, a tenth of the gateway's time under load): the correlation id,
    the body-size and per-client limits, the security headers, metrics, the audit entry and the log line."""

    def __init__(self, app: ASGIApp, settings: Settings, calls: ServiceCalls, per_client: RateLimiter):
        self.app, self.settings, self.calls, self.per_client = app, settings, calls, per_client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get("x-correlation-id", "")
        token = correlation_id.set(incoming if _CORRELATION.match(incoming) else uuid.uuid4().hex)
        spent = [0.0]
        spent_token = in_services.set(spent)
        started = time.perf_counter()
        status = 500
        answered = audited = False

        def audit() -> None:
            """The request's audit entry, kept before its response leaves: an answered write has its entry."""
            nonlocal audited
            if not audited and (entry := audit_entry(request, status)) is not None:
                self.calls.audit(entry)
            audited = True

        limit, received = self.settings.max_body_bytes, 0

        async def receive_within_limit() -> Message:
            """The body as it arrives, counted: past the limit the route stops reading (413), so a chunked
            upload without a Content-Length is never held whole."""
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered, status = True, message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Correlation-ID"] = correlation_id.get() or ""
                headers.update(SECURITY_HEADERS)
                headers["Content-Security-Policy"] = PAGE_CSP if pages.is_page(request.url.path) else API_CSP
                if "authorization" in request.headers:  # personal data is never kept by a cache on the way
                    headers["Cache-Control"] = "no-store"
                audit()
            await send(message)

        try:
            try:
                refusal = self._refusal(request)
                if refusal is not None:
                    await refusal(scope, receive, send_with_headers)
                else:
                    await self.app(scope, receive_within_limit, send_with_headers)
            except BodyTooLarge as exc:  # read outside a route's body parsing (which answers it itself)
                if answered:
                    raise
                await error_response(PayloadTooLarge(exc.detail))(scope, receive, send_with_headers)
            except Exception:
                # caught here rather than by Starlette's outermost handler so the reply and the log
                # still carry the correlation id
                log.exception("unexpected error")
                if answered:
                    raise
                await JSONResponse(error_body("internal_error", "something went wrong; quote the correlation id"),
                                   status_code=500)(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics.http_requests.labels(request.method, template, str(status)).inc()
            metrics.http_latency.labels(request.method, template).observe(elapsed)
            audit()  # a request that ended without a response
            if elapsed >= self.settings.slow_seconds:
                log.warning("slow request %s %s %s: %.0f ms, %.0f ms of it waiting for services", request.method,
                            template, status, elapsed * 1000, spent[0] * 1000,
                            extra={"entrypoint": f"{request.method} {template}", "elapsed_ms": round(elapsed * 1000),
                                   "in_services_ms": round(spent[0] * 1000)})
            else:
                log.info("%s %s %s", request.method, template, status,
                         extra={"entrypoint": f"{request.method} {template}"})
            in_services.reset(spent_token)
            correlation_id.reset(token)

    def _refusal(self, request: Request) -> Response | None:
        """Too large a body (by its Content-Length), or too many requests from one address."""
        length = request.headers.get("content-length", "")
        wait = 0 if request.url.path in UNLIMITED else self.per_client.hit(client_of(request))  # every one counts
        if length.isdigit() and int(length) > self.settings.max_body_bytes:
            limit = self.settings.max_body_bytes
            return error_response(PayloadTooLarge(f"request bodies are limited to {limit} bytes"))
        if wait:
            metrics.rate_limited.labels("client").inc()
            return error_response(TooManyAttempts("too many requests from this address; slow down",
                                                  {"retry_after": wait}, code="rate_limited"))
        return None
