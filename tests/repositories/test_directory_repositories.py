"""The directory's repositories on SQLite and PostgreSQL: each method writes and reads real rows, and the edge
that matters to the use case asking (a scope, an order, a page, a conflict ignored, a lock) is checked."""
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from services.directory.adapters import orm
from services.directory.adapters.repositories import DirectoryUnitOfWork
from shared.contracts import directory as c
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
QX, HX = "431099", "431100"  # two counties
QS, LX, HS = "431099101", "431099102", "431100101"  # two townships of the first, one of the second
QX_ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code=QX)
SYSADMIN = Caller(staff_id=2, role=Role.SYSTEM_ADMIN)
LX_CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=LX)
EVERYTHING = c.Page(limit=500)


@pytest.fixture
def db(service_db) -> ServiceDatabase:
    return service_db("directory", orm.Base.metadata)


@contextmanager
def unit(db: ServiceDatabase) -> Iterator[DirectoryUnitOfWork]:
    uow = db.unit_of_work()
    assert isinstance(uow, DirectoryUnitOfWork)
    try:
        yield uow
    finally:
        uow.close()


def versioned(row):
    row.version, row.updated_at = 1, NOW
    return row


@pytest.fixture
def tree(db: ServiceDatabase) -> ServiceDatabase:
    """Two counties; the first with townships QS and LX, the second with HS; two villages in QS, one in each
    of the others, and a station in each of QS's villages. Entered in an order that is not the codes'."""
    with unit(db) as uow:
        for code in (HX, QX):
            uow.counties.add(versioned(orm.County(code=code, name=f"county {code}")))
        for code in (HS, LX, QS):
            uow.townships.add(versioned(orm.Township(code=code, county_code=code[:6], name=f"township {code}")))
        for code, name in ((f"{QS}002", "石门村"), (f"{QS}001", "青石村"), (f"{LX}001", "柳溪村"),
                           (f"{HS}001", "红山村")):
            uow.villages.add(versioned(orm.Village(code=code, township_code=code[:9], name=name, kind="village")))
        for village in (f"{QS}002", f"{QS}001"):
            uow.stations.add(versioned(orm.Station(code=f"ST{village}", village_code=village, township_code=QS,
                                                   name=f"station {village}")))
        uow.commit()
    return db


def staff(username: str, role: Role, township: str | None, county: str | None, station: str | None = None):
    return versioned(orm.Staff(username=username, full_name=username, role=role.value, township_code=township,
                               station_code=station, county_code=county, password_hash="x", active=True))


# ---- the tenant tree ----------------------------------------------------------------------------------------

def test_counties_are_read_by_code_and_in_order(db):
    with unit(db) as uow:
        assert not uow.counties.any()
        assert uow.counties.codes() == []
    with unit(db) as uow:
        for code in (HX, QX):
            uow.counties.add(versioned(orm.County(code=code, name=code)))
        uow.commit()
    with unit(db) as uow:
        assert uow.counties.any()
        assert uow.counties.codes() == [QX, HX]
        assert [r.code for r in uow.counties.all()] == [QX, HX]
        assert [r.code for r in uow.counties.named(HX)] == [HX]
        assert uow.counties.named(None) == [] and uow.counties.named("999999") == []
        assert uow.counties.get(QX).name == QX and uow.counties.get("999999") is None


def test_townships_are_listed_within_the_callers_reach_a_page_at_a_time(tree):
    with unit(tree) as uow:
        assert [r.code for r in uow.townships.within_reach(SYSADMIN, EVERYTHING)] == [QS, LX, HS]
        assert [r.code for r in uow.townships.within_reach(QX_ADMIN, EVERYTHING)] == [QS, LX]
        assert [r.code for r in uow.townships.within_reach(LX_CADRE, EVERYTHING)] == [LX]
        assert [r.code for r in uow.townships.within_reach(SYSADMIN, c.Page(limit=1, offset=1))] == [LX]
        assert [r.code for r in uow.townships.all()] == [QS, LX, HS]


