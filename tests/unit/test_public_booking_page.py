"""The villagers' booking page offers only the slots that take a booking: one that has begun (scheduling
answers slot_closed) or is full is shown, not offered; with none open, the page says so and asks for nothing."""
from __future__ import annotations

from datetime import UTC, datetime

from gateway.pages.public_market import offered
from gateway.pages.web import templates

NOW = datetime(2026, 12, 5, 1, 40, tzinfo=UTC)  # 09:40 in China
TOWNSHIP = {"code": "431099101", "name": "青石镇"}
ENTRY = {"title": "青石镇老街集市便民服务岗", "starts_at": "2026-12-05T00:00:00+00:00",
         "ends_at": "2026-12-05T04:00:00+00:00", "place": "老街口"}


def _slot(slot_id: int, hour: int, booked: int, capacity: int = 3) -> dict:
    return {"id": slot_id, "session_id": "s", "visit_id": None, "starts_at": f"2026-12-05T{hour:02d}:00:00+00:00",
            "ends_at": f"2026-12-05T{hour + 1:02d}:00:00+00:00", "capacity": capacity, "booked": booked}


def _page(slots: list[dict]) -> str:
    return templates.env.get_template("public/book.html").render(
        csrf_token="t", township=TOWNSHIP, entry=ENTRY, slots=offered(slots, NOW), kind="post", typed={})


def test_a_slot_that_has_begun_or_is_full_is_shown_and_not_offered():
    slots = offered([_slot(1, 1, 0), _slot(2, 2, 3), _slot(3, 3, 1)], NOW)
    assert [(s["begun"], s["open"]) for s in slots] == [(True, False), (False, False), (False, True)]
    html = _page([_slot(1, 1, 0), _slot(2, 2, 3), _slot(3, 3, 1)])
    assert html.count(" disabled") == 2 and 'value="3">' in html
    assert "09:00–10:00（已开始，不能再约）" in html and "10:00–11:00（已约满）" in html
    assert "11:00–12:00（剩 2 个）" in html and "确认预约" in html


def test_with_no_slot_open_the_page_asks_for_nothing_and_says_why():
    begun = _page([_slot(1, 0, 0), _slot(2, 1, 3)])
    assert "确认预约" not in begun and "时段都已开始" in begun and "到现场办理" in begun
    assert "<li>08:00–09:00（已开始，不能再约）</li>" in begun  # each slot listed as the form would show it
    full = _page([_slot(1, 1, 0), _slot(2, 2, 3)])
    assert "确认预约" not in full and "名额已约满" in full and "<li>10:00–11:00（已约满）</li>" in full
    assert "这里没有开放预约" in _page([])
