"""The directory's entrypoints: contracts in, rules applied, rows and outbox events committed together."""
from datetime import date

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

import services.directory.service as directory_service
from services.directory.adapters import orm
from shared.contracts.caller import Caller, Role
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from shared.observability import metrics
from tests.interface.conftest import ADMIN, SYSADMIN, outbox_types

QS, LX = "431099101", "431099102"
QS_SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code=QS)
QS_CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)


def _tree(directory):
    admin = directory(ADMIN)
    admin.create_township(township={"code": QS, "name": "青石镇"})
    directory(ADMIN).create_township(township={"code": LX, "name": "柳溪乡"})
    directory(ADMIN).create_village(village={"code": f"{QS}001", "township_code": QS, "name": "石门村"})
    directory(ADMIN).create_village(village={"code": f"{LX}001", "township_code": LX, "name": "柳溪村"})
    directory(ADMIN).create_station(station={"code": f"ST{QS}001", "village_code": f"{QS}001", "name": "石门村服务站"})


ITEM = {"township_code": QS, "code": "YB-002", "name": "城乡居民医疗保险参保登记", "category": "agency",
        "handling_level": "village", "eligible_applicants": "城乡居民", "procedure_steps": ["登记"],
        "promised_days": 0, "supervision_method": "监督电话 12345"}


def test_bootstrap_loads_the_official_calendar_once(directory, directory_db):
    again = directory(Caller.system())
    again.check_calendar_coverage = lambda: None
    assert again.bootstrap_county(code="431099", name="清水县")["calendar_days_added"] == 0
    with directory_db.sessions() as session:
        assert session.query(orm.CalendarEntry).count() > 700


def test_creating_a_township_commits_the_row_and_its_event_together(directory, directory_db):
    before = outbox_types(directory_db).count("township_changed")
    created = directory(ADMIN).create_township(township={"code": QS, "name": "青石镇", "hotline": "0731-88120101"})
    assert created["version"] == 1 and created["county_code"] == "431099"
    assert outbox_types(directory_db).count("township_changed") == before + 1


def test_a_failed_rule_writes_neither_row_nor_event(directory, directory_db):
    before = outbox_types(directory_db)
    with pytest.raises(Forbidden) as err:  # another county's township: not this county admin's to add
        directory(ADMIN).create_township(township={"code": "430000101", "name": "外县镇"})
    assert err.value.code == "outside_scope"
    with pytest.raises(ValidationFailed) as err:  # a county the installation does not have
        directory(SYSADMIN).create_township(township={"code": "430000101", "name": "外县镇"})
    assert err.value.code == "county_unknown"
    with pytest.raises(ValidationFailed) as err:  # a code not under the county named beside it
        directory(SYSADMIN).create_township(township={"code": "431121101", "county_code": "431099", "name": "黎家坪镇"})
    assert err.value.code == "township_not_in_county"
    assert outbox_types(directory_db) == before


QY, LJP = "431121", "431121101"  # 祁阳, the installation's second county, and its 黎家坪镇
QY_ADMIN = Caller(staff_id=50, username="qy_admin", role=Role.COUNTY_ADMIN, county_code=QY)


def _second_county(directory):
    directory(SYSADMIN).bootstrap_county(code=QY, name="祁阳县")
    directory(SYSADMIN).create_township(township={"code": LJP, "name": "黎家坪镇"})
    directory(QY_ADMIN).create_village(village={"code": f"{LJP}001", "township_code": LJP, "name": "黎家坪村"})


