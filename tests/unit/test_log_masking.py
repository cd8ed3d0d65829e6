"""Personal data is masked in logs by field and, in free text, only where a number stands alone: never inside
an id that a person quotes back to find their request (issue 23, item 9)."""
from __future__ import annotations

import json
import logging
import sys
import uuid

import pytest

from shared.errors import NotFound
from shared.logs import JsonFormatter, correlation_id
from shared.masking import mask_fields, mask_text


def _line(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> dict:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            exc_info = sys.exc_info()
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args or None, exc_info)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


@pytest.mark.parametrize("identifier", [
    "d706460cb9604e789012345678908239",  # a generated correlation id (uuid4 hex)
    "abcd13912345678ef",  # a supplied correlation id with a mobile-shaped run inside
    "431099101-20261128-0001",  # a receipt number
    "st001-13612345678",  # an idempotency key
    str(uuid.UUID("11010119-9003-0712-3413-812345678000")),
    "ID11010119900307123X",
])
def test_ids_are_never_masked(identifier):
    assert mask_text(f"request {identifier} failed") == f"request {identifier} failed"
    token = correlation_id.set(identifier)
    try:
        line = _line("looked up %s", identifier)
    finally:
        correlation_id.reset(token)
    assert line["correlation_id"] == identifier
    assert line["message"] == f"looked up {identifier}"


@pytest.mark.parametrize("text,masked", [
    ("电话13812345678", "电话138****5678"),
    ("tel:13812345678.", "tel:138****5678."),
    ("身份证 110101199003071234 已登记", "身份证 110***********1234 已登记"),
    ("身份证:11010119900307123X", "身份证:110***********123X"),
    ("(13612345678)", "(136****5678)"),
])
def test_numbers_standing_alone_in_free_text_are_masked(text, masked):
    assert mask_text(text) == masked


def test_numbers_that_are_not_a_phone_or_an_id_card_stay():
    assert mask_text("订单 20261128000012345678 不是身份证") == "订单 20261128000012345678 不是身份证"
    assert mask_text("12345678901") == "12345678901"  # no mainland mobile starts 12


def test_personal_fields_are_masked_whole_whatever_they_hold():
    line = _line("filed", phone="13612345678", id_card="430124200102280043", applicant_name="赵六",
                 receipt_no="431099101-20261128-0001", applicant={"phone": "0731-88120101", "full_name": "欧阳小明"})
    assert line["phone"] == "136****5678"
    assert line["id_card"] == "430***********0043"
    assert line["applicant_name"] == "赵*"
    assert line["receipt_no"] == "431099101-20261128-0001"
    assert line["applicant"] == {"phone": "073****0101", "full_name": "欧***"}
    assert mask_fields({"items": [{"mobile": 13612345678}]}) == {"items": [{"mobile": "136****5678"}]}


def test_an_expected_refusal_is_logged_without_a_traceback():
    line = _line("refused", exc=NotFound("application not found", code="application_not_found"))
    assert line["error"] == "NotFound: application_not_found: application not found"
    assert "exc_info" not in line


def test_an_unexpected_error_carries_its_traceback_inside_the_record_masked():
    line = _line("failed", exc=RuntimeError("phone 13612345678 broke it"))
    assert line["error"] == "RuntimeError: phone 136****5678 broke it"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "13612345678" not in line["exc_info"]


def test_fields_a_record_carries_are_logged_and_its_own_attributes_are_not():
    line = _line("Started server process [%d]", 42, color_message="Started \x1b[36m%d\x1b[0m", service="intake",
                 elapsed_ms=12)
    assert line["message"] == "Started server process [42]"
    assert line["service"] == "intake" and line["elapsed_ms"] == 12
    assert not {"color_message", "args", "msg", "levelno", "pathname", "exc_text"} & set(line)


def test_a_field_holding_an_object_is_logged_as_its_text_masked():
    class Caller:
        def __str__(self) -> str:
            return "caller with phone 13612345678"

    assert _line("called", caller=Caller())["caller"] == "caller with phone 136****5678"
