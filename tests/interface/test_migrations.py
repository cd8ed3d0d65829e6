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