def test_only_the_system_administrator_adds_a_county_and_its_admin(directory):
    with pytest.raises(Forbidden):
        directory(ADMIN).bootstrap_county(code=QY, name="祁阳县")
    _second_county(directory)
    assert [c["code"] for c in directory(SYSADMIN).list_counties()] == ["431099", QY]
    assert [c["code"] for c in directory(QY_ADMIN).list_counties()] == [QY]
    with pytest.raises(Forbidden) as err:
        directory(ADMIN).create_staff(staff={"username": "qy_it", "full_name": "祁阳县信息中心", "role": "county_admin",
                                             "county_code": QY, "password": "county-pass-1"})
    assert err.value.code == "system_admin_only"
    made = directory(SYSADMIN).create_staff(staff={"username": "qy_it", "full_name": "祁阳县信息中心",
                                                    "role": "county_admin", "county_code": QY,
                                                    "password": "county-pass-1"})
    assert made["county_code"] == QY and made["township_code"] is None
    with pytest.raises(ValidationFailed) as err:
        directory(SYSADMIN).create_staff(staff={"username": "nowhere_it", "full_name": "无县", "role": "county_admin",
                                                "county_code": "430000", "password": "county-pass-1"})
    assert err.value.code == "county_unknown"


def test_a_county_admin_sees_nothing_of_another_county(directory):
    _tree(directory)
    _second_county(directory)
    qy_staff = directory(SYSADMIN).create_staff(staff={"username": "qy_it", "full_name": "祁阳县信息中心",
                                                        "role": "county_admin", "county_code": QY,
                                                        "password": "county-pass-1"})
    assert [t["code"] for t in directory(ADMIN).list_townships()] == [QS, LX]
    assert [t["code"] for t in directory(QY_ADMIN).list_townships()] == [LJP]
    assert {t["code"] for t in directory(SYSADMIN).list_townships()} == {QS, LX, LJP}
    assert [v["code"] for v in directory(QY_ADMIN).list_villages()] == [f"{LJP}001"]
    for call in (lambda d: d.get_township(code=LJP), lambda d: d.get_village(code=f"{LJP}001"),
                 lambda d: d.get_staff(staff_id=qy_staff["id"]), lambda d: d.list_villages(township_code=LJP)):
        with pytest.raises(NotFound):
            call(directory(ADMIN))
    assert qy_staff["id"] not in {s["id"] for s in directory(ADMIN).list_staff()}
    assert qy_staff["id"] in {s["id"] for s in directory(QY_ADMIN).list_staff()}
    with pytest.raises(Forbidden):
        directory(ADMIN).create_village(village={"code": f"{LJP}002", "township_code": LJP, "name": "外县村"})
    named = directory(ADMIN).names(query={"townships": [QS, LJP], "staff": [qy_staff["id"]]})
    assert named["townships"] == {QS: "青石镇"} and named["staff"] == {}


def test_each_county_keeps_its_own_calendar(directory):
    _second_county(directory)
    directory(QY_ADMIN).set_calendar_day(day={"day": "2026-06-12", "kind": "local_day_off", "name": "祁阳县庆"})
    assert "2026-06-12" in {d["day"] for d in directory(QY_ADMIN).calendar_year(year=2026)}
    assert "2026-06-12" not in {d["day"] for d in directory(ADMIN).calendar_year(year=2026)}
    with pytest.raises(NotFound) as err:  # another county's calendar is not found, like a missing one
        directory(ADMIN).calendar_year(year=2026, county_code=QY)
    assert err.value.code == "county_not_found"
    with pytest.raises(ValidationFailed) as err:  # the system administrator names the county
        directory(SYSADMIN).calendar_year(year=2026)
    assert err.value.code == "county_required"
    assert "2026-06-12" in {d["day"] for d in directory(SYSADMIN).calendar_year(year=2026, county_code=QY)}


def test_duplicates_conflict(directory):
    _tree(directory)
    with pytest.raises(Conflict) as err:
        directory(ADMIN).create_township(township={"code": QS, "name": "again"})
    assert err.value.code == "township_exists"


