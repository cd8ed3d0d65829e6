"""What `cunban up` keeps in its data directory besides the SQLite files: the lock that lets one process
at a time write there, and the secrets generated for it on first start (development)."""
from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import secrets
import tempfile
from datetime import date
from pathlib import Path
from typing import IO, Any

from shared.settings import DEVELOPMENT_PII_KEY, DEVELOPMENT_SECRET

log = logging.getLogger("cunban")

LOCK_FILE = "cunban.lock"
SECRETS_FILE = "secrets.json"


class DataDirInUse(Exception):
    """Another process holds the data directory."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Take the data directory for this process, or refuse: an exclusive lock (flock) on its lock file,
    held until the returned file is closed or the process ends, however it ends. The file names the
    holder's pid, for the message the next one gets."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the life of the command
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirInUse(
            f"the data directory {data_dir.resolve()} is in use by another cunban process (pid {holder}); "
            "stop that one first, or give this one its own --data-dir / CUNBAN_DATA_DIR") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _has_data(data_dir: Path, settings: Any) -> bool:
    """Whether personal data may already be stored under the published development key: SQLite files in
    the data directory, or databases elsewhere (CUNBAN_DB_URL) whose past this cannot see."""
    return bool(settings.db_url) or any(data_dir.glob("*.db"))


def _generate(data_dir: Path, settings: Any) -> dict[str, str]:
    new_key = f"k{date.today():%Y%m%d}:{base64.b64encode(os.urandom(32)).decode()}"
    values = {"secret_key": secrets.token_urlsafe(48), "pii_keys": new_key,
              "pii_search_key": base64.b64encode(os.urandom(32)).decode()}
    if _has_data(data_dir, settings):
        # data written before this file existed was sealed with the development key and hashed with a
        # key derived from it: keep reading it (new data goes under the new key) and keep its hashes valid
        values["pii_keys"] = f"{new_key},{DEVELOPMENT_PII_KEY}"
        values["pii_search_key"] = DEVELOPMENT_PII_KEY.partition(":")[2]
    return values


def _stored(data_dir: Path, settings: Any) -> dict[str, str]:
    path = data_dir / SECRETS_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".secrets-", dir=data_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(_generate(data_dir, settings), out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # whole or not at all; a racing first start wins
                os.link(temporary, path)
                log.info("generated this data directory's secrets into %s", path)
        finally:
            os.unlink(temporary)
    from shared.pii import PersonalDataVault

    try:
        values = json.loads(path.read_text())
        PersonalDataVault(values["pii_keys"], values["pii_search_key"])
        if len(values["secret_key"]) < 32:
            raise ValueError("secret_key is shorter than 32 characters")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a usable secrets file ({exc}); restore it from a backup") from exc
    return values


def with_local_secrets(settings: Any) -> Any:
    """In development, what the environment leaves at the published development values comes from the
    data directory's secrets file instead, generated on first start and kept across restarts: the key
    that signs tokens (CUNBAN_SECRET_KEY) and the personal-data keys (CUNBAN_PII_KEYS with
    CUNBAN_PII_SEARCH_KEY). Production takes everything from the environment (and refuses the
    development values)."""
    if settings.environment != "development":
        return settings
    changes: dict[str, str] = {}
    wants_secret = settings.secret_key == DEVELOPMENT_SECRET
    wants_pii = settings.pii_keys.strip() == DEVELOPMENT_PII_KEY
    if not (wants_secret or wants_pii):
        return settings
    stored = _stored(settings.data_dir, settings)
    if wants_secret:
        changes["secret_key"] = stored["secret_key"]
    if wants_pii:
        changes["pii_keys"] = stored["pii_keys"]
        changes["pii_search_key"] = settings.pii_search_key or stored["pii_search_key"]
    return settings.model_copy(update=changes)
