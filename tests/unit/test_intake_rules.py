"""Intake rules: receipt numbers, status from stages (order of arrival does not matter), overdue,
materials, who files and who sees personal data, the deadline on the receipt."""
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.approvals.domain.case import Case
from services.intake.domain import model
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import HandlingLevel, ItemKind, default_workflow
from shared.contracts.intake import ApplicationFile, ApplicationStatus
from shared.errors import Forbidden, ValidationFailed
from tests.unit.test_working_days import SPRING_2026

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_receipt_numbers_read_township_day_sequence():
    receipt = model.format_receipt("431099101", date(2026, 11, 28), 42)
    assert receipt == "431099101-20261128-0042"
    assert model.is_receipt_number(receipt)
    assert model.is_receipt_number(model.format_receipt("431099101", date(2026, 11, 28), 12345))
    assert not model.is_receipt_number("431099101-2026112-0042")


STAGES = [("received", T0), ("accepted", T0 + timedelta(hours=1)), ("step_changed", T0 + timedelta(days=1)),
          ("supplement_requested", T0 + timedelta(days=2)), ("supplement_received", T0 + timedelta(days=4)),
          ("deadline_extended", T0 + timedelta(days=5)), ("completed", T0 + timedelta(days=6))]


@given(st.permutations(STAGES))
def test_status_follows_when_stages_happened_not_when_they_arrived(order):
    assert model.current_status(order) is ApplicationStatus.COMPLETED


def test_each_stage_leaves_its_status():
    assert model.current_status(STAGES[:1]) is ApplicationStatus.RECEIVED
    assert model.current_status(STAGES[:2]) is ApplicationStatus.ACCEPTED
    assert model.current_status(STAGES[:4]) is ApplicationStatus.AWAITING_SUPPLEMENT
    assert model.current_status(STAGES[:5]) is ApplicationStatus.IN_REVIEW
    assert model.current_status(STAGES[:6]) is ApplicationStatus.IN_REVIEW  # 延期 changes only the deadline
    assert model.current_status([]) is ApplicationStatus.RECEIVED


def test_overdue_only_when_open_and_past_the_promised_day():
    assert model.is_overdue(ApplicationStatus.IN_REVIEW, date(2026, 11, 27), date(2026, 11, 28))
    assert not model.is_overdue(ApplicationStatus.IN_REVIEW, date(2026, 11, 28), date(2026, 11, 28))
    assert not model.is_overdue(ApplicationStatus.COMPLETED, date(2026, 11, 1), date(2026, 11, 28))
    assert not model.is_overdue(ApplicationStatus.RECEIVED, None, date(2026, 11, 28))


def test_missing_materials_are_listed_in_catalogue_order():
    assert model.missing_materials(["申请书", "身份证", "户口簿"], ["户口簿 "]) == ["申请书", "身份证"]


def test_filing_checks():
    model.check_item_can_be_filed(item_status="active", item_kind=ItemKind.IMMEDIATE, complete_now=True,
                                  required=["身份证"], provided=["身份证"])
    for kwargs, code in [
        ({"item_status": "withdrawn"}, "item_withdrawn"),
        ({"provided": []}, "materials_missing"),
        ({"item_kind": ItemKind.PROMISED}, "not_immediate"),
    ]:
        args = {"item_status": "active", "item_kind": ItemKind.IMMEDIATE, "complete_now": True,
                "required": ["身份证"], "provided": ["身份证"], **kwargs}
        with pytest.raises(ValidationFailed) as err:
            model.check_item_can_be_filed(**args)
        assert err.value.code == code


@pytest.mark.parametrize("role", [Role.COUNTY_ADMIN, Role.PUBLIC, Role.SYSTEM])
def test_only_township_staff_file(role):
    with pytest.raises(Forbidden):
        model.require_filer(Caller(staff_id=1, role=role))
    assert model.require_filer(Caller(staff_id=1, role=Role.VILLAGE_AGENT, township_code="431099101")) == "431099101"


def test_personal_data_for_the_accountable_contact_and_handlers_only():
    me = Caller(staff_id=7, role=Role.TOWNSHIP_CADRE, township_code="431099101")
    assert model.sees_personal_data(me, 7, [])
    assert model.sees_personal_data(me, 3, [7])
    assert not model.sees_personal_data(me, 3, [4])
    assert not model.sees_personal_data(Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099"), 3, [])


APPLICANT = {"name": "张三", "phone": "13812345678", "id_card": "430124198001011231", "village_code": "431099101001"}


@pytest.mark.parametrize("extra", [{"channel": "market_day"}, {"channel": "visit"},
                                   {"channel": "station", "session_id": "S1"}, {"channel": "phone", "visit_id": "V1"}])
def test_channel_and_its_context_go_together(extra):
    with pytest.raises(ValidationFailed):
        parse(ApplicationFile, {"item_code": "DB-001", "applicant": APPLICANT, **extra})
    parse(ApplicationFile, {"item_code": "DB-001", "applicant": APPLICANT, "channel": "market_day", "session_id": "S1"})


@given(filed_on=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31)),
       promised_days=st.integers(min_value=0, max_value=60))
def test_the_deadline_on_the_receipt_is_the_one_approvals_counts_when_it_opens_the_case(filed_on, promised_days):
    """Intake's count at filing and approvals' opening count agree (same day, same limit, same calendar):
    approvals' first announcement replaces intake's value with the same date, across the Spring Festival."""
    opened = Case(application_id="a" * 32, receipt_no=f"431099101-{filed_on:%Y%m%d}-0001", township_code="431099101",
                  station_code=None, accountable_staff_id=6, promised_days=promised_days, received_on=filed_on,
                  workflow=default_workflow(HandlingLevel.TOWNSHIP, promised_days))
    assert model.promised_deadline(SPRING_2026, filed_on, promised_days) == opened.promised_deadline(SPRING_2026)