def test_an_update_bumps_the_version_and_an_identical_one_does_nothing(directory, directory_db):
    _tree(directory)
    updated = directory(ADMIN).update_township(code=QS, changes={"name": "青石镇人民政府"})
    assert updated["version"] == 2
    count = len(outbox_types(directory_db))
    same = directory(ADMIN).update_township(code=QS, changes={"name": "青石镇人民政府"})
    assert same["version"] == 2 and len(outbox_types(directory_db)) == count


def test_township_staff_see_only_their_township(directory):
    _tree(directory)
    assert [t["code"] for t in directory(QS_CADRE).list_townships()] == [QS]
    assert [v["code"] for v in directory(QS_CADRE).list_villages()] == [f"{QS}001"]
    with pytest.raises(NotFound):
        directory(QS_CADRE).get_township(code=LX)
    with pytest.raises(NotFound):
        directory(QS_CADRE).get_village(code=f"{LX}001")
    with pytest.raises(NotFound):
        directory(QS_CADRE).list_villages(township_code=LX)
    assert len(directory(ADMIN).list_townships()) == 2


def test_supervisor_manages_the_catalogue_of_own_township_only(directory, directory_db):
    _tree(directory)
    item = directory(QS_SUPERVISOR).create_catalogue_item(item=ITEM)
    assert item["kind"] == "immediate" and item["status"] == "active"
    with pytest.raises(Forbidden):
        directory(QS_SUPERVISOR).create_catalogue_item(item={**ITEM, "township_code": LX})
    with pytest.raises(Forbidden):
        directory(QS_CADRE).create_catalogue_item(item={**ITEM, "code": "X-1"})


def test_an_update_that_would_make_the_item_invalid_is_refused(directory):
    _tree(directory)
    directory(ADMIN).create_catalogue_item(item=ITEM)
    with pytest.raises(ValidationFailed):
        directory(ADMIN).update_catalogue_item(township_code=QS, code="YB-002", changes={"fee_yuan": "3.00"})
    changed = directory(ADMIN).update_catalogue_item(township_code=QS, code="YB-002", changes={
        "fee_yuan": "3.00", "fee_legal_basis": "依据省物价局文件", "promised_days": 5})
    assert changed["kind"] == "promised" and changed["version"] == 2


def test_withdrawn_items_leave_the_public_catalogue_but_stay_readable_to_staff(directory):
    _tree(directory)
    directory(ADMIN).create_catalogue_item(item=ITEM)
    public = directory(Caller.public())
    assert [i["code"] for i in public.public_catalogue(township_code=QS)] == ["YB-002"]
    directory(ADMIN).withdraw_catalogue_item(township_code=QS, code="YB-002")
    assert directory(Caller.public()).public_catalogue(township_code=QS) == []
    assert directory(QS_CADRE).get_catalogue_item(township_code=QS, code="YB-002")["status"] == "withdrawn"
    assert directory(QS_CADRE).list_catalogue(include_withdrawn=True)[0]["status"] == "withdrawn"


def test_public_catalogue_of_an_unknown_township_is_not_found(directory):
    with pytest.raises(NotFound):
        directory(Caller.public()).public_catalogue(township_code="431099199")


def test_public_callers_cannot_list_staff_records(directory):
    with pytest.raises(Unauthenticated):
        directory(Caller.public()).list_staff()


def test_staff_station_must_be_in_their_township(directory):
    _tree(directory)
    with pytest.raises(ValidationFailed):
        directory(ADMIN).create_staff(staff={"username": "lx_agent", "full_name": "x", "role": "village_agent",
                                             "township_code": LX, "station_code": f"ST{QS}001",
                                             "password": "long-enough"})


