"""A county's SMS template: its text with `${variable}` places, checked when saved (only the variables
its notice has, and how many SMS segments the longest message makes) and filled in to send.

Segments: an SMS with any Chinese character carries 70 characters; a longer one is sent in parts of
67 (the rest of each part holds the joining header). The signature 【签名】 counts like the text."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from services.notifications.domain.notices import NOTICES, VARIABLES, Notice
from shared.errors import ValidationFailed

PLACE = re.compile(r"\$\{([^{}]*)\}")
ONE_SEGMENT = 70
PER_SEGMENT = 67
MAX_SEGMENTS = 3  # a county may not save a template whose longest message needs more
SIGNATURE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{2,12}$")  # the providers' rule for a 签名


def segments(length: int) -> int:
    """How many SMS a message of `length` characters is sent as."""
    return 1 if length <= ONE_SEGMENT else math.ceil(length / PER_SEGMENT)


def places(text: str) -> list[str]:
    """The variables a template uses, in order of first use."""
    seen: list[str] = []
    for name in PLACE.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


def signed(signature: str, text: str) -> str:
    return f"【{signature}】{text}"


@dataclass(frozen=True)
class Template:
    kind: str
    signature: str
    text: str

    @property
    def notice(self) -> Notice:
        return NOTICES[self.kind]

    def longest(self) -> int:
        """Characters of the longest message it can make: every variable at its longest, signature included."""
        filled = PLACE.sub(lambda m: "x" * VARIABLES[m.group(1)].longest, self.text)
        return len(signed(self.signature, filled))

    def render(self, values: dict[str, str]) -> str:
        """The message as sent, signature first. Every variable the text uses must have a value."""
        missing = [name for name in places(self.text) if not values.get(name)]
        if missing:
            raise ValidationFailed("a template variable has no value",
                                   [{"field": name, "message": "no value"} for name in missing],
                                   code="template_value_missing")
        return signed(self.signature, PLACE.sub(lambda m: str(values[m.group(1)]), self.text))


def checked(kind: str, signature: str, text: str) -> Template:
    """A template a county may save for `kind`, or ValidationFailed naming every problem at once."""
    problems: list[dict[str, str]] = []
    notice = NOTICES.get(kind)
    if notice is None:
        raise ValidationFailed(f"no notice is called {kind!r}", [{"field": "kind", "message": "unknown notice"}],
                               code="notice_unknown")
    if not SIGNATURE.match(signature):
        problems.append({"field": "signature", "message": "2 to 12 Chinese characters, letters or digits"})
    if not text.strip():
        problems.append({"field": "text", "message": "empty"})
    if "$" in PLACE.sub("", text) or "{" in PLACE.sub("", text):
        problems.append({"field": "text", "message": "a variable is written ${name}"})
    unknown = [name for name in places(text) if name not in notice.variables]
    for name in unknown:
        problems.append({"field": "text", "message": f"${{{name}}} is not a variable of {kind}; it has "
                                                     + ", ".join(notice.variables)})
    if problems:
        raise ValidationFailed("the template cannot be used", problems, code="template_invalid")
    template = Template(kind=kind, signature=signature, text=text)
    longest = template.longest()
    if segments(longest) > MAX_SEGMENTS:
        raise ValidationFailed(
            f"its longest message is {longest} characters, {segments(longest)} SMS; at most {MAX_SEGMENTS}",
            [{"field": "text", "message": f"{longest} characters"}], code="template_too_long")
    return template


def default_template(kind: str, signature: str) -> Template:
    return Template(kind=kind, signature=signature, text=NOTICES[kind].text)


def sample_values(kind: str) -> dict[str, str]:
    return {name: VARIABLES[name].sample for name in NOTICES[kind].variables}
