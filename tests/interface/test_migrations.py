"""Each service's migrations build exactly the tables its models describe: a model changed without a
migration (or a migration that drifts from its model) fails here, before it reaches a database."""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cunban.registry import SERVICES
from shared.db import make_engine
from shared.migrate import upgrade


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