def test_market_site_rules_are_stored_normalised(directory, directory_db):
    _tree(directory)
    site = directory(ADMIN).create_market_site(site={
        "code": "QS-JISHI", "township_code": QS, "name": "老街集市", "location": "主街",
        "rule": {"kind": "lunar_days", "pattern": "逢一四七", "exceptions": {"skip_lunar_new_year_days": 7}}})
    assert site["rule"]["days"] == [1, 4, 7, 11, 14, 17, 21, 24, 27]
    with directory_db.sessions() as session:
        stored = session.execute(select(orm.MarketSite.rule)).scalar_one()
    assert stored["pattern"] == "逢一四七"
    with pytest.raises(ValidationFailed):
        directory(ADMIN).update_market_site(code="QS-JISHI", changes={"opens_at": "13:00"})


def test_the_county_can_add_a_day_off_and_enter_next_years_holidays(directory):
    status = directory(ADMIN).calendar_status()
    assert status["next_year_missing"] is (status["next_year"] > 2026)
    day = directory(ADMIN).set_calendar_day(day={"day": "2026-12-01", "kind": "local_day_off", "name": "县庆"})
    assert day["working"] is False
    assert any(d["day"] == "2026-12-01" for d in directory(ADMIN).calendar_year(year=2026))
    directory(ADMIN).set_calendar_day(day={"day": "2027-01-01", "kind": "holiday", "name": "元旦",
                                           "source": "official"})
    assert 2027 in directory(ADMIN).calendar_status()["official_years"]
    directory(ADMIN).clear_calendar_day(day="2026-12-01")
    assert not any(d["day"] == "2026-12-01" for d in directory(ADMIN).calendar_year(year=2026))
    with pytest.raises(Forbidden):
        directory(QS_SUPERVISOR).set_calendar_day(day={"day": "2026-12-02", "kind": "local_day_off", "name": "x"})


def _next_year_gauge() -> float | None:
    return REGISTRY.get_sample_value("cunban_calendar_next_year_missing", {"county": "431099"})


def test_one_hand_entered_day_does_not_load_next_year_until_the_county_marks_it_complete(
        directory, directory_db, monkeypatch):
    monkeypatch.setattr(directory_service, "today_in_china", lambda: date(2026, 11, 28))
    metrics.calendar_next_year_missing.labels("431099").set(-1)  # whatever an earlier test left
    directory(ADMIN).set_calendar_day(day={"day": "2027-01-01", "kind": "holiday", "name": "元旦",
                                           "source": "official"})
    assert _next_year_gauge() == 1  # set in the request itself, not by the ten-minute timer
    status = directory(QS_SUPERVISOR).calendar_status()
    assert status["next_year_missing"] is True and 2027 not in status["loaded_years"]
    assert 2026 in status["loaded_years"]  # loaded whole from the official data at bootstrap
    assert status["days_until_next_year"] == 34 and "starts in 34 days" in status["warning"]
    before = outbox_types(directory_db).count("calendar_year_completed")

    completed = directory(ADMIN).complete_calendar_year(year=2027)

    assert (completed["year"], completed["basis"], completed["completed_by"], completed["completed_by_staff_id"]) \
        == (2027, "county", "admin", 1)
    assert _next_year_gauge() == 0  # at once
    status = directory(QS_SUPERVISOR).calendar_status()
    assert status["next_year_missing"] is False and status["warning"] is None and 2027 in status["loaded_years"]
    assert outbox_types(directory_db).count("calendar_year_completed") == before + 1
    assert directory(ADMIN).complete_calendar_year(year=2027) == completed  # once: same record, no new event
    assert directory(QS_SUPERVISOR).calendar_years()[-1] == completed
    assert outbox_types(directory_db).count("calendar_year_completed") == before + 1


def test_the_year_under_way_not_loaded_warns_whatever_the_month(directory, monkeypatch):
    monkeypatch.setattr(directory_service, "today_in_china", lambda: date(2027, 1, 4))
    status = directory(ADMIN).calendar_status()
    assert status["this_year_missing"] is True and "2027, which has begun" in status["warning"]
    assert REGISTRY.get_sample_value("cunban_calendar_this_year_missing", {"county": "431099"}) == 1
    directory(ADMIN).set_calendar_day(day={"day": "2027-02-17", "kind": "holiday", "name": "春节",
                                           "source": "official"})
    directory(ADMIN).complete_calendar_year(year=2027)
    assert REGISTRY.get_sample_value("cunban_calendar_this_year_missing", {"county": "431099"}) == 0
    assert directory(ADMIN).calendar_status()["warning"] is None  # 2028 is not due before November


