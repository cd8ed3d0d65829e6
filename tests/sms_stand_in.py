"""A stand-in for an SMS provider's endpoint on 127.0.0.1 (the SDKs and the http provider are pointed at
it over http): it records each request and answers from a script. No test reaches the internet."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class StandIn:
    """A provider's endpoint on 127.0.0.1: records each request and answers from a script of
    (status, JSON body, delay in seconds); the last answer repeats."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict, float]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    query.update({k: v[0] for k, v in parse_qs(body).items()})
                stand_in.requests.append({"path": url.path, "query": query, "headers": dict(self.headers),
                                          "body": body})
                status, answer, delay = stand_in.answers.pop(0) if len(stand_in.answers) > 1 else stand_in.answers[0]
                time.sleep(delay)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, *answers: tuple[int, dict] | tuple[int, dict, float]) -> StandIn:
        self.answers = [(a[0], a[1], a[2] if len(a) > 2 else 0.0) for a in answers]
        self.requests.clear()
        return self

    def actions(self) -> list[str]:
        return [r["query"].get("Action") or r["headers"].get("x-acs-action") or r["headers"].get("X-TC-Action", "")
                for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
