"""The tenant tree: the installation's counties, their townships, the townships' villages and stations, and
the market sites villagers gather at."""
from __future__ import annotations

from sqlalchemy import select

from services.directory.adapters import orm
from services.directory.adapters.repositories.records import Records, TownshipRecords
from shared.contracts import directory as c
from shared.contracts.caller import Caller
from shared.db import within_scope


class Counties(Records[orm.County]):
    model = orm.County

    def named(self, code: str | None) -> list[orm.County]:
        """The county of that code, alone (a county admin sees only its own)."""
        return list(self.session.execute(select(orm.County).where(orm.County.code == code)
                                         .order_by(orm.County.code)).scalars())

    def codes(self) -> list[str]:
        return list(self.session.execute(select(orm.County.code).order_by(orm.County.code)).scalars())

    def any(self) -> bool:
        """Whether any county is set up yet."""
        return self.session.execute(select(orm.County.code)).first() is not None


class Townships(Records[orm.Township]):
    model = orm.Township

    def within_reach(self, caller: Caller, page: c.Page) -> list[orm.Township]:
        """A page of the townships the caller reaches, by code."""
        return self._page(select(orm.Township).where(*within_scope(caller, orm.Township.code)), page)


class _Places(TownshipRecords):
    """Villages and stations: named places of a township, whose names a township does not repeat."""

    def names_in_township(self, township_code: str, but: str | None = None) -> dict[str, str]:
        """The names of a township's places (by code) other than `but`, the township's row locked first so
        two managers cannot give two places the same name at the same moment."""
        self.session.get(orm.Township, township_code, with_for_update=True)
        model = self.model
        rows = self.session.execute(select(model.code, model.name).where(model.township_code == township_code))
        return {code: name for code, name in rows if code != but}


class Villages(_Places):
    model = orm.Village

    def of_township(self, township_code: str) -> list[orm.Village]:
        """A township's villages, by code."""
        query = select(orm.Village).where(orm.Village.township_code == township_code).order_by(orm.Village.code)
        return list(self.session.execute(query).scalars())


class Stations(_Places):
    model = orm.Station


class MarketSites(TownshipRecords):
    model = orm.MarketSite
