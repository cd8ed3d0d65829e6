"""Personal data: validation of mainland ID-card and mobile numbers, masking for display, and
encryption at rest (AES-256-GCM with rotatable keys) plus a keyed hash for exact-match search.
See docs/PERSONAL_DATA.md."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import MetaData, select, update
from sqlalchemy.orm import Session

# the display masks live beside the log masks (stdlib only); imported from here by the services
from shared.masking import mask_id_card, mask_name, mask_phone  # noqa: F401

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def id_card_problem(number: str, today: date | None = None) -> str | None:
    """Why an 18-digit resident ID number (GB 11643) is not valid, or None when it is."""
    number = number.strip().upper()
    if not _ID_SHAPE.match(number):
        return "must be 17 digits followed by a digit or X"
    if number[:2] in ("00", "10", "20", "30", "40", "70", "80", "90"):
        return "does not start with a province code"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "does not contain a valid birth date"
    if born.year < 1880 or (today is not None and born > today):
        return "does not contain a plausible birth date"
    if id_card_check_digit(number[:17]) != number[17]:
        return "check digit does not match (GB 11643)"
    return None


def id_card_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_mobile(number: str) -> bool:
    return bool(_MOBILE.match(number))


@dataclass(frozen=True)
class PiiKey:
    key_id: str
    secret: bytes


class PersonalDataVault:
    """Encrypts personal fields for storage. Ciphertext is "key_id:base64(nonce|ciphertext)"; the first
    key encrypts, every key decrypts. The keyed hash (exact-match search, look-up codes, contact checks)
    uses its own search key, so encryption keys rotate without touching any stored hash; without one
    (development) it is derived from the first key."""

    def __init__(self, keys: str, search_key: str = ""):
        parsed = []
        for entry in filter(None, (part.strip() for part in keys.split(","))):
            key_id, _, encoded = entry.partition(":")
            secret = base64.b64decode(encoded)
            if not key_id or len(secret) != 32:
                raise ValueError("each PII key is 'key_id:base64 of 32 bytes'")
            parsed.append(PiiKey(key_id, secret))
        if not parsed:
            raise ValueError("at least one PII key is needed")
        self.keys = {k.key_id: k for k in parsed}
        self.current = parsed[0]
        if search_key:
            secret = base64.b64decode(search_key)
            if len(secret) != 32:
                raise ValueError("the PII search key is base64 of 32 bytes")
            self._hash_key = hashlib.sha256(b"cunban-search:" + secret).digest()
        else:
            self._hash_key = hashlib.sha256(b"cunban-search:" + self.current.secret).digest()

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current.secret).encrypt(nonce, plaintext.encode(), self.current.key_id.encode())
        return f"{self.current.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        key_id, _, encoded = token.partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise ValueError(f"personal data was encrypted with key {key_id!r}, which is not configured")
        raw = base64.b64decode(encoded)
        return AESGCM(key.secret).decrypt(raw[:12], raw[12:], key.key_id.encode()).decode()

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{self.current.key_id}:")

    def reencrypt(self, token: str) -> str:
        """The same value under the current key."""
        return self.encrypt(self.decrypt(token))

    def search_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()

    def contact_check(self, receipt_no: str, secret: str) -> str:
        """A keyed hash that lets another service check what a villager types next to a receipt number
        (the phone's last four digits, or an anonymous complainant's code) without ever learning it."""
        return self.search_hash(f"{receipt_no}:{secret}")


def reencrypt_all(session: Session, metadata: MetaData, vault: PersonalDataVault, batch: int = 500) -> dict[str, int]:
    """Re-encrypt under the current key every personal field (the columns named `*_enc`) still sealed
    with an older key, batch by batch, each batch its own commit; returns how many per column. Safe to
    rerun and to run while the service works (a row written meanwhile is already under the current key)."""
    done: dict[str, int] = {}
    current = f"{vault.current.key_id}:"
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        for column in (c for c in table.columns if c.name.endswith("_enc")):
            count = 0
            while True:
                stale = column.isnot(None) & ~column.startswith(current)
                rows = session.execute(select(*keys, column).where(stale).limit(batch)).all()
                if not rows:
                    break
                for row in rows:
                    match = [k == row[i] for i, k in enumerate(keys)]
                    session.execute(update(table).where(*match).values({column.name: vault.reencrypt(row[-1])}))
                session.commit()
                count += len(rows)
            done[f"{table.name}.{column.name}"] = count
    return done
