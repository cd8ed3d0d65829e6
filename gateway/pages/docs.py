"""The interactive API docs at /docs, offline: Swagger UI's assets come from the pinned `fastapi-offline`
package through this gateway (a government network often reaches no CDN), started by a script file so
the pages' strict CSP holds here too."""
from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
<link rel="icon" href="data:,">
</head><body><main id="swagger-ui"></main>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>"""


SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_FILES = {f"swagger/{name}": SWAGGER_UI / name for name in ("swagger-ui.css", "swagger-ui-bundle.js")}


def install(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=request.app.title))
