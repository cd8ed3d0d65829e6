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


class Directory:
    async def call(self, service: str, method: str, **_: object) -> list[dict]:
        assert (service, method) == ("directory", "list_townships")
        return [{"code": QS, "name": "青石镇"}, {"code": LX, "name": "柳溪乡"}]


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


class Request:
    def __init__(self, path: str, **params: str):
        self.path_params = params
        self.url = type("URL", (), {"path": path})()


def test_the_admin_pages_read_the_township_from_the_address():
    assert township_in_path(Request(f"/console/admin/townships/{LX}/staff", code=LX)) == LX
    assert township_in_path(Request(f"/console/admin/catalogue/{LX}/DB-001", township_code=LX, code="DB-001")) == LX
    assert township_in_path(Request(f"/console/admin/villages/{LX}001", code=f"{LX}001")) is None
    assert township_in_path(Request("/console/admin/stations/ST431099102001", code="ST431099102001")) is None
