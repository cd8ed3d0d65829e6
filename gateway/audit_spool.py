"""The gateway's audit entries kept on disk until the broker confirmed them: an append-only file of one JSON
entry a line, and beside it the offset up to which entries went out.

An entry is written and synced before the response it records leaves the gateway, so an acknowledged
request has its entry even when the broker is away or the gateway is killed the next moment; a gateway
that starts again sends what its file still holds. Sending again what was already sent (killed between
the broker's confirm and the offset's update) is harmless: the directory stores each entry once by its id.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from pydantic import ValidationError

from shared.contracts.directory import AuditEntry

log = logging.getLogger(__name__)


class SpoolInUse(RuntimeError):
    """The spool file is held by another gateway process."""


class AuditSpool:
    """Entries not yet confirmed, in order. `path` None keeps them in memory only (an app built for a test)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._memory = bytearray()
        self._sent = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._offset_file = path.with_name(path.name + ".sent")
            self._file = open(path, "ab+")  # noqa: SIM115 - kept open for the gateway's life
            try:  # one gateway a spool: two would let go of each other's entries (released when the process ends)
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._file.close()
                raise SpoolInUse(f"another gateway keeps its audit entries in {path}: give each its own "
                                 "CUNBAN_AUDIT_SPOOL") from None
            self._drop_torn_tail()
            self._sent = self._read_offset()

    def append(self, entry: AuditEntry) -> None:
        """Keep `entry` (durably, with a file: written and synced before this returns)."""
        line = entry.model_dump_json().encode() + b"\n"
        if self.path is None:
            self._memory += line
            return
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def pending(self, limit: int) -> tuple[list[AuditEntry], int]:
        """Up to `limit` entries not yet confirmed, oldest first, and the offset that confirms them."""
        data = self._read_from(self._sent)
        entries: list[AuditEntry] = []
        end = self._sent
        for line in data.splitlines(keepends=True):
            if len(entries) >= limit or not line.endswith(b"\n"):
                break
            end += len(line)
            try:
                entries.append(AuditEntry.model_validate_json(line))
            except ValidationError:  # a line no entry can be read from is skipped, not sent forever
                log.error("unreadable audit entry in the spool skipped", extra={"offset": end - len(line)})
        return entries, end

    def confirm(self, offset: int) -> None:
        """The entries before `offset` were confirmed by the broker; an emptied file starts again at 0
        (the offset is reset first: killed in between, the file's entries are only sent again)."""
        self._sent = offset
        size = len(self._memory) if self.path is None else self._file.seek(0, os.SEEK_END)
        if offset < size:
            self._write_offset(offset)
            return
        self._write_offset(0)
        if self.path is None:
            self._memory.clear()
        else:
            self._file.truncate(0)
        self._sent = 0

    def waiting(self) -> bool:
        size = len(self._memory) if self.path is None else self._file.seek(0, os.SEEK_END)
        return size > self._sent

    def close(self) -> None:
        if self.path is not None:
            self._file.close()

    def _read_from(self, offset: int) -> bytes:
        if self.path is None:
            return bytes(self._memory[offset:])
        self._file.seek(offset)
        data = self._file.read()
        self._file.seek(0, os.SEEK_END)
        return data

    def _drop_torn_tail(self) -> None:
        """A line cut short by a kill was never synced, so never acknowledged: it goes."""
        self._file.seek(0)
        data = self._file.read()
        if data and not data.endswith(b"\n"):
            self._file.truncate(data.rfind(b"\n") + 1)
        self._file.seek(0, os.SEEK_END)

    def _read_offset(self) -> int:
        try:
            offset = int(self._offset_file.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        size = self._file.seek(0, os.SEEK_END)
        return offset if 0 <= offset <= size else 0

    def _write_offset(self, offset: int) -> None:
        if self.path is None:
            return
        temporary = self._offset_file.with_name(self._offset_file.name + ".new")
        temporary.write_text(str(offset))
        os.replace(temporary, self._offset_file)
