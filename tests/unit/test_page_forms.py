"""The console's one way of handling a posted form (gateway.pages.web.submit): every field left empty and
every field the contract refuses is said in one pass, each by its own name; a rule across fields is said
where it belongs when nothing is missing; a refusal by the service comes back beside its field with its
own sentence; and a refused form on a page of several goes back to the page's address (see_refused) with
what to fix once, and what was typed as far as the cookie holds it."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Response
from pydantic import ValidationError, model_validator
from starlette.requests import Request

from gateway.pages import words
from gateway.pages.web import ONCE_COOKIE, answer_once, field_errors, refused_once, see_refused, submit
from shared.contracts.base import Contract
from shared.contracts.complaints import ComplaintAction
from shared.contracts.scheduling import VisitPlan
from shared.errors import Conflict, ValidationFailed


class Meeting(Contract):
    title: str
    room: int
    starts: int = 9
    ends: int = 12

    @model_validator(mode="after")
    def _after_start(self) -> Meeting:
        if self.ends <= self.starts:
            raise ValueError("it ends after it starts")
        return self


FIELDS = {"title": "请填写会议名称。", "room": "会议室请填数字。", "ends": "结束时间要晚于开始时间。"}


class Page:
    """The re-render callback: what the page would show again, and whether anything was sent."""

    def __init__(self) -> None:
        self.shown: tuple[int, dict[str, str], str] | None = None
        self.sent: list[Any] = []

    async def again(self, status: int, errors: dict[str, str], message: str) -> Response:
        self.shown = (status, errors, message)
        return Response(status_code=status)

    async def send(self, command: Any) -> Response:
        self.sent.append(command)
        return Response(status_code=303)


def run(page: Page, typed: dict[str, Any], **kwargs: Any) -> Response:
    body = {k: v for k, v in typed.items() if v not in ("", None)}
    return asyncio.run(submit(page.again, lambda: Meeting.model_validate(body), page.send, fields=FIELDS,
                              typed=typed, **kwargs))


def test_every_missing_and_wrong_field_is_said_in_one_pass_each_by_its_name():
    page = Page()
    response = run(page, {"title": "", "room": "", "when": ""},
                   required={"title": "请填写会议名称。", "when": "请选择会议日期。"})
    assert response.status_code == 422 and not page.sent
    status, errors, message = page.shown
    assert errors == {"title": "请填写会议名称。", "when": "请选择会议日期。", "room": "会议室请填数字。"}
    assert message == words.BY_STATUS[422]


def test_a_rule_across_fields_is_said_where_it_belongs_only_when_nothing_is_missing():
    page = Page()
    run(page, {"title": "例会", "room": 3, "starts": 10, "ends": 9}, across="ends")
    assert page.shown[1] == {"ends": "结束时间要晚于开始时间。"}
    page = Page()
    run(page, {"title": "例会", "room": 3, "starts": 10, "ends": 9, "when": ""}, across="ends",
        required={"when": "请选择会议日期。"})
    assert page.shown[1] == {"when": "请选择会议日期。"}


def test_a_form_filled_in_is_sent_once_and_answered_by_the_sender():
    page = Page()
    response = run(page, {"title": "例会", "room": 3}, required={"title": "请填写会议名称。"})
    assert response.status_code == 303 and page.shown is None
    assert page.sent == [Meeting(title="例会", room=3)]


def test_a_refusal_by_the_service_comes_back_beside_its_field_with_its_status_and_sentence():
    page = Page()

    async def refuse(command: Meeting) -> Response:
        raise ValidationFailed("room taken", details=[{"field": "room", "message": "taken"}])

    asyncio.run(submit(page.again, lambda: Meeting(title="例会", room=3), refuse, fields=FIELDS))
    assert page.shown == (422, {"room": "会议室请填数字。"}, words.BY_STATUS[422])

    async def conflict(command: Meeting) -> Response:
        raise Conflict("somebody was first", code="double_booked")

    asyncio.run(submit(page.again, lambda: Meeting(title="例会", room=3), conflict, fields=FIELDS,
                       refused=lambda exc: {"title": "换个时间。"}, say=lambda exc: f"不行：{exc.code}"))
    assert page.shown == (409, {"title": "换个时间。"}, "不行：double_booked")


def test_a_field_without_its_own_sentence_is_named_by_its_label_never_a_vague_word():
    with pytest.raises(ValidationError) as caught:
        ComplaintAction.model_validate({"action": "mediate", "note": "", "rating": 9})
    errors = field_errors(caught.value, {}, labels={"note": "调解经过", "rating": "满意程度"})
    assert errors == {"note": "请填写调解经过。", "rating": "满意程度填写有误，请检查。"}


def test_a_joint_visit_says_its_missing_date_and_departments_at_once():
    """The defect: the departments were said only once everything else was right (the contract's rule
    across fields runs last); a required field says itself in the same pass."""
    page = Page()
    typed = {"title": "联合下访", "village_code": "431099101001", "place": "村委会", "day": "",
             "departments": []}
    plan = {"kind": "joint", "title": "联合下访", "village_code": "431099101001", "place": "村委会", "day": None,
            "starts": "09:00", "ends": "12:00", "departments": []}
    asyncio.run(submit(page.again, lambda: VisitPlan.model_validate(plan), page.send, fields={},
                       typed=typed, across="departments",
                       required={"day": "请选择下访日期。", "departments": "请至少填写两个部门。"}))
    assert page.shown[1] == {"day": "请选择下访日期。", "departments": "请至少填写两个部门。"}


def _request(cookies: dict[str, str] | None = None, path: str = "/console/applications/x") -> Request:
    headers = [(b"cookie", "; ".join(f"{k}={v}" for k, v in (cookies or {}).items()).encode())] if cookies else []
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(secret_key="k" * 32), trusted_proxies=()))
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers, "query_string": b"",
                    "app": app, "scheme": "http", "server": ("test", 80)})


def _cookie(response: Response) -> str:
    header = response.headers["set-cookie"]
    assert header.startswith(f"{ONCE_COOKIE}=")
    return header.split(";")[0].split("=", 1)[1]


def test_a_refused_form_goes_back_to_the_page_address_with_what_to_fix_shown_once():
    response = see_refused(_request(), "/console/applications/x", {"reason": "请写明理由。"}, "请检查。",
                           {"reason": "", "days": "0"}, open="extend")
    assert response.status_code == 303 and response.headers["location"] == "/console/applications/x"
    refused = refused_once(answer_once(_request({ONCE_COOKIE: _cookie(response)})))
    assert refused == {"errors": {"reason": "请写明理由。"}, "message": "请检查。",
                       "typed": {"reason": "", "days": "0"}, "open": "extend"}
    assert refused_once(answer_once(_request({ONCE_COOKIE: "forged." + "0" * 64}))) == {}


def test_what_was_typed_is_kept_as_far_as_the_cookie_holds_it():
    long = "很长的调解经过" * 300
    response = see_refused(_request(), "/console/complaints/x", {"note": "请填写调解经过。"}, "请检查。",
                           {"note": long, "parties": "周甲\n周乙"})
    assert len(response.headers["set-cookie"]) < 4096
    refused = refused_once(answer_once(_request({ONCE_COOKIE: _cookie(response)})))
    assert refused["typed"] == {"parties": "周甲\n周乙"} and refused["errors"] == {"note": "请填写调解经过。"}
