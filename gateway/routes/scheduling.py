"""Market days: a site's preview for staff, and each township's public market-day calendar."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts.scheduling import MarketDays

router = APIRouter(tags=["market days"])
Start = Annotated[date | None, Query(description="first day (default: today, China time)")]
End = Annotated[date | None, Query(description="last day (default: 30 days after start; at most 800 days)")]


def _period(start: date | None, end: date | None) -> tuple[str, str]:
    first = start or today_in_china()
    return first.isoformat(), (end or first + timedelta(days=30)).isoformat()


@router.get("/market-sites/{code}/market-days", operation_id="site_market_days", response_model=MarketDays)
async def site_market_days(code: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")],
                           caller: CurrentStaff, calls: Calls, start: Start = None, end: End = None) -> dict:
    """Preview a site's market days: "show me the market days of this site next month"."""
    first, last = _period(start, end)
    return await calls.call("scheduling", "site_market_days", caller=caller, site_code=code, start=first, end=last)


@router.get("/public/townships/{code}/market-days", operation_id="public_market_calendar",
            response_model=list[MarketDays])
async def public_market_calendar(code: Annotated[str, Path(pattern=r"^\d{9}$")], public: PublicCaller,
                                 calls: Calls, start: Start = None, end: End = None) -> list:
    """Where and when a township's markets meet: the days its market-day service posts can be found."""
    first, last = _period(start, end)
    return await calls.call("scheduling", "public_market_calendar", caller=public, township_code=code,
                            start=first, end=last)
