"""Alembic, one migration tree per service (services/<name>/migrations). `upgrade` is what
`cunban migrate` and service start-up call; each tree's env.py hands its metadata to `run_env`."""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text

from shared.db import make_engine


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    script_location = Path(package.__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(service: str, url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, url), "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only: we migrate live databases)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # replicas starting together migrate one after another (the lock ends with the transaction)
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('cunban-migrations'))"))
            context.run_migrations()
    engine.dispose()
