"""A console page that names a township in its address: staff of one township get their own only (another is
refused as out of scope, 403), a county admin a township of the county (404 for any other code), and the
admin pages read the township from the address the same way."""
from __future__ import annotations

import asyncio

import pytest

from gateway.pages import console, words
from gateway.pages.console_admin import township_in_path
from shared.contracts.caller import Caller, Role
from shared.errors import NotFound

QS, LX = "431099101", "431099102"
SUPERVISOR = Caller(staff_id=7, role=Role.SUPERVISOR, township_code=QS)
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, township_code=None, county_code="431099")


LJP = "431121101"  # 黎家坪镇 of 祁阳县
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)


class Directory:
    """The directory's answers as each caller gets them (its scoping is tested in tests/interface)."""

    async def call(self, service: str, method: str, *, caller: Caller, **_: object) -> list[dict]:
        if (service, method) == ("directory", "list_counties"):
            return [{"code": "431099", "name": "清水县"}, {"code": "431121", "name": "祁阳县"}]
        assert (service, method) == ("directory", "list_townships")
        townships = [{"code": QS, "county_code": "431099", "name": "青石镇"},
                     {"code": LX, "county_code": "431099", "name": "柳溪乡"},
                     {"code": LJP, "county_code": "431121", "name": "黎家坪镇"}]
        return [t for t in townships if caller.sees_township(t["code"])]


def choose(staff: Caller, chosen: str | None) -> tuple[str | None, list[dict]]:
    return asyncio.run(console.township_choice(Directory(), staff, chosen))


def test_staff_of_a_township_get_their_own_and_are_refused_another():
    assert choose(SUPERVISOR, None) == (QS, []) and choose(SUPERVISOR, QS) == (QS, [])
    with pytest.raises(console.OutOfScope) as refused:
        choose(SUPERVISOR, LX)
    assert refused.value.http_status == 403 and refused.value.code == "out_of_scope"
    assert words.error_message(refused.value) == "这不在您负责的乡镇范围内。"


def test_a_county_admin_chooses_a_township_of_the_county():
    assert choose(ADMIN, None)[0] is None and choose(ADMIN, "")[0] is None
    assert choose(ADMIN, LX)[0] == LX
    with pytest.raises(NotFound) as unknown:
        choose(ADMIN, "431099199")
    assert unknown.value.code == "township_not_found"


def test_a_county_admin_is_refused_a_township_of_another_county_in_its_words():
    with pytest.raises(console.OutOfCounty) as refused:
        choose(ADMIN, LJP)
    assert refused.value.http_status == 403 and refused.value.code == "out_of_county"
    assert words.error_message(refused.value) == "这不在您负责的县（市、区）范围内。"
    assert [t["code"] for t in choose(ADMIN, None)[1]] == [QS, LX]


def test_the_system_administrator_chooses_among_every_countys_townships_each_named_with_its_county():
    chosen, townships = choose(SYSADMIN, LJP)
    assert chosen == LJP
    assert [t["name"] for t in townships] == ["清水县青石镇", "清水县柳溪乡", "祁阳县黎家坪镇"]


class Request:
    def __init__(self, path: str, **params: str):
        self.path_params = params
        self.url = type("URL", (), {"path": path})()


def test_the_admin_pages_read_the_township_from_the_address():
    assert township_in_path(Request(f"/console/admin/townships/{LX}/staff", code=LX)) == LX
    assert township_in_path(Request(f"/console/admin/catalogue/{LX}/DB-001", township_code=LX, code="DB-001")) == LX
    assert township_in_path(Request(f"/console/admin/villages/{LX}001", code=f"{LX}001")) is None
    assert township_in_path(Request("/console/admin/stations/ST431099102001", code="ST431099102001")) is None
