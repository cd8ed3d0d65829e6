"""The records handled at a market-day session or raised on a visit (applications, consultations,
complaints), learnt from the events of the services that keep them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.scheduling.adapters import orm
from shared.db import Repository


class LinkedRecords(Repository):
    def get(self, kind: str, ref: str) -> orm.LinkedRecordRow | None:
        return self.session.get(orm.LinkedRecordRow, (kind, ref))

    def add(self, record: orm.LinkedRecordRow) -> None:
        self.session.add(record)

    def at_sessions(self, session_ids: list[str]) -> dict[str, list[orm.LinkedRecordRow]]:
        """The records handled at each of some sessions, oldest first; a session with none is absent."""
        return self._at(orm.LinkedRecordRow.session_id, session_ids)

    def on_visits(self, visit_ids: list[str]) -> dict[str, list[orm.LinkedRecordRow]]:
        """The records raised on each of some visits, oldest first; a visit with none is absent."""
        return self._at(orm.LinkedRecordRow.visit_id, visit_ids)

    def _at(self, column: Any, ids: list[str]) -> dict[str, list[orm.LinkedRecordRow]]:
        found: dict[str, list[orm.LinkedRecordRow]] = {}
        if ids:
            for record in self.session.execute(select(orm.LinkedRecordRow).where(column.in_(ids))
                                               .order_by(orm.LinkedRecordRow.occurred_at)).scalars():
                found.setdefault(getattr(record, column.key), []).append(record)
        return found