def test_places_are_listed_within_reach_or_for_one_township(tree):
    with unit(tree) as uow:
        assert [r.code for r in uow.villages.within_reach(QX_ADMIN, EVERYTHING)] == [
            f"{QS}001", f"{QS}002", f"{LX}001"]
        assert [r.code for r in uow.villages.within_reach(SYSADMIN, EVERYTHING, HS)] == [f"{HS}001"]
        assert [r.code for r in uow.villages.within_reach(LX_CADRE, EVERYTHING)] == [f"{LX}001"]
        assert [r.code for r in uow.villages.of_township(QS)] == [f"{QS}001", f"{QS}002"]
        assert [r.code for r in uow.stations.within_reach(LX_CADRE, EVERYTHING)] == []
        assert [r.code for r in uow.stations.within_reach(QX_ADMIN, c.Page(limit=1))] == [f"ST{QS}001"]
        assert [r.code for r in uow.stations.all()] == [f"ST{QS}001", f"ST{QS}002"]


def test_a_townships_place_names_leave_out_the_one_renamed_and_other_townships(tree):
    with unit(tree) as uow:
        assert uow.villages.names_in_township(QS) == {f"{QS}001": "青石村", f"{QS}002": "石门村"}
        assert uow.villages.names_in_township(QS, but=f"{QS}002") == {f"{QS}001": "青石村"}
        assert uow.villages.names_in_township(LX) == {f"{LX}001": "柳溪村"}
        assert uow.stations.names_in_township(QS, but=f"ST{QS}001") == {f"ST{QS}002": f"station {QS}002"}
        assert uow.stations.names_in_township(HS) == {}


def test_reading_a_townships_place_names_holds_the_township_until_the_transaction_ends(tree):
    """Two managers naming places in one township take turns: the second waits for the first's lock."""
    if tree.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway; FOR UPDATE is PostgreSQL's")
    with unit(tree) as first, unit(tree) as second:
        first.villages.names_in_township(QS)
        second.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
        second.villages.names_in_township(LX)  # another township is not held
        with pytest.raises(DBAPIError, match="lock"):
            second.stations.names_in_township(QS)


def test_records_are_named_many_at_once_and_unknown_keys_left_out(tree):
    with unit(tree) as uow:
        assert sorted(r.code for r in uow.townships.among([QS, HS, "431099999"])) == [QS, HS]
        assert [r.code for r in uow.villages.among([f"{LX}001", f"{LX}001"])] == [f"{LX}001"]
        assert uow.stations.among([]) == []


def test_market_sites_are_listed_within_reach(tree):
    with unit(tree) as uow:
        for code, township in (("M2", QS), ("M1", HS), ("M3", LX)):
            uow.market_sites.add(versioned(orm.MarketSite(code=code, township_code=township, name=code, location="x",
                                                          rule={"weekdays": [1]}, opens_at="07:00",
                                                          closes_at="12:00")))
        uow.commit()
    with unit(tree) as uow:
        assert [r.code for r in uow.market_sites.within_reach(QX_ADMIN, EVERYTHING)] == ["M2", "M3"]
        assert [r.code for r in uow.market_sites.within_reach(SYSADMIN, EVERYTHING)] == ["M1", "M2", "M3"]
        assert [r.code for r in uow.market_sites.within_reach(SYSADMIN, EVERYTHING, QS)] == ["M2"]
        assert uow.market_sites.get("M1").township_code == HS


# ---- staff, station keys, sessions and the audit log --------------------------------------------------------

def test_a_new_staff_member_has_an_id_before_the_commit_and_is_found_by_username(tree):
    with unit(tree) as uow:
        row = staff("qs_cadre", Role.TOWNSHIP_CADRE, QS, QX)
        uow.staff.add(row)
        assert row.id is not None  # the snapshot announced with it carries it
        uow.commit()
        staff_id = row.id
    with unit(tree) as uow:
        assert uow.staff.get(staff_id).username == "qs_cadre"
        assert uow.staff.with_username("qs_cadre").id == staff_id
        assert uow.staff.with_username("QS_CADRE") is None
        assert uow.staff.username_taken("qs_cadre") and not uow.staff.username_taken("nobody")


