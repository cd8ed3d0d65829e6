"""How each county sends: its settings (provider, signature, quiet hours, cap, urgent notices) and its own
templates, saved in place."""
from __future__ import annotations

from typing import Any

from services.notifications.adapters import orm
from shared.db import Repository, change


class CountySettings(Repository):
    """Counties' sending settings; a county without a row uses the defaults."""

    def get(self, county_code: str) -> orm.CountySettingsRow | None:
        """Read, not to change: kept by the process for a few seconds (every message made asks it), and
        forgotten when this process saves it (UnitOfWork.copy)."""
        return self.uow.copy(orm.CountySettingsRow, county_code)

    def save(self, county_code: str, values: dict[str, Any]) -> None:
        """The county's settings set to `values`: a new row, or only the changed columns of its row."""
        self.uow.forget_copy(orm.CountySettingsRow, county_code)
        row = self.session.get(orm.CountySettingsRow, county_code)
        if row is None:
            self.session.add(orm.CountySettingsRow(county_code=county_code, **values))
        else:
            change(row, **values)


class Templates(Repository):
    """Counties' own texts for notices (the notice's starting text serves until one is saved)."""

    def get(self, county_code: str, kind: str) -> orm.TemplateRow | None:
        """Read, not to change: kept by the process for a few seconds, like the county's settings."""
        return self.uow.copy(orm.TemplateRow, (county_code, kind))

    def save(self, county_code: str, kind: str, values: dict[str, Any]) -> None:
        """The county's text for the notice set to `values`: a new row, or only the changed columns."""
        self.uow.forget_copy(orm.TemplateRow, (county_code, kind))
        row = self.session.get(orm.TemplateRow, (county_code, kind))
        if row is None:
            self.session.add(orm.TemplateRow(county_code=county_code, kind=kind, **values))
        else:
            change(row, **values)
