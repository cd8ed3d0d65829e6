"""Accounts in the directory: signing in (throttled), sessions, station keys, the audit log."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from shared.clock import utcnow
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound, TooManyAttempts, Unauthenticated, ValidationFailed
from tests.interface.conftest import ADMIN, SYSADMIN, outbox_types

QS, LX = "431099101", "431099102"
STATION = f"ST{QS}001"
QS_SUPERVISOR = Caller(staff_id=2, role=Role.SUPERVISOR, township_code=QS)
LX_SUPERVISOR = Caller(staff_id=3, role=Role.SUPERVISOR, township_code=LX)
PUBLIC = Caller.public()


@pytest.fixture
def tree(directory):
    admin = directory(ADMIN)
    admin.create_township(township={"code": QS, "name": "青石镇"})
    directory(ADMIN).create_township(township={"code": LX, "name": "柳溪乡"})
    directory(ADMIN).create_village(village={"code": f"{QS}001", "township_code": QS, "name": "石门村"})
    directory(ADMIN).create_station(station={"code": STATION, "village_code": f"{QS}001", "name": "石门村服务站"})
    return directory(ADMIN).create_staff(staff={
        "username": "qs_agent1", "full_name": "代办员", "role": "village_agent", "township_code": QS,
        "station_code": STATION, "password": "correct-horse"})


def sign_in(directory, username, password, client="10.0.0.1"):
    return directory(PUBLIC).authenticate(sign_in={"credentials": {"username": username, "password": password},
                                                   "client": client})


def test_staff_sign_in_with_the_right_password_only(directory, tree):
    assert "password" not in tree and "password_hash" not in tree
    assert sign_in(directory, "qs_agent1", "correct-horse")["id"] == tree["id"]
    for username, password in [("qs_agent1", "wrong-horse"), ("nobody", "correct-horse")]:
        with pytest.raises(Unauthenticated) as err:
            sign_in(directory, username, password)
        assert err.value.code == "bad_credentials"
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"active": False})
    with pytest.raises(Unauthenticated):
        sign_in(directory, "qs_agent1", "correct-horse")


def test_failed_sign_ins_lock_the_account_for_that_client_then_briefly_for_all(directory, tree):
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            sign_in(directory, "qs_agent1", "wrong-horse", client="10.0.0.9")
    with pytest.raises(TooManyAttempts) as locked:  # even the right password, from that client
        sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.9")
    assert locked.value.code == "login_locked" and 0 < locked.value.details["retry_after"] <= 15 * 60 + 1
    assert sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.8")["id"] == tree["id"]  # the owner
    for n in range(10):  # guessed at from many addresses: the account waits five minutes, for everyone
        with pytest.raises(Unauthenticated):
            sign_in(directory, "qs_agent1", "wrong-horse", client=f"10.1.0.{n}")
    with pytest.raises(TooManyAttempts) as locked:
        sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.8")
    assert 0 < locked.value.details["retry_after"] <= 5 * 60 + 1


def test_failed_sign_ins_from_a_shared_address_do_not_lock_out_other_accounts(directory, tree):
    """A station's router or a NAT puts many staff behind one address: one's failures are not another's."""
    for n in range(40):
        with pytest.raises(Unauthenticated):
            sign_in(directory, f"guess{n}", "x", client="10.0.0.9")
    assert sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.9")["id"] == tree["id"]


def test_a_session_ends_on_sign_out_and_when_the_account_changes(directory, tree):
    staff = Caller(staff_id=tree["id"], role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION)
    check = {"jti": uuid.uuid4().hex, "staff_id": tree["id"], "account_version": tree["version"]}
    system = directory(Caller.system())
    assert system.session_status(check=check) is True
    directory(staff).end_session(end={"jti": check["jti"], "expires_at": (utcnow() + timedelta(hours=1)).isoformat()})
    assert directory(Caller.system()).session_status(check=check) is False
    other = {**check, "jti": uuid.uuid4().hex}
    assert directory(Caller.system()).session_status(check=other) is True
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"password": "a-new-password"})
    assert directory(Caller.system()).session_status(check=other) is False  # a new password ends them all
    with pytest.raises(Forbidden):  # only the gateway (as the platform) asks
        directory(staff).session_status(check=other)