def test_a_countys_staff_includes_its_county_admins_and_no_other_countys(tree):
    with unit(tree) as uow:
        rows = [staff("qx_admin", Role.COUNTY_ADMIN, None, QX), staff("hs_cadre", Role.TOWNSHIP_CADRE, HS, HX),
                staff("lx_cadre", Role.TOWNSHIP_CADRE, LX, QX), staff("sys", Role.SYSTEM_ADMIN, None, None),
                staff("qs_agent", Role.VILLAGE_AGENT, QS, QX, f"ST{QS}001")]
        for row in rows:
            uow.staff.add(row)
        uow.commit()
        ids = {row.username: row.id for row in rows}
    with unit(tree) as uow:
        assert [r.username for r in uow.staff.of_county(QX, EVERYTHING)] == ["qx_admin", "lx_cadre", "qs_agent"]
        assert [r.username for r in uow.staff.of_county(QX, c.Page(limit=1, offset=1))] == ["lx_cadre"]
        assert [r.username for r in uow.staff.within_reach(LX_CADRE, EVERYTHING)] == ["lx_cadre"]
        assert [r.username for r in uow.staff.within_reach(SYSADMIN, EVERYTHING, QS)] == ["qs_agent"]
        # the county admin has no township: a county's range of township codes does not find them
        assert [r.username for r in uow.staff.within_reach(QX_ADMIN, EVERYTHING)] == ["lx_cadre", "qs_agent"]
        assert uow.staff.counties_of({ids["qx_admin"], ids["sys"], ids["hs_cadre"], 9999}) == {
            ids["qx_admin"]: QX, ids["sys"]: None, ids["hs_cadre"]: HX}
        assert uow.staff.counties_of(set()) == {}
        assert [r.username for r in uow.staff.all()] == [r.username for r in rows]


def test_station_keys_of_a_station_in_order_and_those_still_acting_for_someone(tree):
    with unit(tree) as uow:
        agent, other = staff("agent", Role.VILLAGE_AGENT, QS, QX, f"ST{QS}001"), staff(
            "other", Role.VILLAGE_AGENT, QS, QX, f"ST{QS}002")
        uow.staff.add(agent)
        uow.staff.add(other)
        keys = []
        for station, person, hash_ in ((f"ST{QS}001", agent, "a"), (f"ST{QS}002", other, "b"),
                                       (f"ST{QS}001", agent, "c")):
            key = orm.StationKey(station_code=station, township_code=QS, staff_id=person.id, label=hash_,
                                 key_hash=hash_ * 64, prefix=hash_, created_at=NOW)
            uow.station_keys.add(key)
            assert key.id is not None  # the id is part of the key handed out
            keys.append(key)
        keys[0].revoked_at = NOW
        uow.commit()
        agent_id = agent.id
    with unit(tree) as uow:
        assert [k.label for k in uow.station_keys.of_station(f"ST{QS}001")] == ["a", "c"]
        assert [k.label for k in uow.station_keys.acting_for(agent_id)] == ["c"]
        assert uow.station_keys.of_station(f"ST{QS}003") == []


def test_a_token_signed_out_twice_is_ended_once_and_expired_ones_are_cleared(db):
    with unit(db) as uow:
        uow.ended_sessions.end("a" * 32, 7, NOW + timedelta(hours=1))
        uow.ended_sessions.end("b" * 32, 7, NOW - timedelta(minutes=1))
        uow.commit()
    with unit(db) as uow:
        uow.ended_sessions.end("a" * 32, 7, NOW + timedelta(hours=2))  # again: no conflict
        uow.ended_sessions.clear_expired(NOW)
        uow.commit()
    with unit(db) as uow:
        assert uow.ended_sessions.ended("a" * 32)
        assert not uow.ended_sessions.ended("b" * 32)
        assert uow.session.get(orm.EndedSession, "a" * 32).expires_at == NOW + timedelta(hours=1)


