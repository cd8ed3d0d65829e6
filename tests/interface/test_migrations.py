"""Each service's migrations build exactly the tables its models describe: a model changed without a
migration (or a migration that drifts from its model) fails here, before it reaches a database."""
from __future__ import annotations

import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from cunban.registry import SERVICES
from shared.db import make_engine
from shared.migrate import alembic_config, upgrade


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_migrations_match_the_models(tmp_path, service):
    url = f"sqlite:///{tmp_path}/{service}.db"
    upgrade(service, url)
    metadata = importlib.import_module(f"services.{service}.adapters.orm").Base.metadata
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_keys_of_staff_disabled_before_the_rule_are_revoked_by_the_migration(tmp_path):
    """A key follows its staff member as a token does; keys of staff already disabled (or moved) when the
    rule came are revoked on the way up, so enabling such an account again does not bring them back."""
    from alembic import command
    from sqlalchemy.orm import Session

    from services.directory.adapters import orm
    from shared.clock import utcnow
    from shared.migrate import alembic_config

    migration = importlib.import_module(
        "services.directory.migrations.versions.0006_revoke_station_keys_of_disabled_staff")
    url = f"sqlite:///{tmp_path}/directory.db"
    command.upgrade(alembic_config("directory", url), migration.down_revision)
    engine = make_engine(url)
    now = utcnow()
    try:
        with Session(engine) as session:
            session.add(orm.County(code="431099", name="清水县", version=1, updated_at=now))
            session.flush()
            session.add(orm.Township(code="431099101", county_code="431099", name="青石镇", version=1, updated_at=now))
            session.flush()
            session.add(orm.Village(code="431099101001", township_code="431099101", name="石门村", kind="village",
                                    version=1, updated_at=now))
            session.flush()
            for code in ("ST431099101001", "ST431099101002"):
                session.add(orm.Station(code=code, village_code="431099101001", township_code="431099101",
                                        name="站", version=1, updated_at=now))
            session.flush()
            for n, (active, station, role) in enumerate([(True, "ST431099101001", "village_agent"),
                                                         (False, "ST431099101001", "village_agent"),
                                                         (True, "ST431099101002", "village_agent"),
                                                         (True, "ST431099101001", "township_cadre")], start=1):
                session.execute(orm.Staff.__table__.insert().values(  # the columns of that revision
                    id=n, username=f"s{n}", full_name="员", role=role, township_code="431099101",
                    station_code=station, password_hash="x", active=active, version=1, updated_at=now))
                session.flush()
                session.add(orm.StationKey(station_code="ST431099101001", township_code="431099101", staff_id=n,
                                           label="k", key_hash=f"{n:064d}", prefix="cbk", created_at=now))
            session.commit()
        upgrade("directory", url)
        with Session(engine) as session:
            revoked = {k.staff_id: k.revoked_at is not None for k in session.query(orm.StationKey)}
        assert revoked == {1: False, 2: True, 3: True, 4: True}
    finally:
        engine.dispose()


def test_approvals_0004_has_the_next_sweep_announce_the_clock_of_cases_opened_before_it(tmp_path):
    """An installation's open cases were opened before approvals announced clocks: the migration marks the
    calendar changed, so the next sweep re-derives them and each announces its deadline (clock_seq 0)."""
    url = f"sqlite:///{tmp_path}/approvals.db"
    command.upgrade(alembic_config("approvals", url), "0003")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO calendar_state (id, changed, applied) VALUES (1, 4, 4)"))
        upgrade("approvals", url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT changed, applied FROM calendar_state")).one() == (5, 4)
    finally:
        engine.dispose()


def test_approvals_0007_closes_the_supervision_notices_whose_late_limit_no_longer_runs(tmp_path):
    """督办 issued before 0007: closed where the case is closed or has left the late step, open where the case
    still waits at that step; 责任追究 records are never closed."""
    url = f"sqlite:///{tmp_path}/approvals.db"
    command.upgrade(alembic_config("approvals", url), "0006")
    engine = make_engine(url)
    cases = {"a" * 32: ("completed", "2026-02-12"), "b" * 32: ("in_review", "2026-03-02"),
             "c" * 32: ("in_review", "2026-02-12")}  # done; at the next step since 2 Mar; still at the late step
    try:
        with engine.begin() as connection:
            for n, (app, (status, entered)) in enumerate(cases.items(), start=1):
                connection.execute(text(
                    "INSERT INTO cases (application_id, receipt_no, township_code, item_code, accountable_staff_id, "
                    "workflow, promised_days, received_on, filed_at, status, step_index, step_entered_on, "
                    "extension_days, pauses, updated_at) VALUES (:app, :receipt, '431099101', 'SP-008', 1, '{}', "
                    "10, '2026-02-12', '2026-02-12 02:00:00', :status, 0, :entered, 0, '[]', "
                    "'2026-03-02 02:00:00')"), {"app": app, "receipt": f"r{n}", "status": status, "entered": entered})
                connection.execute(text(
                    "INSERT INTO deadlines (id, application_id, kind, step_name, started_on, warn_on, due_on, "
                    "overdue_at) VALUES (:n, :app, 'step', 'village_review', '2026-02-12', '2026-02-25', "
                    "'2026-02-26', '2026-02-27 02:00:00')"), {"n": n, "app": app})
                for kind in ("supervision", "accountability"):
                    connection.execute(text(
                        "INSERT INTO notices (kind, application_id, receipt_no, township_code, deadline_id, "
                        "deadline_kind, step_name, due_on, recorded_at, accountable_staff_id) VALUES (:kind, :app, "
                        ":receipt, '431099101', :n, 'step', 'village_review', '2026-02-26', "
                        "'2026-02-27 02:00:00', 1)"), {"kind": kind, "app": app, "receipt": f"r{n}", "n": n})
        upgrade("approvals", url)
        with engine.connect() as connection:
            closed = dict(connection.execute(text(
                "SELECT application_id || kind, closed_at IS NOT NULL FROM notices")).all())
    finally:
        engine.dispose()
    a, b, c = cases
    assert closed == {f"{a}supervision": 1, f"{b}supervision": 1, f"{c}supervision": 0,
                      f"{a}accountability": 0, f"{b}accountability": 0, f"{c}accountability": 0}