def test_a_year_without_any_official_holiday_cannot_be_marked_complete(directory):
    with pytest.raises(Conflict) as err:
        directory(ADMIN).complete_calendar_year(year=2028)
    assert err.value.code == "calendar_year_empty"
    with pytest.raises(Forbidden):
        directory(QS_SUPERVISOR).complete_calendar_year(year=2026)


def test_no_warning_before_november_though_next_year_is_not_loaded(directory, monkeypatch):
    monkeypatch.setattr(directory_service, "today_in_china", lambda: date(2026, 6, 1))
    status = directory(ADMIN).calendar_status()
    assert status["next_year_missing"] is True and status["warning"] is None
    assert _next_year_gauge() == 1  # the fact; the alert rule waits for November (alerts.test.yml)


def test_bad_query_values_are_validation_errors_not_crashes(directory):
    with pytest.raises(ValidationFailed):
        directory(ADMIN).calendar_year(year=1800)
    with pytest.raises(ValidationFailed):
        directory(ADMIN).clear_calendar_day(day="not-a-date")
    with pytest.raises(ValidationFailed):
        directory(ADMIN).list_catalogue(category="lottery")
    with pytest.raises(ValidationFailed):
        directory(ADMIN).list_townships(page={"limit": 100000})


def test_a_call_without_a_caller_is_refused(directory_db):
    from nameko.testing.services import worker_factory

    from services.directory.service import DirectoryService
    from shared.service import CallerContext

    class Ctx:
        data = {}

    service = worker_factory(DirectoryService, db=directory_db.unit_of_work(),
                             caller=CallerContext().get_dependency(Ctx()))
    with pytest.raises(Unauthenticated):
        service.list_townships()


WORKFLOW = {"steps": [
    {"name": "village_review", "title": "村级审查", "roles": ["village_committee"], "level": "village",
     "limit_days": 0, "on_approve": "township_review"},
    {"name": "township_review", "title": "乡镇审核", "roles": ["supervisor"], "level": "township",
     "limit_days": 0, "on_approve": "approved"}]}


def test_an_item_gets_a_workflow_only_when_it_is_sound(directory, directory_db):
    _tree(directory)
    directory(ADMIN).create_catalogue_item(item={**ITEM, "promised_days": 10})
    saved = directory(QS_SUPERVISOR).set_catalogue_workflow(township_code=QS, code="YB-002", workflow=WORKFLOW)
    assert [s["name"] for s in saved["workflow"]["steps"]] == ["village_review", "township_review"]
    assert outbox_types(directory_db)[-1] == "catalogue_item_changed"
    broken = {"steps": [{**WORKFLOW["steps"][0], "on_approve": "nowhere"}]}
    with pytest.raises(ValidationFailed) as err:
        directory(QS_SUPERVISOR).set_catalogue_workflow(township_code=QS, code="YB-002", workflow=broken)
    assert err.value.code == "workflow_invalid"
    with pytest.raises(Forbidden):
        directory(QS_CADRE).set_catalogue_workflow(township_code=QS, code="YB-002", workflow=WORKFLOW)
    assert saved["custom_workflow"] is True
    cleared = directory(QS_SUPERVISOR).set_catalogue_workflow(township_code=QS, code="YB-002", workflow=None)
    assert cleared["custom_workflow"] is False and [s["name"] for s in cleared["workflow"]["steps"]] == ["review"]