def audit_entry(n: int, *, county: str | None = QX, township: str | None = QS, outcome: int = 200,
                username: str = "qs_cadre") -> dict:
    return {"id": f"{n:032x}", "at": NOW + timedelta(minutes=n), "correlation_id": f"c{n}", "staff_id": 5,
            "username": username, "role": "township_cadre", "township_code": township, "station_code": None,
            "county_code": county, "action": "file_application", "method": "POST", "target": f"/a/{n}",
            "outcome": outcome, "client": "10.0.0.1", "personal_data": False}


def test_an_audit_entry_delivered_twice_is_kept_once(db):
    with unit(db) as uow:
        uow.audit_log.keep([audit_entry(1), audit_entry(2)])
        uow.commit()
    with unit(db) as uow:
        uow.audit_log.keep([audit_entry(2, outcome=500), audit_entry(3)])
        uow.commit()
    with unit(db) as uow:
        rows = uow.audit_log.newest(c.AuditQuery())
        assert [(r.target, r.outcome) for r in rows] == [("/a/3", 200), ("/a/2", 200), ("/a/1", 200)]


def test_the_audit_log_is_read_newest_first_by_county_filter_and_page(db):
    with unit(db) as uow:
        uow.audit_log.keep([audit_entry(1), audit_entry(2, outcome=403), audit_entry(3, county=HX, township=HS),
                            audit_entry(4, county=None, township=None, username="sysadmin"),
                            audit_entry(5, username="lx_cadre")])
        uow.commit()

    def targets(rows):
        return [r.target for r in rows]

    with unit(db) as uow:
        log = uow.audit_log
        assert targets(log.newest(c.AuditQuery())) == ["/a/5", "/a/4", "/a/3", "/a/2", "/a/1"]
        assert targets(log.newest_of_county(QX, c.AuditQuery())) == ["/a/5", "/a/2", "/a/1"]
        assert targets(log.newest_of_county(None, c.AuditQuery())) == ["/a/4"]  # what no county's people did
        assert targets(log.newest_of_county(QX, c.AuditQuery(failed=True))) == ["/a/2"]
        assert targets(log.newest_of_county(QX, c.AuditQuery(failed=False, limit=1))) == ["/a/5"]
        assert targets(log.newest(c.AuditQuery(username="qs_cadre", township_code=QS))) == ["/a/2", "/a/1"]
        first_page = log.newest(c.AuditQuery(limit=2))
        assert targets(log.newest(c.AuditQuery(limit=2, before=first_page[-1].seq))) == ["/a/3", "/a/2"]
        since, until = NOW + timedelta(minutes=2), NOW + timedelta(minutes=4)
        assert targets(log.newest(c.AuditQuery(since=since, until=until))) == ["/a/3", "/a/2"]
        assert targets(log.newest(c.AuditQuery(correlation_id="c3"))) == ["/a/3"]


# ---- the catalogue ------------------------------------------------------------------------------------------

def item(township: str, code: str, category: str = "agency", status: str = "active"):
    return versioned(orm.CatalogueItem(
        township_code=township, code=code, name=f"item {code}", category=category, handling_level="village",
        eligible_applicants="all", procedure_steps=["登记"], required_materials=[], promised_days=0,
        fee_yuan=Decimal("0"), supervision_method="12345", status=status))


def test_catalogue_items_by_reach_category_and_status(tree):
    with unit(tree) as uow:
        for row in (item(LX, "B"), item(QS, "C", category="farming"), item(QS, "A"), item(HS, "A"),
                    item(QS, "W", status="withdrawn")):
            uow.catalogue.add(row)
        uow.commit()

    def refs(rows):
        return [(r.township_code, r.code) for r in rows]

    with unit(tree) as uow:
        catalogue = uow.catalogue
        assert refs(catalogue.within_reach(QX_ADMIN, EVERYTHING)) == [(QS, "A"), (QS, "C"), (LX, "B")]
        assert refs(catalogue.within_reach(QX_ADMIN, EVERYTHING, include_withdrawn=True)) == [
            (QS, "A"), (QS, "C"), (QS, "W"), (LX, "B")]
        assert refs(catalogue.within_reach(SYSADMIN, EVERYTHING, category=c.Category.AGENCY)) == [
            (QS, "A"), (LX, "B"), (HS, "A")]
        assert refs(catalogue.within_reach(SYSADMIN, c.Page(limit=2), QS, include_withdrawn=True)) == [
            (QS, "A"), (QS, "C")]
        assert refs(catalogue.offered_by(QS, None, EVERYTHING)) == [(QS, "A"), (QS, "C")]
        assert refs(catalogue.offered_by(QS, c.Category.FARMING, EVERYTHING)) == [(QS, "C")]
        assert sorted(refs(catalogue.among([(QS, "A"), (HS, "A"), (HS, "B")]))) == [(QS, "A"), (HS, "A")]
        assert catalogue.get((QS, "W")).status == "withdrawn" and catalogue.get((LX, "A")) is None


