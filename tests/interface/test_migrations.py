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
                session.add(orm.Staff(id=n, username=f"s{n}", full_name="员", role=role, township_code="431099101",
                                      station_code=station, password_hash="x", active=active, version=1,
                                      updated_at=now))
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
