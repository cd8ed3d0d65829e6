"""The intake service's entrypoints on a real SQLite database: filing with receipt numbers and 首问
responsibility, idempotent retries, bad input that stores nothing, masking, progress from approvals,
the public look-up with its limits, light records, and the directory read model."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from services.intake.adapters import orm
from services.intake.service import IntakeService
from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.db import ServiceDatabase
from shared.errors import Conflict, Forbidden, NotFound, TooManyAttempts, Unauthenticated, ValidationFailed
from shared.pii import PersonalDataVault, reencrypt_all
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY

QS, LX = "431099101", "431099102"
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001")
CADRE = Caller(staff_id=7, role=Role.TOWNSHIP_CADRE, township_code=QS)
LX_CADRE = Caller(staff_id=20, role=Role.TOWNSHIP_CADRE, township_code=LX)
APPLICANT = {"name": "张三", "phone": "13812345678", "id_card": "430124198001011231", "village_code": f"{QS}001"}
PROMISED = {"item_code": "SP-008", "channel": "station", "applicant": APPLICANT,
            "materials_provided": ["申请表", "身份证"]}
SESSION, VISIT, LX_SESSION = "5e55" + "0" * 28, "0151" + "0" * 28, "5e55" + "1" * 28  # scheduling's ids
IMMEDIATE = {"item_code": "YB-002", "channel": "market_day", "session_id": SESSION,
             "applicant": APPLICANT, "materials_provided": ["身份证"], "complete_now": True, "result_note": "当场办结"}


@pytest.fixture
def intake_db(migrated_db) -> ServiceDatabase:
    return migrated_db("intake", orm.Base.metadata)


@pytest.fixture
def intake(intake_db):
    vault = PersonalDataVault(DEVELOPMENT_PII_KEY)

    def as_caller(caller: Caller = AGENT) -> IntakeService:
        return worker_factory(IntakeService, db=intake_db.unit_of_work(), caller=WorkerCaller(caller), vault=vault)

    def event(source: str, type_: str, payload: dict, occurred_at: datetime | None = None) -> dict:
        return EventEnvelope(source=source, type=type_, occurred_at=occurred_at or utcnow(),
                             payload=payload).model_dump(mode="json")

    for code, township in ((f"{QS}001", QS), (f"{QS}002", QS), (f"{LX}001", LX)):
        as_caller().on_village_changed(event("directory", "village_changed",
                                             {"code": code, "township_code": township, "name": "村", "version": 1}))
    as_caller().on_station_changed(event("directory", "station_changed", {
        "code": f"ST{QS}001", "township_code": QS, "village_code": f"{QS}001", "name": "站", "version": 1}))
    for code, days, kind, materials in (("SP-008", 20, "promised", ["申请表", "身份证"]),
                                        ("YB-002", 0, "immediate", ["身份证"])):
        as_caller().on_catalogue_item_changed(event("directory", "catalogue_item_changed", {
            "township_code": QS, "code": code, "name": f"事项{code}", "category": "agency", "kind": kind,
            "handling_level": "township", "promised_days": days, "required_materials": materials,
            "status": "active", "version": 1}))
    for session_id, township in ((SESSION, QS), (LX_SESSION, LX)):
        as_caller().on_session_scheduled(event("scheduling", "session_scheduled", {
            "session_id": session_id, "site_code": "QS-JISHI", "township_code": township, "day": "2026-12-09",
            "starts_at": "2026-12-08T23:30:00+00:00", "ends_at": "2026-12-09T04:00:00+00:00"}))
    as_caller().on_visit_planned(event("scheduling", "visit_planned", {
        "visit_id": VISIT, "kind": "joint", "township_code": QS, "village_code": f"{QS}001", "day": "2026-12-10",
        "starts_at": "2026-12-10T01:00:00+00:00", "ends_at": "2026-12-10T04:00:00+00:00", "staff_ids": [7]}))
    as_caller.event = event  # type: ignore[attr-defined]
    return as_caller


def _count(db: ServiceDatabase, model=orm.Application) -> int:
    with db.sessions() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _outbox(db: ServiceDatabase) -> list[str]:
    outbox = db.metadata.tables["outbox"]
    with db.sessions() as session:
        return list(session.execute(select(outbox.c.event_type).order_by(outbox.c.id)).scalars())


def test_filing_gives_a_receipt_number_and_makes_the_receiver_accountable(intake, intake_db):
    first = intake(AGENT).file_application(application=PROMISED)
    second = intake(CADRE).file_application(application=PROMISED)
    day = first["receipt_no"].split("-")[1]
    assert first["receipt_no"] == f"{QS}-{day}-0001" and second["receipt_no"] == f"{QS}-{day}-0002"
    assert first["accountable_staff_id"] == AGENT.staff_id and first["station_code"] == f"ST{QS}001"
    assert first["status"] == "received" and first["applicant"]["masked"] is False
    assert first["applicant"]["id_card"] == APPLICANT["id_card"]
    assert _outbox(intake_db).count("application_filed") == 2


def test_personal_data_is_encrypted_at_rest(intake, intake_db):
    intake().file_application(application=PROMISED)
    with intake_db.engine.connect() as conn:
        dump = "".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM applications"))
    for secret in (APPLICANT["name"], APPLICANT["phone"], APPLICANT["id_card"]):
        assert secret not in dump


def test_rotating_the_key_re_encrypts_every_field_and_keeps_the_search_hashes(intake, intake_db):
    filed = intake(AGENT).file_application(application={**PROMISED, "applicant": {**APPLICANT, "address": "石门村3组"}})
    # a deployment that never set a search key sets it to its first key's secret before rotating
    dev_secret = DEVELOPMENT_PII_KEY.partition(":")[2]
    new_key = "k2:" + base64.b64encode(b"n" * 32).decode()
    both = PersonalDataVault(f"{new_key},{DEVELOPMENT_PII_KEY}", search_key=dev_secret)
    with intake_db.sessions() as session:
        done = reencrypt_all(session, orm.Base.metadata, both)
    assert done["applications.applicant_phone_enc"] == 1 and done["applications.applicant_address_enc"] == 1
    with intake_db.sessions() as session:
        assert reencrypt_all(session, orm.Base.metadata, both) == {column: 0 for column in done}  # rerun: nothing
        row = session.execute(select(orm.Application)).scalar_one()
    assert all(getattr(row, c).startswith("k2:") for c in ("applicant_name_enc", "applicant_phone_enc",
                                                           "applicant_id_card_enc", "applicant_address_enc"))
    only_new = PersonalDataVault(new_key, search_key=dev_secret)  # the old key dropped
    assert row.applicant_id_hash == only_new.search_hash(APPLICANT["id_card"])
    worker = worker_factory(IntakeService, db=intake_db.unit_of_work(), caller=WorkerCaller(AGENT), vault=only_new)
    assert worker.get_application(ref=filed["id"])["applicant"]["id_card"] == APPLICANT["id_card"]


def test_immediate_items_complete_on_the_spot(intake, intake_db):
    done = intake().file_application(application=IMMEDIATE)
    assert done["status"] == "completed" and done["outcome"] == "approved" and done["completed_at"]
    assert [s["stage"] for s in done["stages"]] == ["received", "completed"]
    assert _outbox(intake_db)[-2:] == ["application_filed", "application_completed_on_the_spot"]


def test_a_retry_with_the_same_idempotency_key_returns_the_first_application(intake, intake_db):
    first = intake().file_application(application=PROMISED, idempotency_key="station-7-retry-0001")
    again = intake().file_application(application=PROMISED, idempotency_key="station-7-retry-0001")
    assert again["id"] == first["id"] and again["receipt_no"] == first["receipt_no"]
    assert _count(intake_db) == 1 and _outbox(intake_db).count("application_filed") == 1
    with pytest.raises(Conflict) as err:
        intake().file_application(application={**PROMISED, "description": "另一件"},
                                  idempotency_key="station-7-retry-0001")
    assert err.value.code == "idempotency_key_reused"
    other = intake(CADRE).file_application(application=PROMISED, idempotency_key="station-7-retry-0001")
    assert other["id"] != first["id"]  # keys belong to the staff member who sent them


def test_a_retry_gets_the_first_application_even_when_the_item_was_withdrawn_meanwhile(intake, intake_db):
    first = intake().file_application(application=PROMISED, idempotency_key="station-7-retry-0002")
    intake().on_catalogue_item_changed(intake.event("directory", "catalogue_item_changed", {
        "township_code": QS, "code": "SP-008", "name": "事项SP-008", "category": "agency", "kind": "promised",
        "handling_level": "township", "promised_days": 20, "required_materials": ["申请表", "身份证"],
        "status": "withdrawn", "version": 2}))
    with pytest.raises(ValidationFailed) as refused:  # a new filing of the item is refused …
        intake().file_application(application=PROMISED, idempotency_key="station-7-retry-0003")
    assert refused.value.code == "item_withdrawn"
    again = intake().file_application(application=PROMISED, idempotency_key="station-7-retry-0002")
    assert again["receipt_no"] == first["receipt_no"] and _count(intake_db) == 1  # … its retry is answered


@pytest.mark.parametrize("change,code", [
    ({"item_code": "NOPE-1"}, "unknown_item"),
    ({"applicant": {**APPLICANT, "village_code": f"{LX}001"}}, "village_outside_township"),
    ({"applicant": {**APPLICANT, "id_card": "430124198001011232"}}, "validation_failed"),
    ({"applicant": {**APPLICANT, "phone": "1381234"}}, "validation_failed"),
    ({"materials_provided": ["申请表"]}, "materials_missing"),
    ({"complete_now": True}, "not_immediate"),
    ({"station_code": "ST431099102001"}, "station_outside_township"),
    ({"idempotency": 1}, "validation_failed"),
])
def test_bad_input_is_refused_and_stores_nothing(intake, intake_db, change, code):
    with pytest.raises(ValidationFailed) as err:
        intake().file_application(application={**PROMISED, **change})
    assert err.value.code == code
    assert _count(intake_db) == 0 and _outbox(intake_db) == [] and _count(intake_db, orm.ReceiptCounter) == 0


def test_a_station_key_files_and_records_at_its_own_station_only(intake, intake_db):
    intake().on_station_changed(intake.event("directory", "station_changed", {
        "code": f"ST{QS}002", "township_code": QS, "village_code": f"{QS}002", "name": "站二", "version": 1}))
    key = Caller(staff_id=6, username="station-key-1", role=Role.STATION_CLIENT, township_code=QS,
                 station_code=f"ST{QS}001")
    elsewhere = {"station_code": f"ST{QS}002"}
    with pytest.raises(Forbidden) as refused:
        intake(key).file_application(application={**PROMISED, **elsewhere})
    assert refused.value.code == "outside_station" and refused.value.details[0]["field"] == "station_code"
    with pytest.raises(Forbidden):
        intake(key).record_activity(kind="consultation", record={
            "topic": "医保", "channel": "station", "occurred_on": "2026-11-28", **elsewhere})
    assert _count(intake_db) == 0 and _count(intake_db, orm.ActivityRecord) == 0 and _outbox(intake_db) == []
    filed = intake(key).file_application(application=PROMISED)
    assert filed["station_code"] == f"ST{QS}001" and intake(key).get_application(ref=filed["id"])["id"] == filed["id"]
    recorded = intake(key).record_activity(kind="consultation", record={
        "topic": "医保", "channel": "station", "occurred_on": "2026-11-28"})
    assert [r["id"] for r in intake(key).list_activities(query={"kind": "consultation"})] == [recorded["id"]]
    assert intake(AGENT).file_application(application={**PROMISED, **elsewhere})["station_code"] == f"ST{QS}002"


def test_county_admins_and_the_public_do_not_file(intake):
    with pytest.raises(Forbidden):
        intake(Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")).file_application(application=PROMISED)
    with pytest.raises(Unauthenticated):
        intake(Caller.public()).file_application(application=PROMISED)


def test_others_see_personal_data_masked_and_other_townships_not_at_all(intake):
    filed = intake(AGENT).file_application(application=PROMISED)
    seen = intake(CADRE).get_application(ref=filed["receipt_no"])
    assert seen["applicant"] == {"name": "张*", "phone": "138****5678", "id_card": "430***********1231",
                                 "village_code": f"{QS}001", "address": None, "masked": True}
    with pytest.raises(NotFound):
        intake(LX_CADRE).get_application(ref=filed["id"])
    assert intake(LX_CADRE).list_applications()["items"] == []
    assert intake(LX_CADRE).list_applications(query={"township_code": QS})["items"] == []  # a choice is no way in
    admin = intake(Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099"))
    county = admin.get_application(ref=filed["id"])
    assert county["applicant"]["masked"] is True
    assert [a["id"] for a in admin.list_applications(query={"township_code": QS})["items"]] == [filed["id"]]
    assert admin.list_applications(query={"township_code": "431099102"})["items"] == []  # the county's choice


def _progress(intake, app, stage, at, **extra):
    payload = {"application_id": app["id"], "receipt_no": app["receipt_no"], "township_code": QS, "stage": stage,
               "occurred_at": at.isoformat(), **extra}
    intake().on_application_progressed(intake.event("approvals", "application_progressed", payload))


def test_progress_from_approvals_keeps_status_deadline_and_handlers_current(intake):
    app = intake(AGENT).file_application(application=PROMISED)
    t0 = datetime.fromisoformat(app["filed_at"])
    _progress(intake, app, "accepted", t0 + timedelta(hours=1), actor_staff_id=7, promised_deadline="2026-12-28")
    _progress(intake, app, "supplement_requested", t0 + timedelta(days=1), actor_staff_id=8,
              missing_materials=["户口簿"])
    view = intake(AGENT).get_application(ref=app["id"])
    assert view["status"] == "awaiting_supplement" and view["promised_deadline"] == "2026-12-28"
    assert view["accountable_staff_id"] == AGENT.staff_id  # 首问负责制: handlers are added beside
    assert view["handler_staff_ids"] == [7, 8]
    assert intake(CADRE).get_application(ref=app["id"])["applicant"]["masked"] is False  # now a handler
    _progress(intake, app, "completed", t0 + timedelta(days=3), actor_staff_id=9, outcome="approved",
              reason="准予，证件已制好")
    _progress(intake, app, "supplement_received", t0 + timedelta(days=2), actor_staff_id=8)  # arrives late
    view = intake(AGENT).get_application(ref=app["id"])
    assert view["status"] == "completed" and view["outcome"] == "approved"
    assert view["result_note"] == "准予，证件已制好"  # 办结's result, in the handler's words


def test_a_progress_event_delivered_twice_is_applied_once(intake):
    app = intake().file_application(application=PROMISED)
    payload = {"application_id": app["id"], "receipt_no": app["receipt_no"], "township_code": QS,
               "stage": "accepted", "occurred_at": utcnow().isoformat(), "promised_deadline": "2026-12-28"}
    envelope = intake.event("approvals", "application_progressed", payload)
    intake().on_application_progressed(envelope)
    intake().on_application_progressed(envelope)
    assert [s["stage"] for s in intake().get_application(ref=app["id"])["stages"]] == ["received", "accepted"]


def test_the_public_look_up_shows_progress_and_nothing_personal(intake):
    app = intake().file_application(application=PROMISED)
    public = intake(Caller.public())
    seen = public.public_progress(lookup={"receipt_no": app["receipt_no"], "phone_last4": "5678", "client": "1.2.3.4"})
    assert seen["status"] == "received" and seen["item_name"] == "事项SP-008"
    text = str(seen)
    for secret in ("张", "13812345678", "430124", "5678"):
        assert secret not in text.replace(app["receipt_no"], "")


def _look_up(intake, receipt_no: str, digits: str, client: str) -> dict:
    return intake(Caller.public()).public_progress(lookup={"receipt_no": receipt_no, "phone_last4": digits,
                                                           "client": client})


def test_wrong_guesses_are_limited_per_receipt_and_client_and_per_receipt(intake):
    app, other = (intake().file_application(application=PROMISED) for _ in range(2))
    for _ in range(5):
        with pytest.raises(NotFound):
            _look_up(intake, app["receipt_no"], "0000", "1.2.3.4")
    with pytest.raises(TooManyAttempts) as err:  # that client at that receipt: locked, even the right digits
        _look_up(intake, app["receipt_no"], "5678", "1.2.3.4")
    assert err.value.code == "lookup_locked" and 3500 < err.value.details["retry_after"] <= 3601
    assert _look_up(intake, app["receipt_no"], "5678", "5.6.7.8")["status"] == "received"  # the villager's own
    assert _look_up(intake, other["receipt_no"], "5678", "1.2.3.4")["status"] == "received"  # another receipt
    for n in range(10):  # guessed at from many addresses: locked for everyone, for a quarter of an hour
        with pytest.raises(NotFound):
            _look_up(intake, other["receipt_no"], "0000", f"10.0.0.{n}")
    with pytest.raises(TooManyAttempts) as err:
        _look_up(intake, other["receipt_no"], "5678", "5.6.7.8")
    assert 0 < err.value.details["retry_after"] <= 15 * 60 + 1


def test_one_address_shared_by_a_village_does_not_lock_out_its_neighbours(intake):
    """Behind one router or a carrier-grade NAT, one villager's wrong look-ups are not another's."""
    mine = intake().file_application(application=PROMISED)
    for i in range(40):
        with pytest.raises(NotFound):
            _look_up(intake, f"{QS}-20260101-{i:04d}", "0000", "100.64.0.1")
    assert _look_up(intake, mine["receipt_no"], "5678", "100.64.0.1")["status"] == "received"


def test_a_flood_from_one_address_is_stopped_and_a_target_lock_passes(intake, intake_db):
    from services.intake.service_layer.reading import LOOKUPS

    now = utcnow()
    uow = intake_db.unit_of_work()
    for i in range(200):
        uow.session.add(orm.LookupFailure(subject=f"{QS}-20260101-{i:04d}", client="100.64.0.1", at=now))
    for n in range(10):
        uow.session.add(orm.LookupFailure(subject=f"{QS}-20260101-9999", client=f"10.0.0.{n}", at=now))
    uow.commit()
    with pytest.raises(TooManyAttempts):  # the flood guard
        LOOKUPS.check(uow, f"{QS}-20260102-0001", "100.64.0.1", now)
    LOOKUPS.check(uow, f"{QS}-20260102-0001", "100.64.0.2", now)
    with pytest.raises(TooManyAttempts):
        LOOKUPS.check(uow, f"{QS}-20260101-9999", "10.0.1.1", now + timedelta(minutes=14))
    LOOKUPS.check(uow, f"{QS}-20260101-9999", "10.0.1.1", now + timedelta(minutes=16))  # the target opens again


def test_lists_filter_and_page_with_a_stable_order(intake):
    filed = [intake(AGENT if i % 2 else CADRE).file_application(application=PROMISED) for i in range(7)]
    filed.append(intake(AGENT).file_application(application=IMMEDIATE))
    seen, cursor = [], None
    while True:
        page = intake(CADRE).list_applications(query={"limit": 3, "cursor": cursor})
        seen += [a["receipt_no"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((a["receipt_no"] for a in filed), reverse=True)
    mine = intake(AGENT).list_applications(query={"mine": True})["items"]
    assert {a["accountable_staff_id"] for a in mine} == {AGENT.staff_id} and len(mine) == 4
    completed = intake(CADRE).list_applications(query={"status": "completed"})["items"]
    assert [a["item_code"] for a in completed] == ["YB-002"]
    assert len(intake(CADRE).list_applications(query={"channel": "market_day"})["items"]) == 1
    with pytest.raises(ValidationFailed):
        intake(CADRE).list_applications(query={"cursor": "not-a-cursor"})


def test_overdue_lists_open_applications_past_their_promised_day(intake):
    late, on_time = (intake().file_application(application=PROMISED) for _ in range(2))
    now = datetime.now(UTC)
    _progress(intake, late, "accepted", now, promised_deadline="2020-01-01")
    _progress(intake, on_time, "accepted", now, promised_deadline="2099-01-01")
    overdue = intake(CADRE).list_applications(query={"overdue": True})["items"]
    assert [a["id"] for a in overdue] == [late["id"]] and overdue[0]["overdue"] is True
    assert late["id"] not in [a["id"] for a in intake(CADRE).list_applications(query={"overdue": False})["items"]]


def test_consultations_activities_and_deeds_are_recorded_and_announced(intake, intake_db):
    consult = intake().record_activity(kind="consultation", record={
        "topic": "医保缴费咨询", "channel": "market_day", "session_id": SESSION, "village_code": f"{QS}002",
        "occurred_on": "2026-11-28", "people_count": 12})
    assert consult["kind"] == "consultation" and consult["township_code"] == QS
    intake().record_activity(kind="service_activity", record={
        "category": "farming", "title": "柑橘修剪培训", "place": "石门村部", "held_on": "2026-11-20", "attendance": 46})
    intake().record_activity(kind="practical_deed", record={"description": "修复村道路灯", "done_on": "2026-11-21",
                                                           "beneficiaries": 300})
    assert _outbox(intake_db).count("activity_recorded") == 3
    assert len(intake(CADRE).list_activities(query={"kind": "service_activity"})) == 1
    assert intake(LX_CADRE).list_activities(query={"kind": "consultation"}) == []
    with pytest.raises(ValidationFailed):
        intake().record_activity(kind="consultation", record={"topic": "x", "channel": "station",
                                                              "village_code": f"{LX}001", "occurred_on": "2026-11-28"})
    with pytest.raises(ValidationFailed):
        intake().record_activity(kind="gossip", record={})


ACTIVITY = {"category": "farming", "title": "柑橘修剪培训", "place": "石门村部", "held_on": "2026-11-20",
            "attendance": 46}


@pytest.mark.parametrize("staff_ids", [[7, 40], [7, 999]], ids=["another_townships", "unknown"])
def test_a_service_activity_names_only_the_townships_staff(intake, intake_db, staff_ids):
    for staff_id, township in ((7, QS), (40, LX)):
        intake().on_staff_changed(intake.event("directory", "staff_changed", {
            "id": staff_id, "township_code": township, "station_code": None, "role": "township_cadre",
            "active": True, "version": 1}))
    with pytest.raises(ValidationFailed) as refused:
        intake().record_activity(kind="service_activity", record={**ACTIVITY, "staff_ids": staff_ids})
    # another township's staff member answers like one that does not exist: no existence leak
    assert refused.value.code == "unknown_staff"
    assert refused.value.details == [{"field": "staff_ids", "message": f"no staff member {staff_ids[1]} in your "
                                                                       "township"}]
    assert _count(intake_db, orm.ActivityRecord) == 0
    recorded = intake().record_activity(kind="service_activity", record={**ACTIVITY, "staff_ids": [7]})
    assert recorded["details"]["staff_ids"] == [7]


def test_a_late_older_catalogue_snapshot_does_not_overwrite_a_newer_one(intake, intake_db):
    newer = {"township_code": QS, "code": "SP-008", "name": "新名称", "category": "approval", "kind": "promised",
             "handling_level": "township", "promised_days": 15, "required_materials": [], "status": "active",
             "version": 3}
    intake().on_catalogue_item_changed(intake.event("directory", "catalogue_item_changed", newer))
    intake().on_catalogue_item_changed(intake.event("directory", "catalogue_item_changed",
                                                    {**newer, "name": "旧名称", "version": 2}))
    with intake_db.sessions() as session:
        assert session.get(orm.CatalogueItemCopy, (QS, "SP-008")).name == "新名称"



@pytest.mark.parametrize(("context", "code"), [
    ({"channel": "market_day", "session_id": "f" * 32}, "unknown_session"),  # never scheduled
    ({"channel": "market_day", "session_id": LX_SESSION}, "unknown_session"),  # another township's post
    ({"channel": "market_day", "session_id": VISIT}, "unknown_session"),  # a visit is not a session
    ({"channel": "visit", "visit_id": SESSION}, "unknown_visit"),
])
def test_what_names_a_session_or_visit_names_one_of_the_townships(intake, intake_db, context, code):
    with pytest.raises(ValidationFailed) as refused:
        intake().file_application(application={**PROMISED, **context})
    assert refused.value.code == code
    with pytest.raises(ValidationFailed) as refused:
        intake().record_activity(kind="consultation", record={"topic": "x", "occurred_on": "2026-11-28", **context})
    assert refused.value.code == code
    assert _count(intake_db) == 0


def test_an_application_raised_on_a_visit_carries_the_visit_in_its_event(intake, intake_db):
    filed = intake().file_application(application={**PROMISED, "channel": "visit", "visit_id": VISIT})
    assert filed["visit_id"] == VISIT
    outbox = intake_db.metadata.tables["outbox"]
    with intake_db.sessions() as session:
        body = session.execute(select(outbox.c.body).where(outbox.c.event_type == "application_filed")).scalar_one()
    assert body["payload"]["visit_id"] == VISIT
    # approvals accepts intake's count of the deadline from this release on, the previous release's consumers
    # refuse the key: it is sent from the next release (docs/OPERATIONS.md, "Events expand too")
    assert "promised_deadline" not in body["payload"]


def test_an_event_that_keeps_failing_becomes_a_dead_letter_and_replays_once(intake, intake_db, monkeypatch):
    import shared.copies
    import shared.messaging

    monkeypatch.setattr(shared.messaging, "BACKOFF_SECONDS", 0)
    real_keep = shared.copies.keep_village

    def broken(*_args, **_kwargs):
        raise RuntimeError("the village copy is broken")

    monkeypatch.setattr(shared.copies, "keep_village", broken)
    event = EventEnvelope(source="directory", type="village_changed", occurred_at=utcnow(), payload={
        "code": f"{QS}009", "township_code": QS, "name": "新村", "version": 1}).model_dump(mode="json")
    intake().on_village_changed(event)  # acknowledged: kept as a dead letter, not lost and not raised
    admin = Caller(staff_id=1, role=Role.SYSTEM_ADMIN)  # dead letters: the system administrator's
    [dead] = intake(admin).dead_letters()
    assert dead["handler"] == "intake.on_village_changed" and dead["attempts"] == 3
    assert dead["error"] == "RuntimeError: the village copy is broken" and dead["body"]["event_id"] == event["event_id"]
    intake().on_village_changed(event)  # delivered again, fails again: still one dead letter, attempts counted
    assert [d["attempts"] for d in intake(admin).dead_letters()] == [6]
    still = intake(admin).replay_dead_letters()
    assert still["replayed"] == [] and list(still["failed"]) == [str(dead["id"])]

    monkeypatch.setattr(shared.copies, "keep_village", real_keep)  # the cause is fixed
    assert intake(admin).replay_dead_letters(request={"ids": [dead["id"]]})["replayed"] == [dead["id"]]
    with intake_db.sessions() as session:
        assert session.get(orm.VillageCopy, f"{QS}009") is not None
    assert intake(admin).dead_letters() == []
    assert intake(admin).dead_letters(query={"include_replayed": True})[0]["replayed_at"]
    intake().on_village_changed(event)  # a late redelivery after the replay is a duplicate, applied once
    assert intake(admin).replay_dead_letters()["replayed"] == []
    with pytest.raises(Forbidden):
        intake(AGENT).dead_letters()


def test_a_batch_is_applied_together_and_a_bad_event_in_it_alone(intake, intake_db, monkeypatch, caplog):
    """What the broker hands a handler at once is applied in one transaction; an event delivered twice in
    it is applied once; when one event fails, the others are applied one by one and only it becomes a
    dead letter; a handler that would commit by itself in a batch gets the batch applied one by one."""
    import shared.copies
    import shared.messaging

    monkeypatch.setattr(shared.messaging, "BACKOFF_SECONDS", 0)
    real_keep = shared.copies.keep_village

    def broken_for_009(uow, model, payload):
        if payload["code"].endswith("009"):
            raise RuntimeError("the village copy is broken")
        real_keep(uow, model, payload)

    monkeypatch.setattr(shared.copies, "keep_village", broken_for_009)

    def village(n: int) -> dict:
        return intake.event("directory", "village_changed",
                            {"code": f"{QS}{n:03d}", "township_code": QS, "name": f"村{n}", "version": 1})

    def kept(n: int) -> bool:
        with intake_db.sessions() as session:
            return session.get(orm.VillageCopy, f"{QS}{n:03d}") is not None

    def marks() -> int:
        with intake_db.sessions() as session:
            return session.query(orm.Base.metadata.tables["inbox"]).count()

    def applied_alone() -> int:
        return sum("applying them one by one" in r.getMessage() for r in caplog.records)

    caplog.set_level("INFO", logger="shared.messaging")
    first, bad, second = village(5), village(9), village(6)
    before = marks()
    intake().on_village_changed([first, second, first])
    assert kept(5) and kept(6) and applied_alone() == 0  # together
    assert marks() == before + 2  # one inbox mark each: the repeat in the batch was recognised

    third, fourth = village(7), village(8)
    intake().on_village_changed([third, bad, fourth])
    assert kept(7) and kept(8) and not kept(9)
    admin = Caller(staff_id=1, role=Role.SYSTEM_ADMIN)
    assert [d["body"]["event_id"] for d in intake(admin).dead_letters()] == [bad["event_id"]]
    assert applied_alone() == 1

    def committing(uow, model, payload):  # a handler ending its own transaction
        real_keep(uow, model, payload)
        uow.commit()

    monkeypatch.setattr(shared.copies, "keep_village", committing)
    intake().on_village_changed([village(10), village(11)])
    assert kept(10) and kept(11) and applied_alone() == 2
    assert len(intake(admin).dead_letters()) == 1


def _clock(intake, app, seq, promised_deadline, **extra):
    payload = {"application_id": app["id"], "receipt_no": app["receipt_no"], "township_code": QS, "seq": seq,
               "occurred_at": utcnow().isoformat(), "promised_deadline": promised_deadline, **extra}
    intake().on_application_clock_changed(intake.event("approvals", "application_clock_changed", payload))


def _public(intake, app):
    return intake(Caller.public()).public_progress(
        lookup={"receipt_no": app["receipt_no"], "phone_last4": "5678", "client": "1.2.3.4"})


def test_an_application_nobody_accepts_has_its_deadline_from_filing_and_becomes_overdue(intake):
    """The clock starts at filing: approvals announces the deadline when it opens the case, and a case left
    waiting for 受理 past it is overdue in every view — the neglected case the overdue list exists for."""
    neglected = intake().file_application(application=PROMISED)
    _clock(intake, neglected, 1, "2020-01-06")
    view = intake(CADRE).get_application(ref=neglected["receipt_no"])
    assert view["status"] == "received" and view["promised_deadline"] == "2020-01-06" and view["overdue"] is True
    assert [a["id"] for a in intake(CADRE).list_applications(query={"overdue": True})["items"]] == [neglected["id"]]
    assert _public(intake, neglected)["promised_deadline"] == "2020-01-06"


def test_a_supplement_pause_is_shown_with_its_materials_then_the_new_deadline(intake):
    app = intake().file_application(application=PROMISED)
    _clock(intake, app, 1, "2099-03-04")
    _clock(intake, app, 2, None, paused_on="2099-02-25", awaiting_materials=["户口簿复印件"])
    for seen in (intake(CADRE).get_application(ref=app["id"]), _public(intake, app)):
        assert (seen["promised_deadline"], seen["paused"], seen["paused_on"], seen["awaiting_materials"]) == \
            (None, True, "2099-02-25", ["户口簿复印件"])
    _clock(intake, app, 3, "2099-03-09")
    _clock(intake, app, 2, None, paused_on="2099-02-25", awaiting_materials=["户口簿复印件"])  # arrives late
    for seen in (intake(CADRE).get_application(ref=app["id"]), _public(intake, app)):
        assert (seen["promised_deadline"], seen["paused"], seen["paused_on"], seen["awaiting_materials"]) == \
            ("2099-03-09", False, None, [])
    # an older approvals' progress event does not move the deadline approvals' clock set
    _progress(intake, app, "accepted", utcnow(), promised_deadline="2099-03-04")
    assert intake(CADRE).get_application(ref=app["id"])["promised_deadline"] == "2099-03-09"


def test_an_application_completed_after_its_deadline_is_marked_and_listed(intake):
    late, on_time, still_open = (intake().file_application(application=PROMISED) for _ in range(3))
    for app, days_late in ((late, 2), (on_time, 0)):
        _clock(intake, app, 1, "2026-03-09")
        _progress(intake, app, "completed", utcnow(), outcome="approved")
        _clock(intake, app, 2, "2026-03-09", days_late=days_late)
    view = intake(CADRE).get_application(ref=late["id"])
    assert (view["overdue"], view["completed_late"], view["days_late"]) == (False, True, 2)
    assert (intake(CADRE).get_application(ref=on_time["id"])["completed_late"],
            intake(CADRE).get_application(ref=still_open["id"])["days_late"]) == (False, None)
    listed = intake(CADRE).list_applications(query={"completed_late": True})["items"]
    assert [(a["id"], a["completed_late"], a["days_late"]) for a in listed] == [(late["id"], True, 2)]
    others = {a["id"] for a in intake(CADRE).list_applications(query={"completed_late": False})["items"]}
    assert others == {on_time["id"], still_open["id"]}


def _calendar_day(intake, day: str, kind: str | None, name: str | None = None) -> None:
    intake().on_calendar_changed(intake.event("directory", "calendar_changed", {
        "county_code": "431099", "day": day, "kind": kind, "name": name,
        "source": None if kind is None else "official"}))


def test_the_promised_deadline_is_on_the_receipt_from_the_moment_of_filing(intake, monkeypatch):
    """The clock starts at filing, so the receipt carries the deadline: counted in working days from the
    filing day with the directory's calendar (approvals' rule), until approvals' clock speaks for it.
    Filed on Wednesday 30 September with a 3-day limit: 1–2 and 5–8 October off, Saturday 10 October
    worked (调休): Friday 9th, Saturday 10th, Monday 12th — not Monday 5th, as weekends alone would say."""
    import services.intake.service as intake_service

    for day in ("2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08"):
        _calendar_day(intake, day, "holiday", "国庆节")
    _calendar_day(intake, "2026-10-10", "makeup_workday", "国庆节调休")
    _calendar_day(intake, "2026-09-29", "local_day_off", "县庆")
    _calendar_day(intake, "2026-09-29", None)  # cleared again: an ordinary day
    intake().on_catalogue_item_changed(intake.event("directory", "catalogue_item_changed", {
        "township_code": QS, "code": "SP-003", "name": "事项SP-003", "category": "agency", "kind": "promised",
        "handling_level": "township", "promised_days": 3, "required_materials": ["身份证"], "status": "active",
        "version": 1}))
    now = [datetime(2026, 9, 30, 2, 0, tzinfo=UTC)]  # 10:00 in China
    monkeypatch.setattr(intake_service, "utcnow", lambda: now[0])

    filed = intake().file_application(application={**PROMISED, "item_code": "SP-003", "materials_provided": ["身份证"]})
    assert (filed["promised_deadline"], filed["overdue"]) == ("2026-10-12", False)
    assert intake(CADRE).get_application(ref=filed["receipt_no"])["promised_deadline"] == "2026-10-12"
    assert _public(intake, filed)["promised_deadline"] == "2026-10-12"
    waiting = intake().file_application(application={**IMMEDIATE, "complete_now": False, "result_note": None})
    assert waiting["promised_deadline"] == "2026-09-30"  # an immediate item left open: its limit 0 ends today

    def overdue() -> list[str]:
        return [a["id"] for a in intake(CADRE).list_applications(query={"overdue": True})["items"]]

    now[0] = datetime(2026, 10, 12, 15, 59, tzinfo=UTC)  # 23:59 on the last day: still in time
    assert overdue() == [waiting["id"]]
    now[0] = datetime(2026, 10, 12, 16, 0, tzinfo=UTC)  # the day after
    assert sorted(overdue()) == sorted([filed["id"], waiting["id"]])  # filed in the same instant: either order
    assert intake(CADRE).get_application(ref=filed["id"])["overdue"] is True
    _clock(intake, filed, 1, "2026-10-14")  # approvals' first word replaces intake's own count
    assert intake(CADRE).get_application(ref=filed["id"])["promised_deadline"] == "2026-10-14"
    assert overdue() == [waiting["id"]]
    _clock(intake, filed, 2, "2026-10-16")  # and its later ones as before
    assert intake(CADRE).get_application(ref=filed["id"])["promised_deadline"] == "2026-10-16"



def test_notifications_asks_for_the_applicants_phone_only_as_the_platform(intake):
    filed = intake().file_application(PROMISED)
    assert intake(Caller(role=Role.SYSTEM, username="notifications")).notice_contact(filed["id"]) == "13812345678"
    assert intake(Caller.system()).notice_contact("0" * 32) is None
    with pytest.raises(Forbidden):
        intake(CADRE).notice_contact(filed["id"])
