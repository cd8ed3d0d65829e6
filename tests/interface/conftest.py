"""Interface tests call a service's entrypoints through nameko's worker_factory with a real unit of
work on a migrated SQLite file: no broker, real persistence and outbox."""
from collections.abc import Callable, Iterator

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import MetaData, select

from services.directory.adapters.orm import Base
from services.directory.service import DirectoryService
from services.scheduling.adapters.orm import Base as SchedulingBase
from shared.contracts.caller import Caller, Role
from shared.db import ServiceDatabase
from shared.migrate import upgrade
from shared.service import WorkerCaller
from tests.interface.scheduling_support import prepare, service_as

ADMIN = Caller(staff_id=1, username="admin", role=Role.COUNTY_ADMIN, county_code="431099")
SYSADMIN = Caller(staff_id=99, username="sysadmin", role=Role.SYSTEM_ADMIN)


@pytest.fixture
def migrated_db(tmp_path) -> Iterator[Callable[[str, MetaData], ServiceDatabase]]:
    """A service's own database: a SQLite file with the service's migrations applied."""
    made: list[ServiceDatabase] = []

    def make(service: str, metadata: MetaData) -> ServiceDatabase:
        url = f"sqlite:///{tmp_path}/{service}.db"
        upgrade(service, url)
        made.append(ServiceDatabase(service, metadata, url))
        return made[-1]

    yield make
    for db in made:
        db.dispose()


@pytest.fixture
def directory_db(migrated_db) -> ServiceDatabase:
    return migrated_db("directory", Base.metadata)


@pytest.fixture
def directory(directory_db) -> Callable[[Caller], DirectoryService]:
    """A directory worker acting for `caller`; each call gets a fresh unit of work like a real worker."""

    def as_caller(caller: Caller = ADMIN) -> DirectoryService:
        service = worker_factory(DirectoryService, db=directory_db.unit_of_work(), caller=WorkerCaller(caller))
        return service

    service = as_caller(Caller.system())
    service.check_calendar_coverage = lambda: None  # the metric timer is exercised in its own test
    service.bootstrap_county(code="431099", name="清水县")
    return as_caller


def outbox_types(db: ServiceDatabase) -> list[str]:
    outbox = db.metadata.tables["outbox"]
    with db.sessions() as session:
        return list(session.execute(select(outbox.c.event_type).order_by(outbox.c.id)).scalars())


@pytest.fixture
def scheduling_db(migrated_db) -> ServiceDatabase:
    return migrated_db("scheduling", SchedulingBase.metadata)


@pytest.fixture
def scheduling(scheduling_db):
    """A scheduling worker acting for a caller, after the directory told it of a market site, staff,
    villages and a county day off (see scheduling_support.prepare)."""
    as_caller = service_as(scheduling_db)
    prepare(as_caller)
    return as_caller


@pytest.fixture
def planned(scheduling_db, scheduling) -> ServiceDatabase:
    """Scheduling's database once the directory's facts have arrived."""
    return scheduling_db
