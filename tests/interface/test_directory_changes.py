"""PATCH in the directory, one rule for every record: a field left out keeps its value, an explicit null
clears a field that may be empty, and on any other field it is refused (422 naming the field), never a 500."""
import pytest

from shared.errors import ValidationFailed
from tests.interface.conftest import ADMIN
from tests.interface.test_directory_service import ITEM, QS, _tree

SITE = {"code": "QS-JISHI", "township_code": QS, "name": "老街集市", "location": "主街",
        "rule": {"kind": "lunar_days", "pattern": "逢一四七"}}
STAFF = {"username": "qs_agent9", "full_name": "村代办员", "role": "village_agent", "township_code": QS,
         "station_code": f"ST{QS}001", "phone": "13800138000", "password": "long-enough"}


def _records(directory):
    _tree(directory)
    directory(ADMIN).create_catalogue_item(item=ITEM)
    directory(ADMIN).create_market_site(site=SITE)
    staff = directory(ADMIN).create_staff(staff=STAFF)
    return {
        "update_township": ({"code": QS}, ["name"]),
        "update_village": ({"code": f"{QS}001"}, ["name", "kind"]),
        "update_station": ({"code": f"ST{QS}001"}, ["name"]),
        "update_staff": ({"staff_id": staff["id"]}, ["full_name", "role", "password", "active"]),
        "update_catalogue_item": ({"township_code": QS, "code": ITEM["code"]},
                                  ["name", "category", "handling_level", "eligible_applicants", "procedure_steps",
                                   "required_materials", "promised_days", "fee_yuan", "supervision_method"]),
        "update_market_site": ({"code": SITE["code"]}, ["name", "location", "rule", "opens_at", "closes_at"]),
    }


def test_null_on_a_field_that_cannot_be_empty_is_refused_naming_the_field(directory):
    for update, (key, fields) in _records(directory).items():
        for field in fields:
            with pytest.raises(ValidationFailed) as err:
                getattr(directory(ADMIN), update)(**key, changes={field: None})
            assert [d["field"] for d in err.value.details] == [field], (update, field, err.value.details)
            assert "leave the field out" in err.value.details[0]["message"]


def test_null_clears_a_field_that_may_be_empty(directory):
    _records(directory)
    assert directory(ADMIN).update_township(code=QS, changes={"hotline": "0731-88120101"})["hotline"]
    township = directory(ADMIN).update_township(code=QS, changes={"hotline": None})
    assert township["hotline"] is None and township["version"] == 3
    directory(ADMIN).update_station(code=f"ST{QS}001", changes={"address": "村委会一楼", "phone": "13800138001"})
    station = directory(ADMIN).update_station(code=f"ST{QS}001", changes={"address": None, "phone": None})
    assert (station["address"], station["phone"]) == (None, None)
    staff = directory(ADMIN).list_staff()
    agent = next(s for s in staff if s["username"] == STAFF["username"])
    assert directory(ADMIN).update_staff(staff_id=agent["id"], changes={"phone": None})["phone"] is None
    with pytest.raises(ValidationFailed):  # a village agent belongs to a station: the placement rule holds
        directory(ADMIN).update_staff(staff_id=agent["id"], changes={"station_code": None})
    item = directory(ADMIN).update_catalogue_item(township_code=QS, code=ITEM["code"],
                                                  changes={"fee_legal_basis": None})
    assert item["fee_legal_basis"] is None
