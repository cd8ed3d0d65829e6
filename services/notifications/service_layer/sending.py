"""Messages made and sent: events become messages (one per event, recipient and notice), staff get
theirs in the console, and the sender sends what is due — recorded as `sending` before each provider
call, so a message whose call was cut off is recognised and never sent twice."""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifications.adapters import orm
from services.notifications.adapters.providers import Provider, ProviderFailed, Sms
from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.domain import sending as s
from services.notifications.domain.notices import NOTICES, Audience
from services.notifications.domain.templates import Template, places, segments
from services.notifications.service_layer.county import County, county, template
from shared.clock import CHINA
from shared.divisions import county_of
from shared.observability import metrics
from shared.pii import PersonalDataVault, mask_phone

log = logging.getLogger(__name__)

# ---- events become messages ---------------------------------------------------------------------------

def notify(uow: NotificationsUnitOfWork, *, event_id: str, kind: str, recipient: str, township_code: str,
           values: dict[str, str], now: datetime) -> bool:
    """An SMS to the owner of `recipient` ("application:<id>", "staff:<id>", …), once per (event, recipient,
    notice): a redelivered event finds its message made. It waits for the end of the county's quiet hours
    unless urgent. Its phone is asked for when it is sent."""
    notice = NOTICES[kind]
    where = county(uow, county_of(township_code))
    made = uow.messages.make(send_key=s.send_key(event_id, recipient, kind), event_id=event_id, kind=kind,
                             audience=notice.audience.value, recipient=recipient, county_code=where.code,
                             township_code=township_code, values=values, status=s.Status.WAITING.value,
                             send_after=where.policy.quiet.send_after(now, notice, where.policy.urgent), attempts=0,
                             created_at=now)
    if made:
        metrics.notifications_made.labels(kind, where.code).inc()
    return made


def tell_staff(uow: NotificationsUnitOfWork, *, event_id: str, kind: str, staff_id: int, township_code: str,
               values: dict[str, str], link: str | None, now: datetime) -> None:
    """A notice in the staff member's console inbox, and an SMS too where the county sends staff SMS."""
    notice = NOTICES[kind]
    assert notice.audience is Audience.STAFF
    where = county(uow, county_of(township_code))
    text, _ = template(uow, where, kind)
    recipient = f"staff:{staff_id}"
    uow.staff_notices.make(send_key=s.send_key(event_id, recipient, kind), staff_id=staff_id,
                           township_code=township_code, kind=kind,
                           text=text.render(values).removeprefix(f"【{where.signature}】"), link=link, created_at=now)
    if where.policy.staff_sms:
        notify(uow, event_id=event_id, kind=kind, recipient=recipient, township_code=township_code, values=values,
               now=now)


# ---- sending ------------------------------------------------------------------------------------------

Contacts = Callable[[str], "str | None"]  # a recipient's phone, asked of the service that keeps it
Providers = Callable[[str], Provider]  # a county's provider, by county code (built from its settings)


def due(uow: NotificationsUnitOfWork, *, now: datetime, limit: int = 50) -> list[int]:
    """Messages to send now: waiting and due, or `sending` past their lease (the process sending them died)."""
    ids = uow.messages.due(now, limit)
    uow.rollback()
    return ids


@dataclass
class Round:
    outcomes: list[s.Status | None]  # of each message sent (None: another sender had it)
    next_at: datetime | None  # when the sender should look again (None: nothing waits)


def send_due(uow: NotificationsUnitOfWork, *, contacts: Contacts, providers: Providers, vault: PersonalDataVault,
             clock: Callable[[], datetime], limit: int = 50) -> Round:
    """One round of a sender: what is due now, sent one by one, and when to look again. After a round that
    sent, soon (more may have come due meanwhile, a send may be put back or retried); after one that found
    nothing, when the next waiting message is due (a retry's backoff, the end of quiet hours, a lease).
    Senders side by side (replicas) list the same due messages; each walks them in its own random order, so
    they mostly take different ones instead of queueing behind each other on the same."""
    now = clock()
    ids = due(uow, now=now, limit=limit)
    if not ids:
        next_at = uow.messages.next_due(now)
        uow.rollback()
        return Round([], next_at)
    random.shuffle(ids)
    outcomes = [send(uow, message_id, contacts=contacts, providers=providers, vault=vault, now=clock(),
                     clock=clock) for message_id in ids]
    return Round(outcomes, now if len(ids) == limit else clock() + s.AGAIN_SOON)