def _as(staff: dict) -> Caller:
    return Caller(staff_id=staff["id"], username=staff["username"], role=Role(staff["role"]),
                  township_code=staff["township_code"], station_code=staff["station_code"],
                  county_code=staff["county_code"])


def _change(directory, staff: dict, current: str, new: str, client: str = "10.0.0.1") -> dict:
    return directory(_as(staff)).change_own_password(change={
        "change": {"current_password": current, "new_password": new}, "client": client})


def test_a_staff_member_changes_their_own_password_and_every_session_of_it_ends(directory, directory_db, tree):
    check = {"jti": uuid.uuid4().hex, "staff_id": tree["id"], "account_version": tree["version"]}
    issued = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                         key={"staff_id": tree["id"], "label": "自助终端"})
    changed = _change(directory, tree, "correct-horse", "battery-staple-9")
    assert changed["id"] == tree["id"] and changed["version"] == tree["version"] + 1
    assert "password" not in changed and "password_hash" not in changed
    assert sign_in(directory, "qs_agent1", "battery-staple-9")["id"] == tree["id"]
    with pytest.raises(Unauthenticated):  # the old password is gone
        sign_in(directory, "qs_agent1", "correct-horse")
    assert directory(Caller.system()).session_status(check=check) is False  # every session, this one too
    assert directory(Caller.system()).session_status(check={**check, "account_version": changed["version"]})
    assert outbox_types(directory_db)[-2:] == ["access_revoked", "staff_changed"]  # every gateway forgets at once
    assert directory(Caller.system()).resolve_station_key(key=issued["key"])["key_id"] == issued["id"]  # keys stay


def test_a_wrong_current_password_counts_as_a_failed_sign_in(directory, tree):
    for _ in range(5):
        with pytest.raises(ValidationFailed) as wrong:
            _change(directory, tree, "wrong-horse", "battery-staple-9", client="10.0.0.9")
        assert wrong.value.code == "current_password_wrong" and wrong.value.details[0]["field"] == "current_password"
    with pytest.raises(TooManyAttempts) as locked:  # even the right one, from that client: the sign-in throttle
        _change(directory, tree, "correct-horse", "battery-staple-9", client="10.0.0.9")
    assert locked.value.code == "login_locked"
    with pytest.raises(TooManyAttempts):  # and signing in from there, as five wrong sign-ins would
        sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.9")
    assert sign_in(directory, "qs_agent1", "correct-horse", client="10.0.0.8")["id"] == tree["id"]  # unchanged


def test_a_new_password_follows_the_rules_of_a_new_account(directory, tree):
    for new, code in (("short", "validation_failed"), ("correct-horse", "password_unchanged"),
                      ("bad\u0000password", "validation_failed")):
        with pytest.raises(ValidationFailed) as refused:
            _change(directory, tree, "correct-horse", new)
        assert refused.value.code == code, new
        assert any(d["field"].endswith("new_password") for d in refused.value.details), refused.value.details
    assert sign_in(directory, "qs_agent1", "correct-horse")["id"] == tree["id"]


def test_every_staff_role_changes_only_its_own_password(directory, tree):
    admin = directory(SYSADMIN).create_staff(staff={"username": "county_it", "full_name": "县信息中心",
                                                     "role": "county_admin", "county_code": "431099",
                                                     "password": "county-pass-1"})
    assert _change(directory, admin, "county-pass-1", "county-pass-2")["version"] == admin["version"] + 1
    cadre = directory(ADMIN).create_staff(staff={"username": "qs_cadre9", "full_name": "乡镇干部",
                                                  "role": "township_cadre", "township_code": QS,
                                                  "password": "cadre-pass-1"})
    _change(directory, cadre, "cadre-pass-1", "cadre-pass-2")
    assert sign_in(directory, "qs_agent1", "correct-horse")["id"] == tree["id"]  # the cadre's change was theirs
    key = Caller(staff_id=tree["id"], role=Role.STATION_CLIENT, township_code=QS, station_code=STATION)
    with pytest.raises(Forbidden):  # a station's machine acts for someone; it has no password to change
        directory(key).change_own_password(change={
            "change": {"current_password": "correct-horse", "new_password": "battery-staple-9"}})
    with pytest.raises(Unauthenticated):  # nor does the public
        directory(PUBLIC).change_own_password(change={
            "change": {"current_password": "correct-horse", "new_password": "battery-staple-9"}})
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"active": False})
    with pytest.raises(Unauthenticated) as ended:  # a disabled account changes nothing
        _change(directory, tree, "correct-horse", "battery-staple-9")
    assert ended.value.code == "session_ended"


