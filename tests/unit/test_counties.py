"""Counties as a tenant level: division codes nest, and a caller's reach stops at its county."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts.access import MATRIX, authorize
from shared.contracts.caller import Caller, Role, Scope
from shared.divisions import county_of, is_under, township_range
from shared.errors import Forbidden

QINGSHUI, QIYANG = "431099", "431121"
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code=QINGSHUI)
SYSADMIN = Caller(staff_id=2, role=Role.SYSTEM_ADMIN)
CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code="431121101")

codes = st.from_regex(r"\A[0-9]{6}\Z")
suffixes = st.from_regex(r"\A[0-9]{3}\Z")


@given(codes, suffixes)
def test_a_township_code_lies_in_its_countys_range_and_under_it(county, suffix):
    township = county + suffix
    first, last = township_range(county)
    assert first <= township <= last
    assert county_of(township) == county and is_under(township, county)


@given(codes, codes, suffixes)
def test_no_township_of_another_county_lies_in_the_range(county, other, suffix):
    if other == county:
        return
    first, last = township_range(county)
    assert not first <= other + suffix <= last
    assert not is_under(other + suffix, county)


def test_a_code_that_is_no_division_code_has_no_county():
    for bad in ("43109", "abcdef123", ""):
        with pytest.raises(ValueError):
            county_of(bad)
    with pytest.raises(ValueError):
        township_range("4310")


def test_a_callers_county_is_its_own_or_its_townships():
    assert ADMIN.county == QINGSHUI and CADRE.county == QIYANG and SYSADMIN.county is None


def test_a_county_admin_sees_its_countys_townships_only_and_the_system_administrator_all():
    granted = authorize(ADMIN, "directory.get_township")
    assert granted.reach is Scope.COUNTY
    assert granted.sees_township("431099101") and not granted.sees_township("431121101")
    assert granted.sees_county(QINGSHUI) and not granted.sees_county(QIYANG)
    everything = authorize(SYSADMIN, "directory.get_township")
    assert everything.reach is Scope.ALL and everything.sees_township("431121101")


def test_a_county_admin_without_a_county_is_refused():
    with pytest.raises(Forbidden) as err:
        authorize(Caller(staff_id=5, role=Role.COUNTY_ADMIN), "directory.list_townships")
    assert err.value.code == "outside_scope"


def test_only_the_system_administrator_adds_counties_and_reads_dead_letters():
    for action in ("directory.bootstrap_county", *(a for a in MATRIX if a.endswith("dead_letters"))):
        assert set(MATRIX[action].grants) == {Role.SYSTEM_ADMIN}, action
        with pytest.raises(Forbidden):
            authorize(ADMIN, action)


def test_the_system_administrator_reaches_everywhere_a_county_admin_reaches_its_county():
    for rule in MATRIX.values():
        if rule.grants.get(Role.COUNTY_ADMIN) is Scope.COUNTY:
            assert rule.grants.get(Role.SYSTEM_ADMIN) is Scope.ALL, rule.action
