"""Directory rules: who manages what, within which township, and how the tenant tree nests."""
import pytest

from services.directory.domain.rules import (
    MANAGERS,
    Record,
    check_staff_placement,
    check_township_in_county,
    check_village_in_township,
    require_manage,
    require_visible,
    staff_county,
)
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound, ValidationFailed

QS, LX = "431099101", "431099102"
LJP = "431121101"  # 黎家坪镇 of the other county, 祁阳
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)
QS_SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code=QS)
QS_CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
PUBLIC = Caller.public()


def test_county_admin_manages_every_record_of_its_county_but_the_counties_themselves():
    for record in set(Record) - {Record.COUNTY}:
        require_manage(ADMIN, record, QS if record not in (Record.TOWNSHIP, Record.CALENDAR) else None)
    with pytest.raises(Forbidden):
        require_manage(ADMIN, Record.COUNTY, None)


@pytest.mark.parametrize("record", [Record.VILLAGE, Record.STATION, Record.STAFF, Record.CATALOGUE,
                                    Record.MARKET_SITE])
def test_county_admin_manages_nothing_of_another_county(record):
    with pytest.raises(Forbidden) as err:
        require_manage(ADMIN, record, LJP)
    assert err.value.code == "outside_scope"
    with pytest.raises(NotFound):
        require_visible(ADMIN, record, LJP)


def test_the_system_administrator_manages_every_record_of_every_county():
    for record in Record:
        require_manage(SYSADMIN, record, None if record in (Record.COUNTY, Record.TOWNSHIP, Record.CALENDAR) else LJP)
        require_visible(SYSADMIN, record, QS)


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


def test_only_county_roles_appoint_supervisors_and_only_the_system_administrator_admins():
    check_staff_placement(Role.SUPERVISOR, QS, None, ADMIN)
    with pytest.raises(Forbidden):
        check_staff_placement(Role.SUPERVISOR, QS, None, QS_SUPERVISOR)
    for manager in (QS_SUPERVISOR, ADMIN):
        for role in (Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN):
            with pytest.raises(Forbidden) as err:
                check_staff_placement(role, None, None, manager, "431099" if role is Role.COUNTY_ADMIN else None)
            assert err.value.code == "system_admin_only"
    check_staff_placement(Role.COUNTY_ADMIN, None, None, SYSADMIN, "431121")
    check_staff_placement(Role.SYSTEM_ADMIN, None, None, SYSADMIN)


def test_a_county_admin_belongs_to_one_county_and_a_system_administrator_to_none():
    with pytest.raises(ValidationFailed) as err:
        check_staff_placement(Role.COUNTY_ADMIN, None, None, SYSADMIN)
    assert err.value.code == "county_required"
    with pytest.raises(ValidationFailed):
        check_staff_placement(Role.SYSTEM_ADMIN, None, None, SYSADMIN, "431099")
    with pytest.raises(ValidationFailed):
        check_staff_placement(Role.COUNTY_ADMIN, QS, None, SYSADMIN, "431099")


def test_a_staff_members_county_is_their_townships():
    assert staff_county(Role.TOWNSHIP_CADRE, LJP, None) == "431121"
    assert staff_county(Role.COUNTY_ADMIN, None, "431121") == "431121"
    assert staff_county(Role.SYSTEM_ADMIN, None, None) is None
    with pytest.raises(ValidationFailed) as err:
        staff_county(Role.TOWNSHIP_CADRE, LJP, "431099")
    assert err.value.code == "township_not_in_county"


def test_a_township_lies_under_its_county_by_code():
    check_township_in_county(QS, "431099")
    with pytest.raises(ValidationFailed) as err:
        check_township_in_county(LJP, "431099")
    assert err.value.code == "township_not_in_county"


def test_public_and_system_are_not_staff_roles():
    for role in (Role.PUBLIC, Role.SYSTEM):
        with pytest.raises(ValidationFailed):
            check_staff_placement(role, QS, None, ADMIN)


def test_every_record_kind_has_managers():
    assert set(MANAGERS) == set(Record)
