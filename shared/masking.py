"""Masking personal data for display and for logs: a field known to hold it is masked whole; free text only
where a mobile or ID-card number stands alone, never inside an id (a correlation id, a receipt number, a
UUID or any hex) that a person must be able to quote back and find. Standard library only: logging uses it
before a process has chosen its event loop."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def mask_id_card(number: str) -> str:
    return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else "*" * len(number)


def mask_phone(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) >= 8 else "*" * len(number)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳小明 → 欧***: the family name stays so staff can address the person."""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*"


# A number stands alone when no letter, digit, "_" or "-" touches it: "电话13812345678" and "tel:13812345678"
# are a phone; "abcd13912345678ef", "d706460c…" and "431099101-20261128-0001" are ids.
_ALONE_BEFORE = r"(?<![0-9A-Za-z_\-])"
_ALONE_AFTER = r"(?![0-9A-Za-z_\-])"
_ID_CARD = re.compile(_ALONE_BEFORE + r"\d{17}[\dXx]" + _ALONE_AFTER)
_MOBILE = re.compile(_ALONE_BEFORE + r"1[3-9]\d{9}" + _ALONE_AFTER)

# fields that hold personal data, whatever their value looks like
PERSONAL_FIELDS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone, "mobile": mask_phone, "contact_phone": mask_phone,
    "id_card": mask_id_card, "id_number": mask_id_card,
    "name": mask_name, "full_name": mask_name, "applicant_name": mask_name,
}


# the password of a URL ("amqp://user:password@host"): nameko masks only the first of a broker's node list
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s;,]*:)[^@\s;,/]+@")


def mask_text(text: str) -> str:
    """Mask the mobile and ID-card numbers standing alone in free text, and every password in a URL."""
    text = _URL_PASSWORD.sub(r"\1********@", text)
    text = _ID_CARD.sub(lambda m: mask_id_card(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_fields(value: Any) -> Any:
    """A structure with every personal field masked whole (nested too) and free text masked where a number
    stands alone; numbers and other values as they are."""
    if isinstance(value, dict):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_fields(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_field(key: Any, value: Any) -> Any:
    mask = PERSONAL_FIELDS.get(key) if isinstance(key, str) else None
    if mask is not None and isinstance(value, str | int):
        return mask(str(value))
    return mask_fields(value)
