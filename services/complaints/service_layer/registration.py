"""Registering complaints (登记): by a township's staff from any channel, or online by a villager (网上信访),
named or anonymous; and the complainant's phone for the messages notifications sends about it."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.domain.complaint import staff_unit
from services.complaints.service_layer.actions import record_history
from services.complaints.service_layer.alerts import watch
from services.complaints.service_layer.reading import view_of
from services.complaints.service_layer.stages import start_clock
from shared.clock import today_in_china
from shared.contracts import complaints as c
from shared.contracts.access import roles_for
from shared.contracts.caller import Caller
from shared.copies import check_occasion, check_station, check_village
from shared.db import DuplicateKey
from shared.errors import Forbidden, ValidationFailed
from shared.idempotency import earlier_use, remember, request_hash
from shared.pii import PersonalDataVault

FILERS = roles_for("complaints.register")  # the access matrix decides
LOOKUP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out over the phone
NETWORK_OF_ONLINE = {c.ComplaintKind.STAFF_CONDUCT: c.Network.SERVICES, c.ComplaintKind.DISPUTE: c.Network.MEDIATION,
                     c.ComplaintKind.PETITION: c.Network.PETITIONS, c.ComplaintKind.SUGGESTION: c.Network.SERVICES}


def register(uow: ComplaintsUnitOfWork, *, caller: Caller, cmd: c.ComplaintRegister, vault: PersonalDataVault,
             now: datetime, idempotency_key: str | None = None) -> c.Registered:
    """登记 from any channel by the township's staff: a receipt number, the assign clock running, the
    event announced (without the complainant), and early warning updated. With an Idempotency-Key a retry
    gets the first registration (with its look-up code), never a second complaint."""
    if caller.role not in FILERS or caller.township_code is None:
        raise Forbidden("complaints are registered by the staff of a township or station", code="not_a_filer")
    digest = request_hash(cmd)
    if idempotency_key is not None and (earlier := _registered_before(uow, caller, idempotency_key, digest, vault,
                                                                      now)):
        return earlier
    township = caller.township_code
    check_village(uow, orm.VillageCopy, cmd.village_code, township)
    check_occasion(uow, orm.OccasionCopy, township, session_id=cmd.session_id, visit_id=cmd.visit_id)
    station_code = caller.station_of_new_record(cmd.station_code)
    if station_code != caller.station_code:  # the filer's own station is known; another one named is checked
        check_station(uow, orm.StationCopy, station_code, township)
    accused_unit = None
    if cmd.accused_staff_id is not None:
        accused = uow.staff.get(cmd.accused_staff_id)
        if accused is None or accused.township_code != township:
            raise ValidationFailed("the staff member complained about is not one of this township's",
                                   [{"field": "accused_staff_id", "message": "unknown staff"}], code="unknown_staff")
        accused_unit = staff_unit(accused.township_code, accused.station_code)
    remembered = None if idempotency_key is None else (idempotency_key, digest)
    try:
        return _register(uow, township=township, kind=cmd.kind, network=cmd.network, category=cmd.category,
                         channel=cmd.channel, village_code=cmd.village_code, description=cmd.description,
                         complainant=cmd.complainant, accused_staff_id=cmd.accused_staff_id, accused_unit=accused_unit,
                         station_code=station_code, session_id=cmd.session_id, visit_id=cmd.visit_id,
                         caller=caller, vault=vault, now=now, remembered=remembered)
    except DuplicateKey:  # the same key raced in from a retry and won
        uow.rollback()
        earlier = _registered_before(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier


def _registered_before(uow: ComplaintsUnitOfWork, caller: Caller, key: str, digest: str, vault: PersonalDataVault,
                       now: datetime) -> c.Registered | None:
    used = earlier_use(uow, orm.IdempotencyKey, caller, key, digest)
    if used is None:
        return None
    row = uow.complaints.get(used.record_id)
    return c.Registered(complaint=view_of(uow, row, caller, vault, today_in_china(now), history=True),
                        lookup_code=vault.decrypt(used.lookup_code_enc) if used.lookup_code_enc else None)


def register_online(uow: ComplaintsUnitOfWork, *, cmd: c.PublicComplaint, vault: PersonalDataVault,
                    now: datetime) -> c.Registered:
    """网上信访: a villager registers themselves, named or anonymous."""
    village = uow.villages.get(cmd.village_code)
    if village is None:
        raise ValidationFailed("unknown village", [{"field": "village_code", "message": "unknown village"}],
                               code="unknown_village")
    return _register(uow, township=village.township_code, kind=cmd.kind, network=NETWORK_OF_ONLINE[cmd.kind],
                     category=cmd.category, channel=c.ComplaintChannel.ONLINE, village_code=cmd.village_code,
                     description=cmd.description, complainant=cmd.complainant, accused_staff_id=None,
                     accused_unit=None, station_code=None, session_id=None, visit_id=None, caller=Caller.public(),
                     vault=vault, now=now)


def _register(uow: ComplaintsUnitOfWork, *, township: str, kind: c.ComplaintKind, network: c.Network,
              category: c.Category, channel: c.ComplaintChannel, village_code: str, description: str,
              complainant: c.Complainant | None, accused_staff_id: int | None, accused_unit: str | None,
              station_code: str | None, session_id: str | None, visit_id: str | None, caller: Caller,
              vault: PersonalDataVault, now: datetime, remembered: tuple[str, str] | None = None) -> c.Registered:
    day = today_in_china(now)
    sequence = uow.receipt_numbers.next_of_day(township, day)
    lookup_code = None if complainant else "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(8))
    row = orm.ComplaintRow(
        id=uuid.uuid4().hex, receipt_no=f"{township}-TS{day:%Y%m%d}-{sequence:04d}", kind=kind.value,
        network=network.value, category=category.value, channel=channel.value, township_code=township,
        village_code=village_code, station_code=station_code, session_id=session_id, visit_id=visit_id,
        description=description, anonymous=complainant is None,
        complainant_name_enc=vault.encrypt(complainant.name) if complainant else None,
        complainant_phone_enc=vault.encrypt(complainant.phone) if complainant else None,
        lookup_code_hash=vault.search_hash(lookup_code) if lookup_code else None,
        accused_staff_id=accused_staff_id, accused_unit=accused_unit, status=c.ComplaintStatus.REGISTERED.value,
        stage_seq=0, reopen_count=0, registered_at=now, registered_by=caller.staff_id)
    uow.complaints.add(row)
    if remembered is not None:
        remember(uow, orm.IdempotencyKey, caller, *remembered, row.id, now,
                 lookup_code_enc=vault.encrypt(lookup_code) if lookup_code else None)
    start_clock(uow, row, c.Stage.ASSIGN, day)
    record_history(uow, row, "register", caller, now, None, note=None, details={"channel": channel.value})
    facts = c.ComplaintFacts(id=row.id, receipt_no=row.receipt_no, kind=kind, network=network, category=category,
                             channel=channel, township_code=township, village_code=village_code,
                             station_code=station_code, session_id=session_id, visit_id=visit_id,
                             accused_staff_id=accused_staff_id, registered_by=caller.staff_id,
                             contact_check=vault.contact_check(row.receipt_no, complainant.phone[-4:] if complainant
                                                               else lookup_code))
    # the event's INSERT writes the complaint and its first history entry first (the session's autoflush)
    uow.record_event("complaint_registered", facts.model_dump(mode="json"), township_code=township, now=now)
    watch(uow, row, day, now)
    uow.commit()
    return c.Registered(complaint=view_of(uow, row, caller, vault, today_in_china(now)), lookup_code=lookup_code)


def notice_contact(uow: ComplaintsUnitOfWork, *, complaint_id: str, vault: PersonalDataVault) -> str | None:
    """The complainant's phone, for the message notifications is about to send (the platform's own caller
    only). None for an anonymous complaint: it has no phone, and its look-up code is never sent."""
    phone_enc = uow.complaints.phone_of(complaint_id)
    return vault.decrypt(phone_enc) if phone_enc else None
