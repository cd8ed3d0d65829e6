"""The directory's rules behind the county admin's pages: a village's or station's name is used once in
its township; 调休上班 falls on a weekend; the official days of a year confirmed complete change only when
the change is confirmed; a range of days is entered whole or not at all; and names are looked up many at
once, within the caller's scope."""
from datetime import date

import pytest

from services.directory.adapters import orm
from shared.contracts.caller import Caller, Role
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.interface.conftest import ADMIN, outbox_types

QS, LX = "431099101", "431099102"
QS_SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code=QS)
QS_CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)


@pytest.fixture
def tree(directory):
    directory(ADMIN).create_township(township={"code": QS, "name": "青石镇"})
    directory(ADMIN).create_township(township={"code": LX, "name": "柳溪乡"})
    for code, township, name in ((f"{QS}001", QS, "石门村"), (f"{QS}002", QS, "桃源村"), (f"{LX}001", LX, "柳溪村")):
        directory(ADMIN).create_village(village={"code": code, "township_code": township, "name": name})
    directory(ADMIN).create_station(station={"code": "ST-QS-001", "village_code": f"{QS}001", "name": "石门村服务站"})
    directory(ADMIN).create_station(station={"code": "ST-QS-002", "village_code": f"{QS}002", "name": "桃源村服务站"})
    return directory


@pytest.mark.parametrize("name", ["桃源村", " 桃源 村 ", "桃源村\u3000", "ＴＡＯ源村"])
def test_a_village_cannot_be_renamed_to_another_village_of_its_township(tree, directory_db, name):
    if name.startswith("Ｔ"):  # full-width letters and case count as the same name too
        tree(ADMIN).update_village(code=f"{QS}002", changes={"name": "tao源村"})
    before = outbox_types(directory_db)
    with pytest.raises(Conflict) as err:
        tree(QS_SUPERVISOR).update_village(code=f"{QS}001", changes={"name": name})
    assert err.value.code == "village_name_taken" and err.value.http_status == 409
    assert err.value.details[0]["field"] == "name"
    assert tree(ADMIN).get_village(code=f"{QS}001")["name"] == "石门村"
    assert outbox_types(directory_db) == before


def test_a_new_village_cannot_take_a_used_name_but_another_township_may(tree):
    with pytest.raises(Conflict) as err:
        tree(ADMIN).create_village(village={"code": f"{QS}003", "township_code": QS, "name": "石门 村"})
    assert err.value.code == "village_name_taken"
    made = tree(ADMIN).create_village(village={"code": f"{LX}002", "township_code": LX, "name": "石门村"})
    assert made["name"] == "石门村"


def test_a_village_keeps_its_own_name_and_changes_other_things(tree):
    assert tree(ADMIN).update_village(code=f"{QS}001", changes={"name": "石门村", "kind": "community"})["kind"] == \
        "community"
    assert tree(ADMIN).update_village(code=f"{QS}001", changes={"name": "新石门村"})["name"] == "新石门村"


def test_station_names_are_used_once_in_a_township(tree):
    with pytest.raises(Conflict) as err:
        tree(ADMIN).update_station(code="ST-QS-001", changes={"name": "桃源村 服务站"})
    assert err.value.code == "station_name_taken" and err.value.details[0]["field"] == "name"
    with pytest.raises(Conflict):
        tree(ADMIN).create_station(station={"code": "ST-QS-003", "village_code": f"{QS}002", "name": "石门村服务站"})
    tree(ADMIN).create_station(station={"code": "ST-LX-001", "village_code": f"{LX}001", "name": "石门村服务站"})


def test_a_makeup_working_day_falls_on_a_weekend_and_a_holiday_on_any_day(directory):
    with pytest.raises(ValidationFailed) as err:
        directory(ADMIN).set_calendar_day(day={"day": "2027-02-09", "kind": "makeup_workday", "name": "春节调休",
                                               "source": "official"})  # a Tuesday
    assert err.value.code == "makeup_day_not_weekend" and err.value.details[0]["field"] == "day"
    assert not any(d["day"] == "2027-02-09" for d in directory(ADMIN).calendar_year(year=2027))
    worked = directory(ADMIN).set_calendar_day(day={"day": "2027-02-20", "kind": "makeup_workday", "name": "春节调休",
                                                    "source": "official"})  # a Saturday
    assert worked["working"] is True
    off = directory(ADMIN).set_calendar_day(day={"day": "2027-05-01", "kind": "holiday", "name": "劳动节",
                                                 "source": "official"})  # a Saturday too
    assert off["working"] is False


