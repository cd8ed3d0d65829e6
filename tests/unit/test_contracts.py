"""Contracts validate what crosses the wire; bad input becomes ValidationFailed with field details."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts.base import parse
from shared.contracts.directory import (
    LUNAR_PATTERNS,
    CalendarDaySet,
    CatalogueItemCreate,
    MarketDayRule,
    MarketSiteCreate,
    StaffCreate,
    TownshipCreate,
)
from shared.contracts.envelope import EventEnvelope
from shared.errors import ValidationFailed

ITEM = {
    "township_code": "431099101", "code": "DB-001", "name": "农村最低生活保障申请", "category": "agency",
    "handling_level": "township", "eligible_applicants": "本镇农村居民", "procedure_steps": ["受理", "审核"],
    "required_materials": ["身份证"], "promised_days": 20, "supervision_method": "监督电话 0731-88120101",
}


def test_catalogue_item_is_free_unless_a_legal_basis_is_given():
    item = parse(CatalogueItemCreate, ITEM)
    assert item.fee_yuan == Decimal("0")
    with pytest.raises(ValidationFailed) as err:
        parse(CatalogueItemCreate, {**ITEM, "fee_yuan": "5.00"})
    assert "legal basis" in str(err.value.details)
    assert parse(CatalogueItemCreate, {**ITEM, "fee_yuan": "5.00", "fee_legal_basis": "工本费依据某文件"}).fee_yuan == 5


@pytest.mark.parametrize("field,value", [
    ("category", "lottery"), ("handling_level", "province"), ("promised_days", -1), ("promised_days", 366),
    ("procedure_steps", []), ("code", "bad code!"), ("township_code", "4310991"), ("name", ""),
])
def test_catalogue_item_rejects_bad_fields_naming_the_field(field, value):
    with pytest.raises(ValidationFailed) as err:
        parse(CatalogueItemCreate, {**ITEM, field: value})
    assert any(d["field"].startswith(field) for d in err.value.details)


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationFailed) as err:
        parse(TownshipCreate, {"code": "431099101", "name": "青石镇", "mayor": "x"})
    assert err.value.details[0]["field"] == "mayor"


@pytest.mark.parametrize("pattern", list(LUNAR_PATTERNS))
def test_lunar_patterns_expand_to_their_days(pattern):
    rule = MarketDayRule(kind="lunar_days", pattern=pattern)
    assert rule.days == LUNAR_PATTERNS[pattern]
    assert all(1 <= d <= 30 for d in rule.days)


def test_yi_si_qi_means_lunar_days_ending_in_1_4_7():
    assert MarketDayRule(kind="lunar_days", pattern="逢一四七").days == [1, 4, 7, 11, 14, 17, 21, 24, 27]


@pytest.mark.parametrize("rule", [
    {"kind": "lunar_days"},  # no days, no pattern
    {"kind": "weekly"},
    {"kind": "dates"},
    {"kind": "solar_days", "pattern": "逢单"},  # a lunar pattern on a solar rule
    {"kind": "lunar_days", "days": [31]},
    {"kind": "lunar_days", "pattern": "逢一四七", "days": [2]},
    {"kind": "weekly", "weekdays": [7]},
    {"kind": "monthly"},
])
def test_incomplete_or_inconsistent_market_rules_are_refused(rule):
    with pytest.raises(ValidationFailed):
        parse(MarketDayRule, rule)


@given(st.lists(st.integers(min_value=1, max_value=31), min_size=1, max_size=40))
def test_solar_day_rules_are_kept_sorted_without_duplicates(days):
    rule = MarketDayRule(kind="solar_days", days=days[:31])
    assert rule.days == sorted(set(days[:31]))


def test_market_site_hours_must_be_in_order():
    site = {"code": "QS-JISHI", "township_code": "431099101", "name": "集市", "location": "主街",
            "rule": {"kind": "weekly", "weekdays": [6]}, "opens_at": "12:00", "closes_at": "08:00"}
    with pytest.raises(ValidationFailed):
        parse(MarketSiteCreate, site)


def test_calendar_entries_local_are_days_off_and_official_are_holidays_or_makeup_days():
    assert parse(CalendarDaySet, {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "source": "official"})
    assert parse(CalendarDaySet, {"day": "2026-12-01", "kind": "local_day_off", "name": "县庆"})
    with pytest.raises(ValidationFailed):
        parse(CalendarDaySet, {"day": "2026-12-01", "kind": "holiday", "name": "x", "source": "local"})
    with pytest.raises(ValidationFailed):
        parse(CalendarDaySet, {"day": "2026-12-01", "kind": "local_day_off", "name": "x", "source": "official"})


@pytest.mark.parametrize("password", ["short", "x" * 129])
def test_staff_passwords_have_sane_lengths(password):
    with pytest.raises(ValidationFailed):
        parse(StaffCreate, {"username": "qs_agent", "full_name": "代办员", "role": "village_agent",
                            "township_code": "431099101", "password": password})


def test_event_envelope_round_trips_through_json():
    from shared.clock import utcnow

    env = EventEnvelope(source="directory", type="township_changed", occurred_at=utcnow(),
                        township_code="431099101", payload={"code": "431099101", "day": str(date(2026, 1, 1))})
    again = EventEnvelope.model_validate(env.model_dump(mode="json"))
    assert again == env
    assert len(env.event_id) == 32
