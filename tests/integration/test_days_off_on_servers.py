"""On a real RabbitMQ and PostgreSQL: a county day off entered in the directory reaches the market-day
session scheduled on it through the directory's outbox and scheduling's inbox, and lifting it offers
the session back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from cunban.registry import nameko_config
from services.directory.service import DirectoryService
from services.scheduling.adapters import orm
from services.scheduling.service import SchedulingService
from shared.clock import today_in_china
from shared.contracts.caller import Caller, Role
from shared.migrate import upgrade
from shared.rpc_client import RpcClient
from shared.settings import Settings
from tests.support import wait_until

pytestmark = pytest.mark.integration
ADMIN = Caller(staff_id=1, username="admin", role=Role.COUNTY_ADMIN, county_code="431099")
QS = "431099101"


@pytest.fixture
def system(amqp_uri, pg_database):
    urls = {name: pg_database(name) for name in ("directory", "scheduling")}
    for name, url in urls.items():
        upgrade(name, url)
    config = nameko_config(Settings(amqp_uri=amqp_uri), [])
    config["DB_URLS"] = urls
    config["OUTBOX_POLL_SECONDS"] = 0.2
    runner = ServiceRunner(config)
    runner.add_service(DirectoryService)
    runner.add_service(SchedulingService)
    runner.start()
    client = RpcClient(amqp_uri, timeout=60, pool_size=2)
    client.call("directory", "bootstrap_county", caller=Caller.system(), code="431099", name="清水县")
    scheduling = create_engine(urls["scheduling"])
    yield client, scheduling
    client.close()
    runner.stop()
    scheduling.dispose()


def _session(engine, day):
    with Session(engine) as session:
        return session.execute(select(orm.Session).where(orm.Session.day == day)).scalar_one_or_none()


def _events(engine, event_type):
    outbox = orm.Base.metadata.tables["outbox"]
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(outbox.c.body).where(outbox.c.event_type == event_type))
                .scalars()]


def test_a_new_county_day_off_cancels_the_session_on_it_and_lifting_it_offers_it_back(system):
    client, scheduling = system
    day = today_in_china() + timedelta(days=20)
    client.call("directory", "create_township", caller=ADMIN, township={"code": QS, "name": "青石镇"})
    client.call("directory", "create_market_site", caller=ADMIN, site={
        "code": "QS-JISHI", "township_code": QS, "name": "青石镇老街集市", "location": "集镇主街",
        "rule": {"kind": "dates", "dates": [day.isoformat()]}})

    def generated():  # NotFound until the market site has reached scheduling
        return client.call("scheduling", "generate_sessions", caller=ADMIN, plan={
            "site_code": "QS-JISHI", "start": day.isoformat(), "end": day.isoformat()})

    [session] = wait_until(generated, 60, "the market site to reach scheduling")
    assert session["status"] == "scheduled"

    client.call("directory", "set_calendar_day", caller=ADMIN,
                day={"day": day.isoformat(), "kind": "local_day_off", "name": "县庆"})

    cancelled = wait_until(lambda: (s := _session(scheduling, day)).status == "cancelled" and s, 60,
                           "the day off to reach the session")
    assert cancelled.day_off == "县庆"
    assert [e["outcome"] for e in _events(scheduling, "occasion_called_off") if e["id"] == session["id"]] == \
        ["cancelled"]

    client.call("directory", "clear_calendar_day", caller=ADMIN, day=day.isoformat())
    wait_until(lambda: _session(scheduling, day).restorable, 60, "the session to be offered back")
    restored = client.call("scheduling", "restore_session", caller=ADMIN, session_id=session["id"])
    assert restored["status"] == "scheduled" and restored["restorable"] is False