def test_a_shorter_promised_limit_must_still_fit_the_workflow(directory):
    _tree(directory)
    directory(ADMIN).create_catalogue_item(item={**ITEM, "promised_days": 10})
    steps = [{**s, "limit_days": 5} for s in WORKFLOW["steps"]]
    directory(ADMIN).set_catalogue_workflow(township_code=QS, code="YB-002", workflow={"steps": steps})
    with pytest.raises(ValidationFailed) as err:
        directory(ADMIN).update_catalogue_item(township_code=QS, code="YB-002", changes={"promised_days": 8})
    assert err.value.code == "workflow_invalid"


def test_staff_stations_and_calendar_days_are_announced_again_as_they_are(directory, directory_db):
    """For a read model added after they were announced (intake's staff and calendar, complaints' stations):
    the same snapshots at the same versions, and every marked day of the calendar as it is, which the
    copies that have them already keep unchanged."""
    from services.directory.service_layer.reannouncing import reannounce_directory
    from shared.clock import utcnow

    _tree(directory)
    directory(ADMIN).create_staff(staff={"username": "qs_cadre9", "full_name": "干部", "role": "township_cadre",
                                         "township_code": QS, "password": "a-long-password"})
    directory(ADMIN).set_calendar_day(day={"day": "2026-12-01", "kind": "local_day_off", "name": "县庆"})
    before = outbox_types(directory_db)
    uow = directory_db.unit_of_work()
    try:
        counts = reannounce_directory(uow, now=utcnow())
    finally:
        uow.close()
    with directory_db.sessions() as session:
        staff = session.query(orm.Staff).count()
        stations = session.query(orm.Station).count()
        days = session.query(orm.CalendarEntry).count()
        assert counts == {"staff_changed": staff, "station_changed": stations, "calendar_changed": days}
        assert stations == 1 and days > 700
    outbox = directory_db.metadata.tables["outbox"]
    with directory_db.sessions() as session:
        again = [r.body for r in session.execute(select(outbox.c.body).order_by(outbox.c.id)).all()][len(before):]
    assert [e["type"] for e in again] == ["staff_changed"] * staff + ["station_changed"] + ["calendar_changed"] * days
    station = next(e["payload"] for e in again if e["type"] == "station_changed")
    assert station["code"] == f"ST{QS}001" and station["township_code"] == QS and station["version"] == 1
    marked = {e["payload"]["day"]: e["payload"] for e in again if e["type"] == "calendar_changed"}
    assert (marked["2026-12-01"]["kind"], marked["2026-12-01"]["name"]) == ("local_day_off", "县庆")
    assert marked["2026-10-01"]["kind"] == "holiday" and marked["2026-10-01"]["county_code"] == "431099"


def test_public_townships_and_villages_say_names_and_the_hotline_and_nothing_else(directory):
    _tree(directory)
    townships = directory(Caller.public()).public_townships()
    assert townships and all(set(t) == {"code", "name", "hotline"} for t in townships)
    assert QS in [t["code"] for t in townships]
    villages = directory(Caller.public()).public_villages(township_code=QS)
    assert villages and all(set(v) == {"code", "name"} and v["code"].startswith(QS) for v in villages)
    with pytest.raises(NotFound):
        directory(Caller.public()).public_villages(township_code="431099199")


def test_notifications_asks_for_a_staff_members_phone_only_as_the_platform(directory):
    _tree(directory)
    made = directory(ADMIN).create_staff(staff={"username": "qs_cadre8", "full_name": "干部", "role": "township_cadre",
                                                "township_code": QS, "phone": "13512345678",
                                                "password": "a-long-password-1"})
    notifications = directory(Caller(role=Role.SYSTEM, username="notifications"))
    assert notifications.notice_contact(made["id"]) == "13512345678"
    directory(ADMIN).update_staff(staff_id=made["id"], changes={"active": False})
    assert notifications.notice_contact(made["id"]) is None
    with pytest.raises(Forbidden):
        directory(QS_CADRE).notice_contact(made["id"])
