"""A PostgreSQL database of its own for a benchmark: created on the server the `cunban` role can create
databases on (CUNBAN_BENCH_PG_URL overrides it), dropped afterwards whatever happens."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER = os.environ.get("CUNBAN_BENCH_PG_URL", "postgresql+psycopg://cunban:cunban@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"cunban_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