def test_a_station_key_acts_for_its_station_until_revoked_or_rotated(directory, tree):
    issued = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                         key={"staff_id": tree["id"], "label": "自助终端"})
    assert issued["key"].startswith("cbk_") and issued["prefix"] == issued["key"][:16]
    resolved = directory(Caller.system()).resolve_station_key(key=issued["key"])
    assert resolved == {"key_id": issued["id"], "staff_id": tree["id"], "township_code": QS, "station_code": STATION}
    listed = directory(QS_SUPERVISOR).list_station_keys(station_code=STATION)
    assert [k["id"] for k in listed] == [issued["id"]] and "key" not in listed[0] and listed[0]["last_used_on"]
    with pytest.raises(NotFound):  # another township's supervisor does not see the station
        directory(LX_SUPERVISOR).list_station_keys(station_code=STATION)
    with pytest.raises(Unauthenticated):  # one character off
        directory(Caller.system()).resolve_station_key(key=issued["key"][:-1] + ("A" if issued["key"][-1] != "A"
                                                                                 else "B"))
    rotated = directory(QS_SUPERVISOR).rotate_station_key(key_id=issued["id"])
    assert rotated["key"] != issued["key"] and rotated["staff_id"] == tree["id"]
    with pytest.raises(Unauthenticated):
        directory(Caller.system()).resolve_station_key(key=issued["key"])
    assert directory(Caller.system()).resolve_station_key(key=rotated["key"])["key_id"] == rotated["id"]
    directory(QS_SUPERVISOR).revoke_station_key(key_id=rotated["id"])
    with pytest.raises(Unauthenticated):
        directory(Caller.system()).resolve_station_key(key=rotated["key"])


def test_disabling_a_staff_member_ends_their_keys_and_sessions_for_good(directory, tree):
    issued = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                         key={"staff_id": tree["id"], "label": "自助终端"})
    check = {"jti": uuid.uuid4().hex, "staff_id": tree["id"], "account_version": tree["version"]}
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"active": False})
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"active": True})
    assert directory(Caller.system()).session_status(check=check) is False  # a token: ended for good
    with pytest.raises(Unauthenticated):  # and a key the same: re-enabling brings back neither
        directory(Caller.system()).resolve_station_key(key=issued["key"])
    assert directory(QS_SUPERVISOR).list_station_keys(station_code=STATION)[0]["revoked_at"] is not None
    again = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                        key={"staff_id": tree["id"], "label": "自助终端"})
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"full_name": "代办员甲"})  # still of the station
    assert directory(Caller.system()).resolve_station_key(key=again["key"])["key_id"] == again["id"]


def test_every_end_of_access_is_announced_for_the_gateways(directory, directory_db, tree):
    staff = Caller(staff_id=tree["id"], role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION)
    jti = uuid.uuid4().hex
    directory(staff).end_session(end={"jti": jti, "expires_at": (utcnow() + timedelta(hours=1)).isoformat()})
    first = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                        key={"staff_id": tree["id"], "label": "a"})
    second = directory(QS_SUPERVISOR).rotate_station_key(key_id=first["id"])
    directory(QS_SUPERVISOR).revoke_station_key(key_id=second["id"])
    third = directory(QS_SUPERVISOR).create_station_key(station_code=STATION,
                                                        key={"staff_id": tree["id"], "label": "b"})
    directory(ADMIN).update_staff(staff_id=tree["id"], changes={"active": False})
    outbox = directory_db.metadata.tables["outbox"]
    with directory_db.sessions() as session:
        bodies = [b for b in session.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars()
                  if b["type"] == "access_revoked"]
    assert [(b["payload"]["reason"], b["payload"]["staff_id"], b["payload"]["jti"], b["payload"]["key_ids"])
            for b in bodies] == [("signed_out", tree["id"], jti, []), ("key_rotated", tree["id"], None, [first["id"]]),
                                 ("key_revoked", tree["id"], None, [second["id"]]),
                                 ("account_changed", tree["id"], None, [third["id"]])]