def send(uow: NotificationsUnitOfWork, message_id: int, *, contacts: Contacts, providers: Providers,
         vault: PersonalDataVault, now: datetime, clock: Callable[[], datetime]) -> s.Status | None:
    """Send one due message. It is claimed and marked `sending` in a commit of its own before the provider
    is called; what the provider answers is recorded after. A message found `sending` was cut off: where
    the provider keeps our key it is sent again (the provider will not send it twice); elsewhere the
    provider is asked first, and it is sent only if the provider has none. None: another sender has it."""
    row = uow.messages.get(message_id)
    if row is None:
        return None
    cut_off = row.status == s.Status.SENDING.value
    # only a message waiting, or one cut off (its lease over), is ours to take: never one another sender is
    # sending or has sent since `due` listed it
    if not uow.messages.claim(message_id, row.attempts, now):
        return None
    uow.commit()
    try:
        prepared = _prepare(uow, message_id, cut_off=cut_off, contacts=contacts, providers=providers, vault=vault,
                            now=now)
    except Exception:  # the owner of the phone or our database did not answer: nothing reached the provider
        log.warning("sms %s: could not be made ready to send; again in %ss", message_id,
                    s.AGAIN_SOON.total_seconds(), exc_info=True, extra={"service": "notifications"})
        _put_back(uow, message_id, cut_off=cut_off, now=now)
        return None
    if isinstance(prepared, s.Status):
        return prepared
    row, where, provider = prepared.row, prepared.where, prepared.provider
    started = clock()
    try:
        accepted = provider.send(Sms(key=row.send_key, phone=prepared.phone, phone_masked=row.phone_masked,
                                     county_code=row.county_code, signature=where.signature, text=row.text,
                                     template_id=prepared.template_id,
                                     values={name: str(row.values[name]) for name in places(prepared.text.text)}),
                                 now)
    except ProviderFailed as failure:
        metrics.notification_send_latency.labels(provider.name).observe((clock() - started).total_seconds())
        return _failed(uow, row, provider.name, failure, now)
    metrics.notification_send_latency.labels(provider.name).observe((clock() - started).total_seconds())
    return _sent(uow, row, provider.name, accepted.message_id, now)


@dataclass(frozen=True)
class _Ready:
    """A message ready for its provider call."""

    row: orm.MessageRow
    where: County
    provider: Provider
    phone: str
    text: Template
    template_id: str | None


def _prepare(uow: NotificationsUnitOfWork, message_id: int, *, cut_off: bool, contacts: Contacts, providers: Providers,
             vault: PersonalDataVault, now: datetime) -> s.Status | _Ready:
    """A claimed message made ready for its provider call (its phone asked for, the county's rules applied,
    its text rendered and recorded), or what became of it instead (withheld; or, cut off, found sent)."""
    row = uow.messages.get(message_id)
    notice = NOTICES[row.kind]
    where = county(uow, row.county_code)
    provider = providers(where.code)
    if cut_off and s.resuming(provider.idempotent) is s.Resume.ASK_FIRST:
        try:
            found = provider.status(row.send_key)
        except ProviderFailed as failure:  # not known whether the provider has it: never sent blind
            return _unknown(uow, row, provider.name, failure)
        if found is not None:
            return _sent(uow, row, provider.name, found.message_id, now)
    phone = contacts(row.recipient)
    if not phone:
        return _withhold(uow, row, s.Withheld.NO_CONTACT)
    phone_hash = vault.search_hash(phone)
    row.phone_hash, row.phone_masked = phone_hash, mask_phone(phone)
    why = where.policy.withheld(notice, opted_out=_opted_out(uow, phone_hash),
                                sent_today=_sent_today(uow, phone_hash, now))
    if why is not None:
        return _withhold(uow, row, why)
    text, template_id = template(uow, where, row.kind)
    row.text = text.render(row.values)
    row.segments = segments(len(row.text))
    uow.commit()
    return _Ready(row, where, provider, phone, text, template_id)


def _put_back(uow: NotificationsUnitOfWork, message_id: int, *, cut_off: bool, now: datetime) -> None:
    """A claimed message whose send failed before its provider was called goes back as it was, due again
    soon, its attempt not used: `waiting`, or — one that was cut off, whose earlier call may have reached
    the provider — still `sending` with a short lease, so it is resumed as a cut-off send again. If even
    this cannot be written (the database is away), its lease ends it the same way, later."""
    try:
        uow.rollback()
        uow.messages.put_back(message_id, cut_off=cut_off, again_at=now + s.AGAIN_SOON)
        uow.commit()
    except Exception:
        uow.rollback()
        log.warning("sms %s: could not be put back; its lease will end it", message_id,
                    extra={"service": "notifications"})


