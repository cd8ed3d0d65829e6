"""Repository tests: each repository of each service run against both databases it is deployed on — the
embedded system's SQLite file and PostgreSQL — with the service's migrations applied, so that its SQL and
its speed-ups (upserts, multi-row INSERTs, locking) are checked on both dialects."""
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import MetaData

from shared.db import ServiceDatabase
from shared.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def service_db(request, tmp_path) -> Iterator[Callable[[str, MetaData], ServiceDatabase]]:
    """A factory: `service_db("intake", orm.Base.metadata)` is intake's own database, migrated, on SQLite
    and then (the same test again) on PostgreSQL; its unit of work hands out intake's repositories."""
    made: list[ServiceDatabase] = []
    make_pg = request.getfixturevalue("pg_database") if request.param == "postgresql" else None

    def make(service: str, metadata: MetaData) -> ServiceDatabase:
        url = make_pg(service) if make_pg else f"sqlite:///{tmp_path}/{service}.db"
        upgrade(service, url)
        made.append(ServiceDatabase(service, metadata, url))
        return made[-1]

    yield make
    for db in made:
        db.dispose()
