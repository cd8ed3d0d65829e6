"""The rules of notifications: templates (variables, SMS segments), quiet hours, caps, 退订, retries."""
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain import sending as s
from services.notifications.domain import templates as t
from services.notifications.domain.notices import NOTICES, VARIABLES, Audience
from shared.errors import ValidationFailed


def china(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_an_sms_is_one_segment_up_to_70_characters_then_parts_of_67(length, expected):
    assert t.segments(length) == expected


def test_every_starting_template_is_valid_for_its_notice_and_fits_in_two_sms():
    for kind, notice in NOTICES.items():
        template = t.checked(kind, "清水县政务", notice.text)
        assert set(t.places(notice.text)) == set(notice.variables), kind
        assert t.segments(template.longest()) <= 2, (kind, template.longest())
        assert all(name in VARIABLES for name in notice.variables)


def test_a_template_naming_a_variable_its_notice_lacks_is_refused_with_every_problem_at_once():
    with pytest.raises(ValidationFailed) as refused:
        t.checked("application_filed", "x", "编号${receipt_no}，材料${materials}，${手机}")
    assert refused.value.code == "template_invalid"
    messages = [d["message"] for d in refused.value.details]
    assert any("${materials}" in m for m in messages) and any("${手机}" in m for m in messages)
    assert any(d["field"] == "signature" for d in refused.value.details)


def test_a_stray_dollar_or_brace_is_refused():
    with pytest.raises(ValidationFailed):
        t.checked("application_filed", "清水县政务", "编号$receipt_no")
    with pytest.raises(ValidationFailed):
        t.checked("application_filed", "清水县政务", "编号{receipt_no}")


def test_a_template_whose_longest_message_needs_more_than_three_sms_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        t.checked("materials_requested", "清水县政务", "请补正" * 60 + "${materials}")
    assert refused.value.code == "template_too_long"


def test_rendering_fills_every_variable_and_puts_the_signature_first():
    template = t.default_template("materials_requested", "清水县政务")
    text = template.render({"item": "低保", "receipt_no": "QS-1", "materials": "户口簿", "place": "石门村服务站"})
    assert text.startswith("【清水县政务】您的低保申请（QS-1）需补正：户口簿。请送到石门村服务站。")
    with pytest.raises(ValidationFailed) as refused:
        template.render({"item": "低保", "receipt_no": "QS-1"})
    assert refused.value.code == "template_value_missing"


def test_the_send_key_is_one_per_event_recipient_and_notice():
    key = s.send_key("e1", "application:a1", "application_filed")
    assert key == s.send_key("e1", "application:a1", "application_filed")
    assert len({key, s.send_key("e2", "application:a1", "application_filed"),
                s.send_key("e1", "application:a2", "application_filed"),
                s.send_key("e1", "application:a1", "clock_resumed")}) == 4


def test_quiet_hours_hold_an_sms_until_eight_in_the_morning_china_time():
    quiet = s.QuietHours()
    filed = NOTICES["application_filed"]
    assert quiet.send_after(china(20, 59), filed) == china(20, 59)
    assert quiet.send_after(china(21, 0), filed) == china(8, 0, day=4)
    assert quiet.send_after(china(2, 30), filed) == china(8, 0)
    assert quiet.send_after(china(8, 0), filed) == china(8, 0)


def test_urgent_notices_go_in_quiet_hours_and_a_county_may_mark_more():
    quiet = s.QuietHours()
    assert NOTICES["booking_cancelled"].urgent
    assert quiet.send_after(china(22), NOTICES["booking_cancelled"]) == china(22)
    assert quiet.send_after(china(22), NOTICES["overdue"]) == china(22)
    assert quiet.send_after(china(22), NOTICES["booking_reminder"], frozenset({"booking_reminder"})) == china(22)


def test_a_county_may_set_quiet_hours_that_do_not_cross_midnight():
    from datetime import time
    quiet = s.QuietHours(start=time(0, 0), end=time(7, 0))
    assert quiet.is_quiet(china(6, 59)) and not quiet.is_quiet(china(7, 0)) and not quiet.is_quiet(china(23))


def test_opted_out_and_capped_numbers_get_only_what_the_law_requires():
    policy = s.Policy(daily_cap=2)
    filed, materials = NOTICES["application_filed"], NOTICES["materials_requested"]
    assert materials.required and materials.audience is Audience.APPLICANT
    assert policy.withheld(filed, opted_out=True, sent_today=0) is s.Withheld.OPTED_OUT
    assert policy.withheld(materials, opted_out=True, sent_today=0) is None
    assert policy.withheld(filed, opted_out=False, sent_today=2) is s.Withheld.DAILY_CAP
    assert policy.withheld(filed, opted_out=False, sent_today=1) is None
    assert policy.withheld(materials, opted_out=False, sent_today=9) is None


def test_retries_back_off_by_four_and_stop_after_the_last_attempt():
    now = china(10)
    assert s.retry_at(1, now) == now + timedelta(seconds=30)
    assert s.retry_at(2, now) == now + timedelta(minutes=2)
    assert s.retry_at(4, now) == now + timedelta(minutes=32)
    assert s.retry_at(s.ATTEMPTS, now) is None


def test_a_message_cut_off_mid_call_is_sent_again_only_where_the_provider_keeps_our_key():
    assert s.resuming(provider_idempotent=True) is s.Resume.SEND_AGAIN
    assert s.resuming(provider_idempotent=False) is s.Resume.ASK_FIRST
