"""Notifications through its nameko entrypoints on a migrated database: events become messages once,
the sender sends what is due through the `log` provider, and a send cut off midway is never doubled."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.notifications.adapters import orm
from services.notifications.adapters.providers import Accepted, LogProvider, ProviderFailed
from services.notifications.domain import sending as s
from services.notifications.service import NotificationsService
from services.notifications.service_layer import sending, telling
from shared.clock import utcnow
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.pii import PersonalDataVault
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY

VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)
QS = "431099101"
PHONE = "13812345678"
NOON = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 12:00 in China


@pytest.fixture
def db(migrated_db):
    return migrated_db("notifications", orm.Base.metadata)


@pytest.fixture(autouse=True)
def no_quiet_hours(db):
    """Events are handled at the real time of day; the county's quiet hours are turned off (from 00:00 to
    00:00) so that what they make is due at once. The quiet-hours test puts the defaults back."""
    uow = db.unit_of_work()
    uow.session.add(orm.CountySettingsRow(county_code="431099", provider="log", provider_settings={},
                                          signature="村办", quiet_start="00:00", quiet_end="00:00", daily_cap=10,
                                          urgent=[], staff_sms=False, updated_at=NOON))
    uow.commit()
    uow.close()


def soon() -> datetime:
    return utcnow() + timedelta(seconds=1)


@pytest.fixture
def phones():
    return {"application:app1": PHONE, "application:app2": "13900001111"}


@pytest.fixture
def deliver(db):
    def send(source: str, type_: str, payload: dict, event_id: str | None = None) -> dict:
        envelope = EventEnvelope(source=source, type=type_, occurred_at=NOON, payload=payload,
                                 event_id=event_id or uuid.uuid4().hex).model_dump(mode="json")
        worker = worker_factory(NotificationsService, db=db.unit_of_work(), caller=WorkerCaller(Caller.system()))
        getattr(worker, f"on_{type_}")(envelope)
        worker.db.close()
        return envelope
    return send


@pytest.fixture
def sender(db, phones):
    """Send every due message at `now` through `provider` (the log provider unless told)."""
    def run(now: datetime, provider=None) -> list[s.Status | None]:
        provider = provider or LogProvider(db)
        uow = db.unit_of_work()
        try:
            return [sending.send(uow, message_id, contacts=phones.get, providers=lambda _: provider, vault=VAULT,
                                 now=now, clock=lambda: now) for message_id in sending.due(uow, now=now)]
        finally:
            uow.close()
    return run


def filed(app_id: str = "app1", receipt: str = "QS-20261203-0001", *, on_the_spot: bool = False) -> dict:
    return {"id": app_id, "receipt_no": receipt, "township_code": QS, "station_code": "QS-SM",
            "village_code": f"{QS}001", "item_code": "dibao", "item_name": "农村低保申请", "item_kind": "promised",
            "handling_level": "township", "promised_days": 20, "channel": "station", "session_id": None,
            "visit_id": None, "accountable_staff_id": 7, "materials_provided": [], "filed_at": NOON.isoformat(),
            "required_materials": ["户口簿"], "completed_on_the_spot": on_the_spot,
            "contact_check": VAULT.contact_check(receipt, PHONE[-4:])}


def progressed(stage: str, app_id: str = "app1", **more) -> dict:
    return {"application_id": app_id, "receipt_no": "QS-20261203-0001", "township_code": QS, "stage": stage,
            "occurred_at": NOON.isoformat(), **more}


def rows(db, model):
    with db.sessions() as session:
        return list(session.execute(select(model).order_by(*model.__table__.primary_key.columns)).scalars())


def test_a_filing_sends_the_applicant_the_receipt_number_and_where_to_follow_it_once(db, deliver, sender):
    envelope = deliver("intake", "application_filed", filed())
    deliver("intake", "application_filed", filed(), event_id=envelope["event_id"])  # redelivered
    assert sender(soon()) == [s.Status.SENT]
    assert sender(soon() + timedelta(minutes=5)) == []
    [logged] = rows(db, orm.LoggedSmsRow)
    assert logged.text.startswith("【村办】您的农村低保申请申请已受理，编号QS-20261203-0001，承诺20个工作日内办结。")
    assert "/q/QS-20261203-0001" in logged.text
    assert logged.phone_masked == "138****5678"
    [message] = rows(db, orm.MessageRow)
    assert (message.status, message.provider, message.provider_message_id) == ("sent", "log", logged.message_id)
    assert PHONE not in str(message.values) and PHONE not in (message.text or "")


def test_an_item_done_on_the_spot_gets_no_receipt_message(db, deliver, sender):
    deliver("intake", "application_filed", filed(on_the_spot=True))
    assert sender(soon()) == []


def test_a_supplement_request_names_the_materials_and_the_station_to_bring_them_to(db, deliver, sender):
    deliver("directory", "station_changed", {"code": "QS-SM", "village_code": f"{QS}001", "township_code": QS,
                                             "name": "石门村服务站", "address": None, "phone": None, "version": 1,
                                             "updated_at": NOON.isoformat()})
    deliver("intake", "application_filed", filed())
    deliver("approvals", "application_progressed",
            progressed("supplement_requested", missing_materials=["户口簿复印件", "收入证明"]))
    deliver("approvals", "application_progressed", progressed("supplement_received", promised_deadline="2027-01-05"))
    deliver("approvals", "application_progressed", progressed("completed", outcome="approved"))
    sender(soon())
    texts = [r.text for r in rows(db, orm.LoggedSmsRow)]
    assert any("需补正：户口簿复印件、收入证明。请送到石门村服务站" in t for t in texts)
    assert any("恢复计时，承诺1月5日前办结" in t for t in texts)
    assert any("已办结，结果：准予办理。请到石门村服务站领取" in t for t in texts)
    assert len(texts) == 4


def test_in_quiet_hours_a_message_waits_for_the_morning(db, deliver, sender):
    late = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)  # 22:30 in China
    uow = db.unit_of_work()
    uow.session.delete(uow.session.get(orm.CountySettingsRow, "431099"))  # the defaults: 21:00 to 08:00
    uow.session.flush()
    sending.notify(uow, event_id="e1", kind="application_filed", recipient="application:app1", township_code=QS,
                   values={"item": "低保", "receipt_no": "R1", "days": "20", "lookup_url": "u"}, now=late)
    sending.notify(uow, event_id="e1", kind="booking_cancelled", recipient="application:app1", township_code=QS,
                   values={"place": "石门村", "time": "明天", "reason": "停办"}, now=late)
    uow.commit()
    uow.close()
    assert sender(late) == [s.Status.SENT]  # the cancellation is urgent
    assert sender(late + timedelta(hours=9)) == []  # 07:30
    assert sender(late + timedelta(hours=9, minutes=30)) == [s.Status.SENT]  # 08:00


def test_an_opted_out_number_gets_only_what_the_law_requires(db, deliver, sender):
    uow = db.unit_of_work()
    uow.session.add(orm.OptOutRow(phone_hash=VAULT.search_hash(PHONE), county_code="431099", opted_out_at=NOON,
                                  source="log"))
    uow.commit()
    uow.close()
    deliver("intake", "application_filed", filed())
    deliver("approvals", "application_progressed", progressed("supplement_requested", missing_materials=["户口簿"]))
    assert sorted(sender(soon())) == [s.Status.SENT, s.Status.WITHHELD]
    assert [(m.kind, m.status, m.withheld) for m in rows(db, orm.MessageRow)] == [
        ("application_filed", "withheld", "opted_out"), ("materials_requested", "sent", None)]


def test_a_phone_gets_at_most_the_daily_cap(db, sender, phones):
    uow = db.unit_of_work()
    for n in range(12):
        sending.notify(uow, event_id=f"e{n}", kind="application_filed", recipient="application:app1", township_code=QS,
                       values={"item": "低保", "receipt_no": f"R{n}", "days": "20", "lookup_url": "u"}, now=NOON)
    uow.commit()
    uow.close()
    outcomes = sender(NOON)
    assert outcomes.count(s.Status.SENT) == 10 and outcomes.count(s.Status.WITHHELD) == 2


def test_no_phone_means_withheld_not_failed(db, deliver, sender, phones):
    phones.clear()
    deliver("intake", "application_filed", filed())
    assert sender(soon()) == [s.Status.WITHHELD]
    assert rows(db, orm.MessageRow)[0].withheld == "no_contact"


class Flaky:
    """A provider that fails `failures` times, then takes the message; it keeps no idempotency key."""

    name = "flaky"
    idempotent = False

    def __init__(self, failures: int, retry: bool = True):
        self.failures, self.retry, self.sent = failures, retry, []

    def send(self, sms, now):
        if self.failures:
            self.failures -= 1
            raise ProviderFailed("throttled", retry=self.retry)
        self.sent.append(sms.key)
        return Accepted(f"m{len(self.sent)}")

    def status(self, key):
        return Accepted("m-found") if key in self.sent else None


def test_a_failed_send_is_retried_with_backoff_then_failed_for_good(db, deliver, sender):
    deliver("intake", "application_filed", filed())
    provider = Flaky(failures=10)
    at = soon()
    for attempt in range(1, s.ATTEMPTS + 1):
        assert sender(at, provider) == [s.Status.WAITING if attempt < s.ATTEMPTS else s.Status.FAILED]
        assert sender(at, provider) == []  # not due again before its backoff
        at = at + s.FIRST_RETRY * 4 ** (attempt - 1)
    [message] = rows(db, orm.MessageRow)
    assert (message.status, message.attempts, message.error) == ("failed", s.ATTEMPTS, "throttled")


def test_an_sms_failed_for_good_is_a_dead_letter_and_replaying_it_sends_it(db, deliver, sender):
    """County IT sees the failed SMS among the dead letters and, the provider put right, replays it: it is
    sent, once, however often the replay is asked for."""
    deliver("intake", "application_filed", filed())
    assert sender(soon(), Flaky(failures=1, retry=False)) == [s.Status.FAILED]
    worker = worker_factory(NotificationsService, db=db.unit_of_work(), caller=WorkerCaller(Caller.system()))
    [letter] = worker.dead_letters()
    assert (letter["handler"], letter["event_type"], letter["error"]) == (
        "notifications.send_again", "sms_application_filed", "throttled")
    assert worker.replay_dead_letters()["replayed"] == [letter["id"]]
    assert worker.replay_dead_letters()["replayed"] == [] and worker.dead_letters() == []
    worker.db.close()
    [message] = rows(db, orm.MessageRow)
    assert (message.status, message.attempts) == ("waiting", 0)
    assert sender(soon()) == [s.Status.SENT] and sender(soon()) == []
    sending.send_again(db.unit_of_work(), message.id, now=soon())  # a second replay of a sent message: nothing
    assert [m.status for m in rows(db, orm.MessageRow)] == ["sent"]


def test_a_refused_send_is_not_retried(db, deliver, sender):
    deliver("intake", "application_filed", filed())
    assert sender(soon(), Flaky(failures=1, retry=False)) == [s.Status.FAILED]


def test_two_senders_handed_the_same_due_messages_send_each_once(db, deliver, phones):
    """Two senders (two replicas) list the same due messages: each message is taken by one of them, and one
    already sent, or being sent, is not taken again however late the other gets to it."""
    deliver("intake", "application_filed", filed())
    deliver("intake", "application_filed", filed("app2", "QS-20261203-0002"))
    now, provider = soon(), Flaky(failures=0)
    first, second = db.unit_of_work(), db.unit_of_work()
    listed = sending.due(first, now=now)
    assert sending.due(second, now=now) == listed and len(listed) == 2

    def send(uow, message_id):
        return sending.send(uow, message_id, contacts=phones.get, providers=lambda _: provider, vault=VAULT, now=now,
                            clock=lambda: now)

    assert send(first, listed[0]) == s.Status.SENT
    assert send(second, listed[0]) is None  # sent already
    uow = db.unit_of_work()  # the second message taken, its provider call under way
    uow.session.get(orm.MessageRow, listed[1]).status = "sending"
    uow.session.get(orm.MessageRow, listed[1]).lease_until = now + s.LEASE
    uow.session.get(orm.MessageRow, listed[1]).attempts = 1
    uow.commit()
    uow.close()
    assert send(second, listed[1]) is None  # being sent by the other
    first.close()
    second.close()
    assert len(provider.sent) == 1


def test_a_send_cut_off_midway_is_never_sent_twice(db, deliver, sender):
    """The process died after the provider took the message and before it was recorded: the message is
    `sending` past its lease. A provider that keeps our key is sent it again (it sends once); any other is
    asked first."""
    deliver("intake", "application_filed", filed())
    deliver("intake", "application_filed", filed("app2", "QS-20261203-0002"))
    start = soon()
    uow = db.unit_of_work()
    for message in uow.session.execute(select(orm.MessageRow)).scalars():  # what a killed sender leaves
        message.status, message.lease_until, message.attempts = "sending", start + s.LEASE, 1
    uow.commit()
    uow.close()
    log_provider, flaky = LogProvider(db), Flaky(failures=0)
    log_provider.send(_sms("app1", db), start)  # the log provider had taken app1's
    flaky.sent.append(_key("app2", db))  # and the other provider app2's
    assert sender(start + timedelta(minutes=1)) == []  # the lease still holds
    later = start + s.LEASE + timedelta(seconds=1)
    uow = db.unit_of_work()
    ids = sending.due(uow, now=later)
    outcomes = [sending.send(uow, ids[0], contacts={"application:app1": PHONE}.get, providers=lambda _: log_provider,
                             vault=VAULT, now=later, clock=lambda: later),
                sending.send(uow, ids[1], contacts={"application:app2": PHONE}.get, providers=lambda _: flaky,
                             vault=VAULT, now=later, clock=lambda: later)]
    uow.close()
    assert outcomes == [s.Status.SENT, s.Status.SENT]
    assert len(rows(db, orm.LoggedSmsRow)) == 1 and flaky.sent == [_key("app2", db)]
    assert [m.provider_message_id for m in rows(db, orm.MessageRow)][1] == "m-found"


def test_a_send_that_fails_before_the_provider_is_called_waits_a_moment_and_keeps_its_attempts(db, deliver):
    """The owner of the phone does not answer (RabbitMQ restarting, its database away): nothing reached the
    provider, so the message waits a few seconds, not its lease, and no provider attempt is used; one that
    had been cut off stays `sending` (its earlier call may have reached the provider) with a short lease."""
    from shared.errors import ServiceUnavailable

    def unreachable(recipient):
        raise ServiceUnavailable("message broker unavailable", code="broker_unavailable")

    deliver("intake", "application_filed", filed())
    deliver("intake", "application_filed", filed("app2", "QS-20261203-0002"))
    start = soon()
    uow = db.unit_of_work()
    cut = uow.session.execute(select(orm.MessageRow).where(orm.MessageRow.recipient == "application:app2")).scalar_one()
    cut.status, cut.lease_until, cut.attempts = "sending", start - timedelta(seconds=1), 1  # cut off, lease over
    uow.commit()
    provider = LogProvider(db)
    outcomes = [sending.send(uow, message_id, contacts=unreachable, providers=lambda _: provider, vault=VAULT,
                             now=start, clock=lambda: start) for message_id in sending.due(uow, now=start)]
    uow.close()
    assert outcomes == [None, None]
    waiting, cut_off = sorted(rows(db, orm.MessageRow), key=lambda m: m.recipient)
    assert (waiting.status, waiting.attempts) == ("waiting", 0)
    assert (cut_off.status, cut_off.attempts) == ("sending", 1)
    again = start + s.AGAIN_SOON
    assert _aware(waiting.send_after) == again and _aware(cut_off.lease_until) == again
    phones = {"application:app1": PHONE, "application:app2": "13900001111"}
    uow = db.unit_of_work()
    later = again + timedelta(seconds=1)
    outcomes = [sending.send(uow, message_id, contacts=phones.get, providers=lambda _: provider, vault=VAULT, now=later,
                             clock=lambda: later) for message_id in sending.due(uow, now=later)]
    uow.close()
    assert outcomes == [s.Status.SENT, s.Status.SENT]
    assert len(rows(db, orm.LoggedSmsRow)) == 2


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _key(app_id: str, db) -> str:
    return next(m.send_key for m in rows(db, orm.MessageRow) if m.recipient == f"application:{app_id}")


def _sms(app_id: str, db):
    from services.notifications.adapters.providers import Sms
    return Sms(key=_key(app_id, db), phone=PHONE, phone_masked="138****5678", county_code="431099",
               signature="村办", text="【村办】…")


def test_the_command_line_lists_the_messages_with_masked_numbers(db, deliver, sender, tmp_path, capsys):
    from cunban.cli import main
    deliver("intake", "application_filed", filed())
    sender(soon())
    assert main(["notifications", "list", "--data-dir", str(tmp_path)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert "  sent  application_filed  138****5678  【村办】您的农村低保申请申请已受理" in line and PHONE not in line


def staff_changed(staff_id: int, role: str, township: str = QS, active: bool = True) -> dict:
    return {"id": staff_id, "township_code": township, "station_code": None, "role": role, "active": active,
            "version": 1, "username": f"u{staff_id}", "full_name": f"人{staff_id}", "phone": None,
            "updated_at": NOON.isoformat()}


def deadline(kind: str = "overall", responsible: int | None = 7) -> dict:
    return {"application_id": "app1", "receipt_no": "QS-20261203-0001", "township_code": QS, "deadline_kind": kind,
            "step_name": None, "due_on": "2026-12-18", "responsible_staff_id": responsible,
            "accountable_staff_id": 3}


def my_notices(db, staff_id: int, **query) -> dict:
    worker = worker_factory(NotificationsService, db=db.unit_of_work(),
                            caller=WorkerCaller(Caller(staff_id=staff_id, username=f"u{staff_id}",
                                                       role="township_cadre", township_code=QS)))
    return worker.my_notices(query)


def test_staff_hear_of_warnings_overdue_and_accountability_in_the_console_and_supervisors_get_the_supervision(
        db, deliver, sender):
    for staff_id, role in ((7, "township_cadre"), (20, "supervisor"), (21, "supervisor"), (22, "township_cadre")):
        deliver("directory", "staff_changed", staff_changed(staff_id, role))
    deliver("directory", "staff_changed", staff_changed(23, "supervisor", active=False))
    deliver("intake", "application_filed", filed())
    warning = deliver("approvals", "approval_warning", deadline())
    deliver("approvals", "approval_warning", deadline(), event_id=warning["event_id"])  # redelivered
    deliver("approvals", "supervision_notice_issued", deadline())
    deliver("approvals", "accountability_recorded", deadline())
    mine = my_notices(db, 7)
    assert [n["name"] for n in mine["items"]] == ["责任追究", "超期通知", "临期提醒"] and mine["unread"] == 3
    assert mine["items"][2]["text"] == "临期：农村低保申请（QS-20261203-0001）须在12月18日前办结。"
    assert mine["items"][2]["link"] == "/console/applications/QS-20261203-0001"
    assert [n["name"] for n in my_notices(db, 20)["items"]] == ["督办通知"]
    assert my_notices(db, 21)["unread"] == 1 and my_notices(db, 22)["unread"] == 0 == my_notices(db, 23)["unread"]
    assert sender(soon()) == [s.Status.SENT]  # the applicant's receipt; staff SMS is off by default


def test_a_case_entering_a_step_is_new_work_for_those_who_act_there_and_not_for_who_moved_it(db, deliver):
    """新办件: the township's active holders of the step's roles (at a village step, the application's
    station only), once however often the event comes."""
    for staff_id, role, township, station in ((7, "township_cadre", QS, None), (8, "township_cadre", QS, None),
                                              (9, "department_staff", QS, None), (10, "township_cadre", "431099102",
                                                                                  None),
                                              (11, "village_agent", QS, "QS-SM"), (12, "village_agent", QS, "QS-X")):
        deliver("directory", "staff_changed", {**staff_changed(staff_id, role, township), "station_code": station})
    deliver("directory", "staff_changed", staff_changed(13, "township_cadre", active=False))
    deliver("intake", "application_filed", filed())
    waiting = {"application_id": "app1", "receipt_no": "QS-20261203-0001", "township_code": QS,
               "station_code": "QS-SM", "step_name": "township_review", "step_roles": ["township_cadre"],
               "step_level": "township", "promised_deadline": "2026-12-31", "actor_staff_id": 7,
               "occurred_at": NOON.isoformat()}
    accepted = deliver("approvals", "case_waiting", waiting)
    deliver("approvals", "case_waiting", waiting, event_id=accepted["event_id"])  # redelivered
    mine = my_notices(db, 8)
    assert [(n["name"], n["text"], n["link"]) for n in mine["items"]] == [
        ("新办件", "新办件：农村低保申请（QS-20261203-0001），承诺12月31日前办结。",
         "/console/applications/QS-20261203-0001")]
    assert [my_notices(db, who)["unread"] for who in (7, 9, 10, 11, 12, 13)] == [0, 0, 0, 0, 0, 0]

    deliver("approvals", "case_waiting", {**waiting, "step_name": "village_check", "step_roles": ["village_agent"],
                                          "step_level": "village", "actor_staff_id": 8})
    assert [my_notices(db, who)["unread"] for who in (7, 8, 9, 11, 12)] == [0, 1, 0, 1, 0]


def test_a_staff_member_marks_notices_read(db, deliver):
    deliver("intake", "application_filed", filed())
    deliver("approvals", "approval_warning", deadline())
    deliver("approvals", "accountability_recorded", deadline())
    worker = worker_factory(NotificationsService, db=db.unit_of_work(),
                            caller=WorkerCaller(Caller(staff_id=7, username="u7", role="township_cadre",
                                                       township_code=QS)))
    first = my_notices(db, 7)["items"][0]["id"]
    assert worker.mark_notices_read({"ids": [first]}) == 1
    assert [n["read_at"] is None for n in my_notices(db, 7)["items"]] == [False, True]
    assert my_notices(db, 7, unread=True)["unread"] == 1
    assert worker.mark_notices_read({}) == 0


def test_a_county_that_turns_staff_sms_on_texts_staff_too(db, deliver, sender, phones):
    uow = db.unit_of_work()
    uow.session.get(orm.CountySettingsRow, "431099").staff_sms = True
    uow.commit()
    uow.close()
    phones["staff:7"] = "13700007777"
    deliver("intake", "application_filed", filed())
    deliver("approvals", "approval_warning", deadline())
    assert sorted(sender(soon())) == [s.Status.SENT, s.Status.SENT]
    assert any(r.text.startswith("【村办】临期：") and r.phone_masked == "137****7777"
               for r in rows(db, orm.LoggedSmsRow))


def complaint() -> dict:
    return {"id": "c1", "receipt_no": "TS-20261203-0001", "kind": "dispute", "network": "mediation", "category": "land",
            "channel": "station", "township_code": QS, "village_code": f"{QS}001", "station_code": None,
            "session_id": None, "visit_id": None, "accused_staff_id": None, "registered_by": 7,
            "contact_check": "x"}


def complaint_progressed(action: str, **more) -> dict:
    return {"id": "c1", "receipt_no": "TS-20261203-0001", "township_code": QS, "action": action,
            "from_status": "signed", "to_status": "replied", "actor_staff_id": 7, "handler_staff_id": 7,
            "stage": None, "stage_due": None, "occurred_at": NOON.isoformat(), **more}


def test_a_complainant_with_a_phone_hears_of_registration_reply_and_call_back_and_the_handler_of_assignment(
        db, deliver, sender, phones):
    phones["complaint:c1"] = "13600006666"
    deliver("complaints", "complaint_registered", complaint())
    deliver("complaints", "complaint_progressed", complaint_progressed("assign", stage="sign", stage_due="2026-12-04"))
    deliver("complaints", "complaint_progressed", complaint_progressed("reply", stage="call_back",
                                                                       stage_due="2026-12-10"))
    deliver("complaints", "complaint_progressed", complaint_progressed("note"))
    assert sender(soon()).count(s.Status.SENT) == 3
    texts = sorted(r.text for r in rows(db, orm.LoggedSmsRow))
    assert any("您的诉求已登记，编号TS-20261203-0001" in t and "/complain/progress?receipt=TS-20261203-0001" in t
               for t in texts)
    assert any("已答复" in t for t in texts) and any("12月10日前" in t and "回访" in t for t in texts)
    assert [n["text"] for n in my_notices(db, 7)["items"]] == ["新诉求TS-20261203-0001分派给您，请在12月4日前签收。"]


def test_an_anonymous_complainant_is_never_contacted(db, deliver, sender, phones):
    deliver("complaints", "complaint_registered", complaint())  # complaints has no phone for an anonymous one
    assert sender(soon()) == [s.Status.WITHHELD]
    assert rows(db, orm.LoggedSmsRow) == []


def test_the_rating_invitation_reaches_the_applicant_with_the_rating_address(db, deliver, sender):
    deliver("intake", "application_filed", filed())
    deliver("evaluation", "rating_invitation", {"receipt_no": "QS-20261203-0001", "kind": "application",
                                                "township_code": QS})
    sender(soon())
    assert any("请您评价农村低保申请（QS-20261203-0001）的办理" in r.text and "/rate?receipt=QS-20261203-0001" in r.text
               for r in rows(db, orm.LoggedSmsRow))


def test_cadres_are_reminded_of_their_post_and_visit_by_place_name(db, deliver):
    deliver("directory", "market_site_changed", {"code": "QS-JS", "township_code": QS, "village_code": None,
                                                 "name": "青石集", "location": "老街", "rule": {"kind": "lunar",
                                                 "days": [1]}, "opens_at": "08:00", "closes_at": "12:00",
                                                 "version": 1, "updated_at": NOON.isoformat()})
    deliver("scheduling", "session_reminder", {"session_id": "s1", "site_code": "QS-JS", "township_code": QS,
                                               "starts_at": "2026-12-04T00:00:00+00:00", "staff_ids": [7, 8]})
    deliver("scheduling", "visit_reminder", {"visit_id": "v1", "kind": "periodic", "township_code": QS,
                                             "village_code": f"{QS}001", "place": "石门村村部",
                                             "starts_at": "2026-12-05T01:00:00+00:00", "staff_ids": [7]})
    assert [n["text"] for n in my_notices(db, 7)["items"]] == ["提醒：您12月5日 09:00到石门村村部下访。",
                                                              "提醒：您12月4日 08:00在青石集值守便民服务岗。"]
    assert my_notices(db, 8)["unread"] == 1


def booking(status: str = "booked", booking_id: str = "b1", starts_at: str = "2026-12-05T01:00:00+00:00") -> dict:
    return {"booking_id": booking_id, "status": status, "occasion": "session", "occasion_id": "s1",
            "township_code": QS, "starts_at": starts_at, "place": "青石集"}


def test_a_villager_who_booked_is_confirmed_reminded_the_day_before_and_told_of_a_day_off(db, deliver, sender,
                                                                                         phones):
    phones.update({"booking:b1": "13300003333", "booking:b2": "13300004444"})
    deliver("scheduling", "booking_changed", booking())
    deliver("scheduling", "booking_changed", booking(booking_id="b2"))
    deliver("scheduling", "booking_changed", booking("cancelled", booking_id="b2"))  # b2 cancelled it
    assert sender(soon()) == [s.Status.SENT, s.Status.SENT]
    confirmation = rows(db, orm.LoggedSmsRow)[0].text
    assert confirmation == "【村办】您已预约12月5日 09:00在青石集办事，请按时前往。"

    day_before = datetime(2026, 12, 4, 2, tzinfo=UTC)  # 10:00 on 4 December, China time
    uow = db.unit_of_work()
    assert telling.remind_bookings(uow, now=day_before - timedelta(days=1)) == 0  # two days before: not yet
    assert telling.remind_bookings(uow, now=day_before) == 1  # b1 only: b2 was cancelled
    assert telling.remind_bookings(uow, now=day_before + timedelta(hours=1)) == 0  # once
    uow.close()
    deliver("scheduling", "occasion_called_off", {
        "occasion": "session", "id": "s1", "township_code": QS, "day": "2026-12-05",
        "starts_at": "2026-12-05T01:00:00+00:00", "day_off": "县庆", "staff_ids": [7], "booking_ids": ["b1"],
        "outcome": "cancelled"})
    sender(max(soon(), day_before + timedelta(minutes=1)))
    texts = [r.text for r in rows(db, orm.LoggedSmsRow)]
    assert "【村办】提醒：您预约了明天09:00在青石集办事。" in texts
    assert "【村办】抱歉，您预约的12月5日 09:00在青石集办事已取消：县庆停办。请另约时间。" in texts


def test_supervisors_hear_of_an_early_warning_by_village_name(db, deliver):
    deliver("directory", "staff_changed", staff_changed(20, "supervisor"))
    deliver("directory", "village_changed", {"code": f"{QS}001", "township_code": QS, "name": "石门村",
                                             "version": 1})
    deliver("complaints", "early_warning_raised", {"alert_id": 1, "township_code": QS, "village_code": f"{QS}001",
                                                   "category": "water", "rule": "burst", "count": 3,
                                                   "window_days": 7})
    [notice] = my_notices(db, 20)["items"]
    assert notice["text"] == "苗头性问题：石门村7天内水利、饮水类诉求3件，请关注。"
    assert notice["link"] == "/console/supervision"