# ---- the calendar -------------------------------------------------------------------------------------------

def day(county: str, when: date, kind: str, source: str = "official") -> orm.CalendarEntry:
    return orm.CalendarEntry(county_code=county, day=when, kind=kind, name=kind, source=source, updated_at=NOW)


def test_a_countys_marked_days_by_year_kind_and_source(tree):
    with unit(tree) as uow:
        for row in (day(QX, date(2027, 1, 1), "holiday"), day(QX, date(2026, 12, 31), "local_day_off", "local"),
                    day(QX, date(2027, 2, 7), "makeup_workday"), day(HX, date(2026, 10, 1), "holiday"),
                    day(QX, date(2026, 10, 1), "holiday"), day(QX, date(2028, 1, 1), "local_day_off", "local")):
            uow.calendar.enter(row)
        uow.commit()
    with unit(tree) as uow:
        calendar = uow.calendar
        assert calendar.days_of(QX) == {date(2027, 1, 1), date(2026, 12, 31), date(2027, 2, 7), date(2026, 10, 1),
                                        date(2028, 1, 1)}
        assert set(calendar.entered(QX, [date(2027, 1, 1), date(2027, 1, 2), date(2026, 10, 1)])) == {
            date(2027, 1, 1), date(2026, 10, 1)}
        assert [r.day for r in calendar.of_year(QX, 2026)] == [date(2026, 10, 1), date(2026, 12, 31)]
        assert [r.day for r in calendar.of_year(HX, 2027)] == []
        assert calendar.has_official_holiday(QX, 2027) and calendar.has_official_holiday(HX, 2026)
        assert not calendar.has_official_holiday(QX, 2028)  # a county's own day off is not the State Council's
        assert not calendar.has_official_holiday(HX, 2027)
        assert sorted(calendar.official_days(QX)) == [date(2026, 10, 1), date(2027, 1, 1), date(2027, 2, 7)]
        assert [(r.county_code, r.day) for r in calendar.every_day()] == [
            (QX, date(2026, 10, 1)), (QX, date(2026, 12, 31)), (QX, date(2027, 1, 1)), (QX, date(2027, 2, 7)),
            (QX, date(2028, 1, 1)), (HX, date(2026, 10, 1))]


def test_a_day_removed_goes_back_to_the_weekly_default(tree):
    with unit(tree) as uow:
        uow.calendar.enter(day(QX, date(2026, 12, 31), "local_day_off", "local"))
        uow.commit()
    with unit(tree) as uow:
        uow.calendar.remove(uow.calendar.get((QX, date(2026, 12, 31))))
        uow.commit()
    with unit(tree) as uow:
        assert uow.calendar.get((QX, date(2026, 12, 31))) is None
        assert uow.session.scalar(select(func.count()).select_from(orm.CalendarEntry)) == 0


def test_a_countys_complete_years_in_order(tree):
    with unit(tree) as uow:
        for county, year in ((QX, 2027), (HX, 2025), (QX, 2026)):
            uow.calendar_years.add(orm.CalendarYear(county_code=county, year=year, basis="county", completed_at=NOW,
                                                    completed_by="qx_admin"))
        uow.commit()
    with unit(tree) as uow:
        assert uow.calendar_years.years_of(QX) == [2026, 2027]
        assert [r.year for r in uow.calendar_years.of_county(HX)] == [2025]
        assert uow.calendar_years.get((QX, 2027)).completed_by == "qx_admin"
        assert uow.calendar_years.get((HX, 2027)) is None
