"""The service catalogue: the public services each township offers, keyed by township and item code."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.directory.adapters import orm
from services.directory.adapters.repositories.records import TownshipRecords
from shared.contracts import directory as c
from shared.contracts.caller import Caller


class CatalogueItems(TownshipRecords):
    model = orm.CatalogueItem

    def within_reach(self, caller: Caller, page: c.Page, township_code: str | None = None, *,
                     category: c.Category | None = None, include_withdrawn: bool = False) -> list[orm.CatalogueItem]:
        """A page of the items the caller reaches (or one township's), of one category when asked, the
        withdrawn ones only when asked, by township and code."""
        return self._items(self._reached(caller, township_code), category, include_withdrawn, page)

    def offered_by(self, township_code: str, category: c.Category | None, page: c.Page) -> list[orm.CatalogueItem]:
        """A page of what a township offers now (its active items), of one category when asked."""
        return self._items([orm.CatalogueItem.township_code == township_code], category, False, page)

    def _items(self, scope: list[Any], category: c.Category | None, include_withdrawn: bool,
               page: c.Page) -> list[orm.CatalogueItem]:
        query = select(orm.CatalogueItem).where(*scope)
        if category is not None:
            query = query.where(orm.CatalogueItem.category == category.value)
        if not include_withdrawn:
            query = query.where(orm.CatalogueItem.status == c.ItemStatus.ACTIVE.value)
        return self._page(query, page)