def test_a_station_key_acts_only_for_staff_of_that_station(directory, tree):
    cadre = directory(ADMIN).create_staff(staff={"username": "qs_cadre1", "full_name": "干部", "role": "township_cadre",
                                                 "township_code": QS, "password": "correct-horse"})
    with pytest.raises(ValidationFailed):
        directory(QS_SUPERVISOR).create_station_key(station_code=STATION, key={"staff_id": cadre["id"], "label": "x"})
    with pytest.raises(Forbidden):  # a station's own staff cannot mint keys
        agent = Caller(staff_id=tree["id"], role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION)
        directory(agent).create_station_key(station_code=STATION, key={"staff_id": tree["id"], "label": "x"})


def test_the_audit_log_is_append_only_and_read_by_county_admins(directory, directory_db, tree):
    entry = {"id": uuid.uuid4().hex, "at": utcnow().isoformat(), "correlation_id": "c0ffee00", "staff_id": 2,
             "username": "qs_supervisor", "role": "supervisor", "township_code": QS, "station_code": None,
             "action": "create_station", "method": "POST", "target": "/stations", "outcome": 201,
             "client": "10.0.0.1", "personal_data": False}
    envelope = {"event_id": uuid.uuid4().hex, "source": "gateway", "type": "audit_entries_recorded",
                "occurred_at": entry["at"], "payload": {"entries": [entry]}}
    for _ in range(2):  # a redelivered entry is stored once
        directory(Caller.system()).on_audit_entries_recorded(envelope)
    log = directory(ADMIN).audit_log(query={"township_code": QS})
    assert [e["id"] for e in log] == [entry["id"]] and log[0]["seq"] >= 1
    assert directory(ADMIN).audit_log(query={"failed": True}) == []
    with pytest.raises(Forbidden):
        directory(QS_SUPERVISOR).audit_log(query={})
    with directory_db.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE audit_log SET outcome = 200"))
    with directory_db.sessions() as session, pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM audit_log"))


def test_the_audit_log_is_filtered_by_who_and_by_correlation_id(directory, tree):
    """The console's filters: the account's username (who) and the request's correlation id (what one
    request did, across its log lines and its entry), each on top of the others, newest first."""
    at = utcnow()

    def entry(username, correlation_id, action, seconds):
        return {"id": uuid.uuid4().hex, "at": (at + timedelta(seconds=seconds)).isoformat(),
                "correlation_id": correlation_id, "staff_id": 2, "username": username, "role": "supervisor",
                "township_code": QS, "station_code": None, "action": action, "method": "POST",
                "target": "/x", "outcome": 201, "client": "10.0.0.1", "personal_data": False}
    entries = [entry("qs_supervisor", "req-aaaa0001", "create_station", 0),
               entry("qs_supervisor", "req-bbbb0002", "create_village", 1),
               entry("admin", "req-cccc0003", "set_calendar_day", 2)]
    directory(Caller.system()).on_audit_entries_recorded({
        "event_id": uuid.uuid4().hex, "source": "gateway", "type": "audit_entries_recorded",
        "occurred_at": at.isoformat(), "payload": {"entries": entries}})
    mine = directory(ADMIN).audit_log(query={"username": "qs_supervisor"})
    assert [e["action"] for e in mine] == ["create_village", "create_station"]
    assert [e["id"] for e in directory(ADMIN).audit_log(query={"correlation_id": "req-cccc0003"})] == [entries[2]["id"]]
    assert directory(ADMIN).audit_log(query={"username": "admin", "correlation_id": "req-aaaa0001"}) == []
    for bad in ({"correlation_id": "no spaces allowed"}, {"username": ""}):
        with pytest.raises(ValidationFailed):
            directory(ADMIN).audit_log(query=bad)
