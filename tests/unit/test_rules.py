"""Directory rules: who manages what, within which township, and how the tenant tree nests."""
import pytest

from services.directory.domain.rules import (
    MANAGERS,
    Record,
    check_staff_placement,
    check_village_in_township,
    require_manage,
    require_visible,
)
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound, ValidationFailed

QS, LX = "431099101", "431099102"
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN)
QS_SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code=QS)
QS_CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
PUBLIC = Caller.public()


def test_county_admin_manages_every_record_everywhere():
    for record in Record:
        require_manage(ADMIN, record, QS if record not in (Record.COUNTY, Record.TOWNSHIP, Record.CALENDAR) else None)


@pytest.mark.parametrize("record", [Record.VILLAGE, Record.STATION, Record.STAFF, Record.CATALOGUE,
                                    Record.MARKET_SITE])
def test_supervisor_manages_own_township_only(record):
    require_manage(QS_SUPERVISOR, record, QS)
    with pytest.raises(Forbidden) as err:
        require_manage(QS_SUPERVISOR, record, LX)
    assert err.value.code == "outside_scope"


@pytest.mark.parametrize("record", list(Record))
def test_cadres_and_public_manage_nothing(record):
    for caller in (QS_CADRE, PUBLIC):
        with pytest.raises(Forbidden):
            require_manage(caller, record, QS)


def test_supervisor_cannot_touch_county_wide_records():
    for record in (Record.TOWNSHIP, Record.CALENDAR, Record.COUNTY):
        with pytest.raises(Forbidden):
            require_manage(QS_SUPERVISOR, record, None)


def test_another_townships_record_reads_as_not_found():
    require_visible(QS_CADRE, Record.VILLAGE, QS)
    with pytest.raises(NotFound) as err:
        require_visible(QS_CADRE, Record.VILLAGE, LX)
    assert err.value.code == "village_not_found"


def test_public_callers_cannot_read_staff_records():
    with pytest.raises(Forbidden):
        require_visible(PUBLIC, Record.STAFF, QS)


def test_village_codes_nest_under_their_township():
    check_village_in_township("431099101001", QS)
    with pytest.raises(ValidationFailed):
        check_village_in_township("431099102001", QS)


def test_station_roles_need_a_station_and_township_roles_a_township():
    check_staff_placement(Role.VILLAGE_AGENT, QS, "ST431099101001", ADMIN)
    with pytest.raises(ValidationFailed):
        check_staff_placement(Role.VILLAGE_AGENT, QS, None, ADMIN)
    with pytest.raises(ValidationFailed):
        check_staff_placement(Role.TOWNSHIP_CADRE, None, None, ADMIN)
    with pytest.raises(ValidationFailed):
        check_staff_placement(Role.COUNTY_ADMIN, QS, None, ADMIN)


def test_only_county_roles_appoint_supervisors_and_admins():
    check_staff_placement(Role.SUPERVISOR, QS, None, ADMIN)
    with pytest.raises(Forbidden):
        check_staff_placement(Role.SUPERVISOR, QS, None, QS_SUPERVISOR)
    with pytest.raises(Forbidden):
        check_staff_placement(Role.COUNTY_ADMIN, None, None, QS_SUPERVISOR)


def test_public_and_system_are_not_staff_roles():
    for role in (Role.PUBLIC, Role.SYSTEM):
        with pytest.raises(ValidationFailed):
            check_staff_placement(role, QS, None, ADMIN)


def test_every_record_kind_has_managers():
    assert set(MANAGERS) == set(Record)
