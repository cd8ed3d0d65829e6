"""The pages' stylesheet and scripts (and Swagger UI's), read into memory once and served with an ETag and
a ready gzipped copy. Starlette's StaticFiles reads files in a worker thread, which the embedded system's
eventlet hub cannot host; these files are few and small, so memory is the simpler place for them."""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def _asset(path: Path) -> Asset:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return Asset(body, gzip.compress(body, 9, mtime=0), media_type, f'"{hashlib.sha256(body).hexdigest()[:20]}"')


class Assets:
    """An ASGI app serving `files` ({url path: file}) under its mount point; anything else is 404."""

    def __init__(self, files: dict[str, Path]):
        self.files = {name: _asset(path) for name, path in files.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asset = self.files.get(scope["path"][len(scope.get("root_path", "")):].lstrip("/")) \
            if scope["method"] in ("GET", "HEAD") else None
        if asset is None:
            await Response("not found", status_code=404, media_type="text/plain")(scope, receive, send)
            return
        headers = Headers(scope=scope)
        common = {"ETag": asset.etag, "Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
        if asset.etag in headers.get("if-none-match", ""):
            await Response(status_code=304, headers=common)(scope, receive, send)
            return
        if "gzip" in headers.get("accept-encoding", ""):
            response = Response(asset.gzipped, media_type=asset.media_type,
                                headers={**common, "Content-Encoding": "gzip"})
        else:
            response = Response(asset.body, media_type=asset.media_type, headers=common)
        await response(scope, receive, send)


def directory(folder: Path, prefix: str = "") -> dict[str, Path]:
    """Every file of `folder` by its name (with `prefix/`)."""
    return {f"{prefix}{path.name}": path for path in sorted(folder.iterdir()) if path.is_file()}
