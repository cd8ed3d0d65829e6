"""The public pages, for a villager on a phone: no sign-in, nothing personal shown, the same public
service calls as the `/public/...` API."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.pages.web import PAGE, PageRoute, render

router = APIRouter(route_class=PageRoute)


@router.get("/", operation_id="page_home", **PAGE)
async def home(request: Request) -> Response:
    return render(request, "public/home.html")
