"""When and whether an SMS goes out: the key that makes each (event, recipient, notice) one message, a
county's quiet hours, the daily cap per phone, 退订 (opt-out), retries with backoff, and what to do with a
message whose provider call was cut off. Pure: the caller passes `now` and what is stored."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from services.notifications.domain.notices import Notice
from shared.clock import CHINA


class Status(StrEnum):
    WAITING = "waiting"  # to be sent at `send_after` (quiet hours, a retry's backoff)
    SENDING = "sending"  # handed to the provider; recorded before the call, so a crash leaves it here
    SENT = "sent"  # the provider took it (its message id kept)
    DELIVERED = "delivered"  # the provider's delivery report said it arrived
    UNDELIVERED = "undelivered"  # the delivery report said it did not (a wrong or switched-off number)
    FAILED = "failed"  # every attempt failed: a dead letter, shown to county IT
    WITHHELD = "withheld"  # never sent, and why: the number opted out, the day's cap, no phone


class Withheld(StrEnum):
    OPTED_OUT = "opted_out"
    DAILY_CAP = "daily_cap"
    NO_CONTACT = "no_contact"  # the owner of the record has no phone for it (or the complainant is anonymous)
    SMS_OFF = "sms_off"  # the county sends this audience no SMS (staff read theirs in the console)


OPEN = frozenset({Status.WAITING, Status.SENDING})


def send_key(event_id: str, recipient: str, kind: str) -> str:
    """One message per (event, recipient, notice), however often the event comes: the unique key of the
    send record, and the idempotency key handed to providers that take one."""
    return hashlib.sha256(f"{event_id}|{recipient}|{kind}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class QuietHours:
    """No SMS from `start` to `end` (China time) except urgent notices; what waits goes at `end`."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def is_quiet(self, now: datetime) -> bool:
        local = now.astimezone(CHINA).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def send_after(self, now: datetime, notice: Notice, urgent: frozenset[str] = frozenset()) -> datetime:
        """When a message made now may go: now, or the end of the quiet hours it falls in."""
        if notice.urgent or notice.kind in urgent or not self.is_quiet(now):
            return now
        local = now.astimezone(CHINA)
        morning = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if morning <= local:
            morning += timedelta(days=1)
        return morning


@dataclass(frozen=True)
class Policy:
    """A county's sending rules."""

    quiet: QuietHours = QuietHours()
    daily_cap: int = 10  # SMS to one phone in one China day; notices the law requires are not held back
    urgent: frozenset[str] = frozenset()  # notices the county sends in quiet hours too, beyond the urgent ones
    staff_sms: bool = False  # staff get SMS too, not only the console

    def withheld(self, notice: Notice, *, opted_out: bool, sent_today: int) -> Withheld | None:
        """Why a message may not go to this phone now, or None."""
        if opted_out and not notice.required:
            return Withheld.OPTED_OUT
        if sent_today >= self.daily_cap and not notice.required:
            return Withheld.DAILY_CAP
        return None


ATTEMPTS = 5  # provider calls before a message is failed (a dead letter)
FIRST_RETRY = timedelta(seconds=30)  # then ×4: 30 s, 2 min, 8 min, 32 min
# a message `sending` longer than this was cut off (the process died): well beyond the longest a send can
# take (the owner's contact RPC and the provider call each time out after 10 s)
LEASE = timedelta(seconds=60)
AGAIN_SOON = timedelta(seconds=5)  # a send that failed on our side before the provider was called


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """After `attempts` failed calls: when to try again, or None when it has failed for good."""
    if attempts >= ATTEMPTS:
        return None
    return now + FIRST_RETRY * 4 ** (attempts - 1)


class Resume(StrEnum):
    """What to do with a message found `sending` past its lease: the provider may or may not have it."""

    SEND_AGAIN = "send_again"  # the provider keeps our key and will not send it twice
    ASK_FIRST = "ask_first"  # ask the provider what became of it, and send only if it has none


def resuming(provider_idempotent: bool) -> Resume:
    return Resume.SEND_AGAIN if provider_idempotent else Resume.ASK_FIRST
