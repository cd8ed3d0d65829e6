"""Notifications' repositories on SQLite and PostgreSQL: a message made once per send key, what is due and
taken by one sender only, given back or waiting again, counted per number and per county, listed inside
the caller's reach and found by what a provider reports; staff notices with their unread count; opt-outs
once; each county's settings and templates saved in place; and what it follows of other services."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.notifications.adapters import orm
from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.adapters.repositories.messages import SENDER
from services.notifications.domain import sending as s
from shared.contracts import notifications as c
from shared.contracts.caller import Caller, Role
from shared.service import wake_signal

QS, LX = "431099101", "431099102"
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)
NOW = datetime(2026, 12, 3, 4, tzinfo=UTC)


@pytest.fixture
def db(service_db):
    return service_db("notifications", orm.Base.metadata)


@pytest.fixture
def uow(db):
    unit = db.unit_of_work()
    assert isinstance(unit, NotificationsUnitOfWork)
    yield unit
    unit.close()


def message(key: str, *, township: str = QS, status: str = "waiting", send_after: datetime = NOW,
            lease_until: datetime | None = None, kind: str = "application_filed", **more) -> dict:
    return {"send_key": key, "event_id": f"e-{key}", "kind": kind, "audience": "applicant",
            "recipient": f"application:{key}", "county_code": township[:6], "township_code": township,
            "values": {"item": "低保"}, "status": status, "send_after": send_after, "lease_until": lease_until,
            "attempts": 0, "created_at": NOW - timedelta(hours=1), **more}


def made(uow, *messages: dict) -> list[int]:
    """Make and commit the messages; their ids, in order."""
    for values in messages:
        assert uow.messages.make(**values)
    uow.commit()
    m = orm.MessageRow
    ids = dict(uow.session.execute(select(m.send_key, m.id)).all())
    return [ids[values["send_key"]] for values in messages]


def test_a_message_is_made_once_per_send_key(uow):
    assert uow.messages.make(**message("k1")) is True
    assert uow.messages.make(**message("k1", kind="booking_cancelled")) is False
    uow.commit()
    [row] = uow.messages.listed(Caller.system(), c.MessageQuery(), limit=10)
    assert uow.messages.get(row.id).kind == "application_filed"
    assert uow.messages.get(row.id + 1) is None


def test_a_message_due_at_once_wakes_the_sender_and_one_held_for_later_does_not(uow):
    signal = wake_signal(SENDER)
    signal.clear()
    uow.messages.make(**message("held", send_after=NOW + timedelta(hours=4)))  # quiet hours: goes at 08:00
    uow.commit()
    assert not signal.is_set()  # the sender's next round learns when it is due; no round now finds nothing
    uow.messages.make(**message("now", send_after=NOW - timedelta(hours=1)))
    assert not signal.is_set()  # not before the commit: the sender would not see it yet
    uow.commit()
    assert signal.is_set()


def test_due_lists_the_waiting_and_the_cut_off_longest_due_first(uow):
    made(uow, message("later", send_after=NOW - timedelta(minutes=1)),
         message("first", send_after=NOW - timedelta(minutes=5)),
         message("future", send_after=NOW + timedelta(minutes=1)),
         message("cut-off", status="sending", send_after=NOW - timedelta(minutes=3),
                 lease_until=NOW - timedelta(seconds=1)),
         message("in-flight", status="sending", send_after=NOW - timedelta(minutes=4),
                 lease_until=NOW + timedelta(seconds=30)),
         message("sent", status="sent", send_after=NOW - timedelta(minutes=9)))
    due = uow.messages.due(NOW, 50)
    uow.rollback()
    assert [uow.messages.get(i).send_key for i in due] == ["first", "cut-off", "later"]
    assert len(uow.messages.due(NOW, 2)) == 2
    uow.rollback()
    # what comes due next: the in-flight one's lease end (NOW + 30 s), before "future" (NOW + 1 min); an
    # hour before, the first waiting one; after everything, nothing
    assert uow.messages.next_due(NOW) == NOW + timedelta(seconds=30)
    assert uow.messages.next_due(NOW - timedelta(hours=1)) == NOW - timedelta(minutes=5)
    assert uow.messages.next_due(NOW + timedelta(hours=1)) is None


def test_one_sender_takes_a_message_and_it_is_not_due_while_its_lease_runs(uow):
    [mid] = made(uow, message("k1", send_after=NOW - timedelta(minutes=1)))
    assert uow.messages.claim(mid, 0, NOW) is True
    uow.commit()
    taken = uow.messages.get(mid)
    assert (taken.status, taken.attempts, taken.lease_until) == ("sending", 1, NOW + s.LEASE)
    assert uow.messages.claim(mid, 0, NOW) is False  # as read before: another sender has it
    assert uow.messages.claim(mid, 1, NOW) is False  # its lease runs
    assert uow.messages.due(NOW, 50) == []
    assert uow.messages.next_due(NOW) == NOW + s.LEASE  # if its sender died, due again when its lease ends
    uow.rollback()
    assert uow.messages.due(NOW + s.LEASE + timedelta(seconds=1), 50) == [mid]


def test_a_message_given_back_waits_again_its_attempt_unused_and_a_cut_off_one_stays_sending(uow):
    plain, cut = made(uow, message("plain", send_after=NOW - timedelta(minutes=1)),
                      message("cut", status="sending", send_after=NOW - timedelta(minutes=1),
                              lease_until=NOW - timedelta(seconds=1)))
    assert uow.messages.claim(plain, 0, NOW)
    uow.commit()
    assert uow.messages.claim(cut, 0, NOW)
    uow.commit()
    again = NOW + s.AGAIN_SOON
    uow.messages.put_back(plain, cut_off=False, again_at=again)
    uow.messages.put_back(cut, cut_off=True, again_at=again)
    uow.commit()
    given_back, still_cut = uow.messages.get(plain), uow.messages.get(cut)
    uow.session.refresh(given_back)
    uow.session.refresh(still_cut)
    assert (given_back.status, given_back.attempts, given_back.send_after, given_back.lease_until) == \
        ("waiting", 0, again, None)
    assert (still_cut.status, still_cut.attempts, still_cut.lease_until) == ("sending", 0, again)


def test_only_a_failed_message_waits_again_with_all_its_attempts(uow):
    failed, sent = made(uow, message("failed", status="failed", attempts=3, error="boom"),
                        message("sent", status="sent", attempts=1))
    assert uow.messages.wait_again(failed, NOW) is True
    assert uow.messages.wait_again(sent, NOW) is False
    uow.commit()
    row = uow.messages.get(failed)
    uow.session.refresh(row)
    assert (row.status, row.attempts, row.error, row.send_after) == ("waiting", 0, None, NOW)
    assert uow.messages.wait_again(failed, NOW) is False


def test_messages_sent_to_a_number_are_counted_within_the_day(uow):
    made(uow, message("a", status="sent", phone_hash="h1", sent_at=NOW - timedelta(hours=1)),
         message("b", status="sent", phone_hash="h1", sent_at=NOW - timedelta(days=1)),
         message("c", status="sent", phone_hash="h2", sent_at=NOW),
         message("d", status="waiting", phone_hash="h1"))
    assert uow.messages.sent_to("h1", NOW - timedelta(hours=2), NOW + timedelta(hours=2)) == 1
    assert uow.messages.sent_to("h1", NOW - timedelta(days=2), NOW + timedelta(hours=2)) == 2
    assert uow.messages.sent_to("h3", NOW - timedelta(days=2), NOW) == 0


def test_what_waits_is_counted_per_county_with_the_oldest(uow):
    made(uow, message("a", send_after=NOW - timedelta(minutes=9)), message("b", send_after=NOW),
         message("c", status="sending", send_after=NOW - timedelta(minutes=3)),
         message("d", send_after=NOW + timedelta(minutes=1)), message("e", status="sent"),
         message("f", township="431100101", send_after=NOW - timedelta(minutes=1)))
    counts = {county: (n, oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest)
              for county, n, oldest in uow.messages.waiting_per_county(NOW)}
    assert counts == {"431099": (3, NOW - timedelta(minutes=9)), "431100": (1, NOW - timedelta(minutes=1))}


def test_messages_are_listed_newest_first_inside_the_callers_reach_and_filters(uow):
    ids = made(uow, message("a"), message("b", status="sent"), message("c", township=LX),
               message("d", kind="booking_cancelled"))
    listed = uow.messages.listed(SUPERVISOR, c.MessageQuery(), limit=10)
    assert [r.send_key for r in listed] == ["d", "b", "a"]
    assert [r.send_key for r in uow.messages.listed(SYSADMIN, c.MessageQuery(township_code=LX), limit=10)] == ["c"]
    assert [r.send_key for r in uow.messages.listed(SUPERVISOR, c.MessageQuery(status="sent"), limit=10)] == ["b"]
    assert [r.send_key for r in uow.messages.listed(SUPERVISOR, c.MessageQuery(kind="booking_cancelled"),
                                                    limit=10)] == ["d"]
    assert [r.send_key for r in uow.messages.listed(SUPERVISOR, c.MessageQuery(after=ids[3]), limit=1)] == ["b"]


def test_a_report_finds_the_countys_message_by_the_providers_id_or_our_key(uow):
    made(uow, message("k1", status="sent", provider="aliyun", provider_message_id="biz-1"),
         message("k2", township="431100101", status="sent", provider="aliyun", provider_message_id="biz-2"))
    assert uow.messages.by_provider_id("431099", "aliyun", "biz-1").send_key == "k1"
    assert uow.messages.by_provider_id("431099", "tencent", "biz-1") is None
    assert uow.messages.by_provider_id("431099", "aliyun", "biz-2") is None  # another county's
    assert uow.messages.by_send_key("431099", "aliyun", "k1").provider_message_id == "biz-1"
    assert uow.messages.by_send_key("431099", "http", "k1") is None


def notice(key: str, staff_id: int = 3, **more) -> dict:
    return {"send_key": key, "staff_id": staff_id, "township_code": QS, "kind": "case_assigned", "text": "新办件",
            "link": None, "created_at": NOW, **more}


def test_staff_notices_are_made_once_read_newest_first_and_marked_read_only_for_their_owner(uow):
    assert uow.staff_notices.make(**notice("n1"))
    assert not uow.staff_notices.make(**notice("n1"))
    for key in ("n2", "n3"):
        uow.staff_notices.make(**notice(key))
    uow.staff_notices.make(**notice("other", staff_id=4))
    uow.commit()
    mine = uow.staff_notices.of(3, unread=False, after=None, limit=10)
    assert [n.send_key for n in mine] == ["n3", "n2", "n1"]
    assert [n.send_key for n in uow.staff_notices.of(3, unread=False, after=mine[0].id, limit=1)] == ["n2"]
    others = uow.staff_notices.of(4, unread=False, after=None, limit=10)
    uow.staff_notices.mark_read(3, [mine[1].id, others[0].id], NOW)
    uow.commit()
    assert uow.staff_notices.unread(3) == 2
    assert uow.staff_notices.unread(4) == 1
    assert [n.send_key for n in uow.staff_notices.of(3, unread=True, after=None, limit=10)] == ["n3", "n1"]
    uow.staff_notices.mark_read(3, None, NOW)
    uow.commit()
    assert uow.staff_notices.unread(3) == 0


def test_a_number_opts_out_once(uow):
    assert uow.opt_outs.has("h1") is False
    assert uow.opt_outs.add("h1", county_code="431099", at=NOW, source="aliyun") is True
    assert uow.opt_outs.add("h1", county_code="431099", at=NOW, source="tencent") is False
    uow.commit()
    assert uow.opt_outs.has("h1") is True


SETTINGS = {"provider": "log", "provider_settings": {}, "signature": "村办", "quiet_start": "21:00",
            "quiet_end": "08:00", "daily_cap": 10, "urgent": [], "staff_sms": False, "updated_at": NOW}


def test_a_countys_settings_and_templates_are_saved_in_place(db, uow):
    assert uow.county_settings.get("431099") is None
    assert uow.templates.get("431099", "application_filed") is None
    uow.county_settings.save("431099", SETTINGS)
    uow.templates.save("431099", "application_filed", {"text": "【村办】{item}", "provider_template": None,
                                                       "updated_at": NOW, "updated_by": "admin"})
    uow.commit()
    uow.county_settings.save("431099", {**SETTINGS, "daily_cap": 5})
    uow.templates.save("431099", "application_filed", {"text": "【村办】{item} {receipt_no}",
                                                       "provider_template": "SMS_1", "updated_at": NOW,
                                                       "updated_by": "admin"})
    uow.commit()
    fresh = db.unit_of_work()
    try:
        assert fresh.county_settings.get("431099").daily_cap == 5
        assert fresh.county_settings.get("431100") is None
        saved = fresh.templates.get("431099", "application_filed")
        assert (saved.text, saved.provider_template) == ("【村办】{item} {receipt_no}", "SMS_1")
        assert fresh.templates.get("431099", "booking_cancelled") is None
    finally:
        fresh.close()


def test_the_applications_complaints_and_bookings_followed_are_kept_and_found(uow):
    uow.applications.keep("app1", {"id": "app1", "receipt_no": "R-1", "township_code": QS, "station_code": None,
                                   "item_name": "低保"})
    uow.complaints.keep("c1", {"id": "c1", "receipt_no": "T-1", "township_code": QS})
    uow.commit()
    uow.applications.keep("app1", {"id": "app1", "receipt_no": "R-1", "township_code": QS, "station_code": "ST1",
                                   "item_name": "低保"})
    uow.commit()
    assert uow.applications.get("app1").station_code == "ST1"
    assert uow.applications.by_receipt_no("R-1").id == "app1"
    assert uow.applications.by_receipt_no("T-1") is None
    assert uow.complaints.by_receipt_no("T-1").id == "c1"
    assert uow.complaints.by_receipt_no("R-1") is None


def test_bookings_to_remind_are_those_still_booked_in_the_window_not_yet_reminded_soonest_first(uow):
    start = datetime(2026, 12, 3, 16, tzinfo=UTC)
    for booking_id, at, status, reminded in (("late", start + timedelta(hours=5), "booked", False),
                                             ("early", start + timedelta(hours=1), "booked", False),
                                             ("done", start + timedelta(hours=2), "booked", True),
                                             ("off", start + timedelta(hours=3), "cancelled", False),
                                             ("next-day", start + timedelta(days=1), "booked", False)):
        uow.bookings.keep(booking_id, {"id": booking_id, "township_code": QS, "starts_at": at, "place": "集市",
                                       "status": status, "reminded": reminded})
    uow.commit()
    end = start + timedelta(days=1)
    assert [b.id for b in uow.bookings.to_remind(start, end, 10)] == ["early", "late"]
    assert [b.id for b in uow.bookings.to_remind(start, end, 1)] == ["early"]
    assert uow.bookings.get("off").status == "cancelled"
    assert uow.bookings.get("none") is None


def test_stations_and_market_sites_keep_their_newest_version(uow):
    uow.stations.keep("ST1", {"code": "ST1", "township_code": QS, "name": "新名", "version": 2})
    uow.market_sites.keep("M1", {"code": "M1", "name": "新集", "version": 2})
    uow.commit()
    uow.stations.keep("ST1", {"code": "ST1", "township_code": QS, "name": "旧名", "version": 1})
    uow.market_sites.keep("M1", {"code": "M1", "name": "旧集", "version": 1})
    uow.commit()
    assert uow.stations.get("ST1").name == "新名"
    assert uow.market_sites.get("M1").name == "新集"
    assert uow.stations.get("ST2") is None
    assert uow.market_sites.get("M2") is None


def test_who_may_act_at_a_step_and_the_townships_supervisors(uow):
    for staff_id, township, station, role, active in (
            (1, QS, None, "township_cadre", True), (2, QS, "ST1", "village_agent", True),
            (3, QS, "ST2", "village_agent", True), (4, None, None, "county_reviewer", True),
            (5, QS, None, "township_cadre", False), (6, QS, None, "supervisor", True),
            (7, LX, None, "supervisor", True), (8, QS, None, "supervisor", False)):
        uow.put(orm.StaffCopy, staff_id, {"id": staff_id, "township_code": township, "station_code": station,
                                          "role": role, "active": active, "version": 1})
    uow.put(orm.VillageCopy, f"{QS}001", {"code": f"{QS}001", "township_code": QS, "name": "一村", "version": 1})
    uow.commit()
    assert uow.staff.holding(QS, ["township_cadre", "supervisor"], step_level="township") == [1, 6]
    assert uow.staff.holding(QS, ["village_agent"], step_level="village", station_code="ST1") == [2]
    assert uow.staff.holding(QS, ["township_cadre", "county_reviewer"], step_level="county") == [1, 4]
    assert uow.staff.supervisors_of(QS) == [6]
    assert uow.staff.supervisors_of("431099109") == []
    assert uow.villages.get(f"{QS}001").name == "一村"
    assert uow.villages.get(f"{QS}002") is None
