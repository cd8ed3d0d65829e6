"""The gateway's HTTP server: uvicorn, looking once a second whether it should stop.

uvicorn's own loop wakes ten times a second to ask that (and to refresh the Date header every tenth time);
with nothing to serve, those wake-ups were most of what the gateway spent (docs/PERFORMANCE.md, issue 25).
Here the loop wakes once a second and refreshes the Date header each time: a stop is noticed within a
second instead of a tenth, and answers carry the same Date they did."""
from __future__ import annotations

import asyncio

import uvicorn

TICK_SECONDS = 1.0


class Server(uvicorn.Server):
    async def main_loop(self) -> None:
        ticks = 0  # uvicorn refreshes the Date header on every tenth of its ticks: each of these is one
        while not await self.on_tick(ticks):
            await asyncio.sleep(TICK_SECONDS)
            ticks = (ticks + 10) % 864000
