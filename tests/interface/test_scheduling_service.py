"""Scheduling's market-day entrypoints on a real database fed by the directory's market-site events."""
from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.scheduling.adapters import orm
from services.scheduling.service import SchedulingService
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.errors import NotFound, ValidationFailed

QS, LX = "431099101", "431099102"
SITE = {"code": "QS-JISHI", "township_code": QS, "village_code": f"{QS}001", "name": "青石镇老街集市",
        "location": "集镇主街", "opens_at": "07:30", "closes_at": "12:00", "version": 1,
        "rule": {"kind": "lunar_days", "pattern": "逢一四七", "days": [1, 4, 7, 11, 14, 17, 21, 24, 27],
                 "weekdays": [], "dates": [],
                 "exceptions": {"skip_dates": [], "add_dates": [], "skip_lunar_new_year_days": 7}}}


@pytest.fixture
def scheduling(migrated_db):
    db = migrated_db("scheduling", orm.Base.metadata)

    def as_caller(caller: Caller) -> SchedulingService:
        return worker_factory(SchedulingService, db=db.unit_of_work(), caller=lambda: caller)

    envelope = EventEnvelope(source="directory", type="market_site_changed", occurred_at=utcnow(), payload=SITE)
    as_caller(Caller.system()).on_market_site_changed(envelope.model_dump(mode="json"))
    return as_caller


def test_staff_preview_a_sites_market_days(scheduling):
    cadre = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
    preview = scheduling(cadre).site_market_days(site_code="QS-JISHI", start="2026-12-09", end="2026-12-31")
    assert preview["days"] == ["2026-12-09", "2026-12-12", "2026-12-15", "2026-12-19", "2026-12-22", "2026-12-25",
                               "2026-12-29"]
    assert preview["rule_summary"] == "逢一四七（农历），正月初一至初七休市"
    with pytest.raises(NotFound):
        scheduling(Caller(staff_id=9, role=Role.TOWNSHIP_CADRE, township_code=LX)).site_market_days(
            site_code="QS-JISHI", start="2026-12-01", end="2026-12-31")
    with pytest.raises(ValidationFailed):
        scheduling(cadre).site_market_days(site_code="QS-JISHI", start="2026-12-31", end="2026-12-01")


def test_the_public_calendar_lists_each_sites_days_and_nothing_personal(scheduling):
    calendar = scheduling(Caller.public()).public_market_calendar(township_code=QS, start="2026-12-09",
                                                                  end="2026-12-15")
    assert [(c["site_name"], c["days"]) for c in calendar] == [
        ("青石镇老街集市", ["2026-12-09", "2026-12-12", "2026-12-15"])]
    assert scheduling(Caller.public()).public_market_calendar(township_code=LX, start="2026-12-09",
                                                              end="2026-12-15") == []
