"""What every repository of the directory's records shares: a record read by its key, a new one written at
once, several named at once, and a page of those the caller reaches."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any, Generic, TypeVar

from sqlalchemy import select, tuple_

from shared.contracts import directory as c
from shared.contracts.caller import Caller
from shared.db import Repository, within_scope

Row = TypeVar("Row")


class Records(Repository, Generic[Row]):
    """The records of one table, by key (a code, an id, or a township's code and an item's)."""

    model: type[Row]

    @property
    def _key_columns(self) -> tuple[Any, ...]:
        return tuple(self.model.__mapper__.primary_key)  # type: ignore[attr-defined]

    def get(self, key: Any) -> Row | None:
        """The record at `key`, or None (one already read in this transaction is not read again)."""
        return self.session.get(self.model, key)

    def add(self, row: Row) -> None:
        """A new record, written at once: the snapshot announced with it in the same transaction carries
        what the database gives it (a staff member's id)."""
        self.session.add(row)
        self.session.flush()

    def among(self, keys: Collection[Any]) -> list[Row]:
        """The records of those keys that exist, in one read (a page naming fifty records makes one)."""
        if not keys:
            return []
        columns = self._key_columns
        key = columns[0] if len(columns) == 1 else tuple_(*columns)
        return list(self.session.execute(select(self.model).where(key.in_(set(keys)))).scalars())

    def all(self) -> list[Row]:
        """Every record, in key order."""
        return list(self.session.execute(select(self.model).order_by(self._key_columns[0])).scalars())

    def _page(self, query: Any, page: c.Page) -> list[Row]:
        query = query.order_by(*self._key_columns).limit(page.limit).offset(page.offset)
        return list(self.session.execute(query).scalars())


class TownshipRecords(Records[Row]):
    """Records that belong to a township (villages, stations, staff, market sites, catalogue items)."""

    def within_reach(self, caller: Caller, page: c.Page, township_code: str | None = None) -> list[Row]:
        """A page of the records the caller reaches (every one for the installation, a county's for a county,
        a township's otherwise), or of one township's when it is named, in key order."""
        return self._page(select(self.model).where(*self._reached(caller, township_code)), page)

    def _reached(self, caller: Caller, township_code: str | None) -> list[Any]:
        column = self.model.township_code  # type: ignore[attr-defined]
        if township_code is not None:
            return [column == township_code]
        return within_scope(caller, column)
