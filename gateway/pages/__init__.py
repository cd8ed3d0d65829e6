"""The pages people use, served by the gateway: public pages for villagers (public.py) and the station
clerk's console (console.py), server-rendered with Jinja2 templates (templates/), one stylesheet and one
small script (static/), and the API docs with Swagger UI's assets served from here (docs.py)."""
from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.pages import (
    console,
    console_account,
    console_admin,
    console_cases,
    console_complaints,
    console_market,
    console_notices,
    console_oversight,
    console_records,
    console_sms,
    console_system,
    console_visits,
    console_workbench,
    docs,
    public,
)
from gateway.pages.assets import Assets, directory
from gateway.pages.web import HERE

# Pages may load what this host serves and nothing else: no inline script or style, no other host.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE_AREAS = frozenset({"", "static", "docs", "console", "guide", "progress", "market", "rate", "complain", "q"})


def is_page(path: str) -> bool:
    """A page or its assets, by the first segment of the path (`/market/…` is a page, `/market-sites` the API)."""
    return path.split("/", 2)[1] in PAGE_AREAS if path.startswith("/") else False


def install(app: FastAPI) -> None:
    app.mount("/static", Assets({**directory(HERE / "static"), **docs.SWAGGER_FILES}), name="static")
    docs.install(app)
    for area in (public, console, console_workbench, console_records, console_complaints, console_account,
                 console_admin, console_cases, console_market, console_notices, console_oversight, console_sms,
                 console_system, console_visits):
        app.include_router(area.router)


class Compressed:
    """Pages go out gzipped (a weak rural link pays for every byte; the assets come gzipped already); the
    API's JSON is left as it is (its clients pay in CPU)."""

    def __init__(self, app: ASGIApp):
        self.app, self.gzip = app, GZipMiddleware(app, minimum_size=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not is_page(path) or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        await self.gzip(scope, receive, send)