def _sent(uow: NotificationsUnitOfWork, row: orm.MessageRow, provider: str, message_id: str, now: datetime) -> s.Status:
    row.status, row.provider, row.provider_message_id = s.Status.SENT.value, provider, message_id
    row.sent_at, row.lease_until, row.error = now, None, None
    uow.commit()
    metrics.notifications_sent.labels(row.kind, provider, row.county_code, "sent").inc()
    log.info("sms %s sent to %s", row.kind, row.phone_masked, extra={"service": "notifications"})
    return s.Status.SENT


def _unknown(uow: NotificationsUnitOfWork, row: orm.MessageRow, provider: str, failure: ProviderFailed) -> s.Status:
    """The provider could not say what became of a cut-off send: it stays `sending` and is asked again when
    its lease ends, until its attempts are spent; then it fails (a dead letter for county IT to check)."""
    row.provider, row.error = provider, f"status unknown: {failure}"[:500]
    if row.attempts >= s.ATTEMPTS:
        row.status, row.lease_until = s.Status.FAILED.value, None
        _dead_letter(uow, row)
    uow.commit()
    log.warning("sms %s to %s: could not ask %s whether it was sent: %s", row.kind, row.phone_masked, provider,
                failure, extra={"service": "notifications"})
    return s.Status(row.status)


def _withhold(uow: NotificationsUnitOfWork, row: orm.MessageRow, why: s.Withheld) -> s.Status:
    row.status, row.withheld, row.lease_until = s.Status.WITHHELD.value, why.value, None
    uow.commit()
    metrics.notifications_sent.labels(row.kind, "-", row.county_code, f"withheld_{why.value}").inc()
    return s.Status.WITHHELD


def _failed(uow: NotificationsUnitOfWork, row: orm.MessageRow, provider: str, failure: ProviderFailed,
            now: datetime) -> s.Status:
    row.provider, row.error, row.lease_until = provider, str(failure)[:500], None
    again = s.retry_at(row.attempts, now) if failure.retry else None
    if again is None:
        row.status = s.Status.FAILED.value
        _dead_letter(uow, row)
        outcome = "failed"
        log.error("sms %s to %s failed for good: %s", row.kind, row.phone_masked, failure,
                  extra={"service": "notifications"})
    else:
        row.status, row.send_after = s.Status.WAITING.value, again
        outcome = "retried"
        log.warning("sms %s to %s failed; again at %s: %s", row.kind, row.phone_masked, again, failure,
                    extra={"service": "notifications"})
    uow.commit()
    metrics.notifications_sent.labels(row.kind, provider, row.county_code, outcome).inc()
    return s.Status(row.status)


SEND_AGAIN = "notifications.send_again"  # the handler a failed SMS's dead letter is replayed through


def _dead_letter(uow: NotificationsUnitOfWork, row: orm.MessageRow) -> None:
    """An SMS that failed for good is kept as a dead letter beside the events that failed, so county IT
    sees it where it sees them and, once the provider is put right, replays it (`send_again`)."""
    uow.keep_dead_letter(SEND_AGAIN, {"event_id": row.send_key, "type": f"sms_{row.kind}"[:80],
                                      "payload": {"message_id": row.id}}, row.error or "failed", row.attempts)
    metrics.dead_letters_total.labels("notifications", f"sms_{row.kind}").inc()


def send_again(uow: NotificationsUnitOfWork, message_id: int, *, now: datetime) -> bool:
    """A failed SMS replayed from its dead letter: waiting again, due now, with all its attempts. False when
    it is not failed (already sent again): nothing changes."""
    again = uow.messages.wait_again(message_id, now)
    uow.commit()
    return again


def _opted_out(uow: NotificationsUnitOfWork, phone_hash: str) -> bool:
    return uow.opt_outs.has(phone_hash)


def _sent_today(uow: NotificationsUnitOfWork, phone_hash: str, now: datetime) -> int:
    local = now.astimezone(CHINA)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return uow.messages.sent_to(phone_hash, midnight, midnight + timedelta(days=1))


def update_gauges(uow: NotificationsUnitOfWork, *, now: datetime) -> None:
    """The queue as ops see it: per county, how many messages are due and not sent, and how long the
    oldest has waited (a provider that is down or throttling shows as a growing queue)."""
    rows = uow.messages.waiting_per_county(now)
    uow.rollback()
    seen = set()
    for county_code, waiting, oldest in rows:
        seen.add(county_code)
        if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        metrics.notifications_waiting.labels(county_code).set(waiting)
        metrics.notifications_oldest_age.labels(county_code).set(max(0.0, (now - oldest).total_seconds()))
    for county_code in _gauged - seen:  # a county whose queue emptied reads 0, not its last value
        metrics.notifications_waiting.labels(county_code).set(0)
        metrics.notifications_oldest_age.labels(county_code).set(0)
    _gauged.update(seen)


_gauged: set[str] = set()