def test_the_official_days_of_a_year_confirmed_complete_change_only_when_confirmed(directory, directory_db):
    assert 2026 in [y["year"] for y in directory(ADMIN).calendar_years()]  # from the official data
    holiday = {"day": "2026-12-31", "kind": "holiday", "name": "跨年", "source": "official"}
    before = outbox_types(directory_db)
    with pytest.raises(Conflict) as err:
        directory(ADMIN).set_calendar_day(day=holiday)
    assert err.value.code == "calendar_year_complete" and err.value.details == {"year": 2026}
    assert outbox_types(directory_db) == before
    assert directory(ADMIN).set_calendar_day(day={**holiday, "confirm_complete_year": True})["kind"] == "holiday"
    with pytest.raises(Conflict):
        directory(ADMIN).clear_calendar_day(day="2026-12-31")
    with pytest.raises(Conflict):  # a county day off over an official day changes the official schedule too
        directory(ADMIN).set_calendar_day(day={"day": "2026-12-31", "kind": "local_day_off", "name": "县庆"})
    directory(ADMIN).clear_calendar_day(day="2026-12-31", confirm_complete_year=True)
    # a county's own day off is not part of what was confirmed: no confirmation needed
    directory(ADMIN).set_calendar_day(day={"day": "2026-12-30", "kind": "local_day_off", "name": "县庆"})
    directory(ADMIN).clear_calendar_day(day="2026-12-30")
    # a year not confirmed complete changes freely
    directory(ADMIN).set_calendar_day(day={"day": "2027-10-01", "kind": "holiday", "name": "国庆节",
                                           "source": "official"})


def test_a_range_of_holidays_is_entered_whole_in_one_transaction(directory, directory_db):
    before = outbox_types(directory_db).count("calendar_changed")
    days = directory(ADMIN).set_calendar_range(days={"from_day": "2027-02-06", "to_day": "2027-02-12",
                                                     "kind": "holiday", "name": "春节", "source": "official"})
    assert [d["day"] for d in days] == [date(2027, 2, n).isoformat() for n in range(6, 13)]
    assert all(d["name"] == "春节" and d["working"] is False for d in days)
    assert outbox_types(directory_db).count("calendar_changed") == before + 7
    with directory_db.sessions() as session:
        assert session.query(orm.CalendarEntry).filter(orm.CalendarEntry.name == "春节",
                                                       orm.CalendarEntry.day >= date(2027, 1, 1)).count() == 7


@pytest.mark.parametrize(("first", "last", "kind", "code"), [
    ("2027-02-12", "2027-02-06", "holiday", "calendar_range_invalid"),  # backwards
    ("2027-12-30", "2028-01-02", "holiday", "calendar_range_invalid"),  # two years
    ("2027-01-01", "2027-02-01", "holiday", "calendar_range_invalid"),  # 32 days
    ("2027-02-20", "2027-02-22", "makeup_workday", "makeup_day_not_weekend"),  # Sat, Sun and a Monday
])
def test_a_range_that_makes_no_sense_writes_nothing(directory, directory_db, first, last, kind, code):
    before = outbox_types(directory_db)
    with pytest.raises(ValidationFailed) as err:
        directory(ADMIN).set_calendar_range(days={"from_day": first, "to_day": last, "kind": kind, "name": "春节",
                                                  "source": "official"})
    assert err.value.code == code
    assert outbox_types(directory_db) == before


def test_a_range_into_a_year_confirmed_complete_needs_the_confirmation(directory):
    span = {"from_day": "2026-12-28", "to_day": "2026-12-29", "kind": "holiday", "name": "试", "source": "official"}
    with pytest.raises(Conflict) as err:
        directory(ADMIN).set_calendar_range(days=span)
    assert err.value.code == "calendar_year_complete"
    assert len(directory(ADMIN).set_calendar_range(days={**span, "confirm_complete_year": True})) == 2
    with pytest.raises(Forbidden):  # only county admins enter the calendar
        directory(QS_SUPERVISOR).set_calendar_range(days={**span, "confirm_complete_year": True})


def test_names_come_many_at_once_within_the_callers_scope(tree):
    cadre = tree(ADMIN).create_staff(staff={"username": "qs_c", "full_name": "张三", "role": "township_cadre",
                                            "township_code": QS, "password": "cunban-demo-2026"})
    item = {"township_code": QS, "code": "YB-002", "name": "城乡居民医疗保险参保登记", "category": "agency",
            "handling_level": "village", "eligible_applicants": "城乡居民", "procedure_steps": ["登记"],
            "promised_days": 0, "supervision_method": "监督电话 12345"}
    tree(ADMIN).create_catalogue_item(item=item)
    query = {"townships": [QS, LX], "villages": [f"{QS}001", f"{LX}001", f"{QS}099"],
             "stations": ["ST-QS-001", "ST-GONE"], "staff": [cadre["id"], 1, 9999],
             "items": [{"township_code": QS, "code": "YB-002"}]}
    named = tree(ADMIN).names(query=query)
    assert named["townships"] == {QS: "青石镇", LX: "柳溪乡"}
    assert named["villages"] == {f"{QS}001": {"name": "石门村", "kind": "village"},
                                 f"{LX}001": {"name": "柳溪村", "kind": "village"}}
    assert named["stations"] == {"ST-QS-001": "石门村服务站"}
    assert named["staff"][str(cadre["id"])] == "张三"
    assert named["items"] == {f"{QS}/YB-002": "城乡居民医疗保险参保登记"}
    mine = tree(QS_CADRE).names(query=query)  # another township's records are not named to a township's staff
    assert mine["townships"] == {QS: "青石镇"} and list(mine["villages"]) == [f"{QS}001"]
    with pytest.raises(ValidationFailed):
        tree(ADMIN).names(query={"villages": ["not-a-code"]})
