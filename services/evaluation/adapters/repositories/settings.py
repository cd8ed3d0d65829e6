"""The weights scores are made with (the installation's default and each county's own), and the
directory's townships as copied here for the names in reports."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.evaluation.adapters import orm
from shared.db import Repository, change

INSTALLATION_SETTINGS = 1  # the row of the installation's default weights; a county's own has its code


class ScoreSettings(Repository):
    """The score settings rows: id 1 the installation's default, one row per county that set its own."""

    def of_county(self, county: str) -> orm.ScoreSettingsRow | None:
        s = orm.ScoreSettingsRow
        return self.session.execute(select(s).where(s.county_code == county)).scalar_one_or_none()

    def installation(self) -> orm.ScoreSettingsRow | None:
        return self.session.get(orm.ScoreSettingsRow, INSTALLATION_SETTINGS)

    def set_installation(self, values: dict[str, Any]) -> None:
        """Set the installation's default (one upsert: the last writer wins)."""
        self.uow.put(orm.ScoreSettingsRow, INSTALLATION_SETTINGS, {"id": INSTALLATION_SETTINGS, **values})

    def set_county(self, county: str, values: dict[str, Any]) -> None:
        """Set a county's own weights: its row changed, or a new row, which never takes the installation's
        id."""
        if (row := self.of_county(county)) is not None:
            change(row, **values)
            return
        last = self.session.execute(select(func.max(orm.ScoreSettingsRow.id))).scalar() or 0
        self.session.add(orm.ScoreSettingsRow(id=max(last, INSTALLATION_SETTINGS) + 1, county_code=county,
                                              **values))


class Townships(Repository):
    """The directory's townships, for the names in reports."""

    def name_of(self, code: str) -> str | None:
        row = self.session.get(orm.TownshipCopy, code)
        return row.name if row else None

    def keep(self, township: dict[str, Any]) -> None:
        """The directory's newer version of a township (an older one arriving late is ignored)."""
        self.uow.keep_newest(orm.TownshipCopy, township["code"], {k: township[k] for k in ("code", "name", "version")})
