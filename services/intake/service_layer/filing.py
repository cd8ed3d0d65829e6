"""Filing an application: the checks, the receipt number and the promised deadline on the receipt, and a
retried filing (the same Idempotency-Key) answered with the first result."""
from __future__ import annotations

import uuid
from datetime import datetime

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from services.intake.domain import model
from services.intake.service_layer import views
from shared.clock import today_in_china
from shared.contracts import intake as c
from shared.contracts.approvals import Outcome, ProgressStage
from shared.contracts.caller import Caller
from shared.contracts.directory import ItemKind
from shared.copies import check_occasion, check_village, working_calendar
from shared.db import DuplicateKey
from shared.divisions import county_of
from shared.errors import CunbanError, ValidationFailed
from shared.idempotency import earlier_use, remember, request_hash
from shared.pii import PersonalDataVault


def file_application(uow: IntakeUnitOfWork, *, caller: Caller, cmd: c.ApplicationFile, idempotency_key: str | None,
                     vault: PersonalDataVault, now: datetime) -> c.ApplicationView:
    township = model.require_filer(caller)
    digest = request_hash(cmd)
    # a retry (same Idempotency-Key) is rare: it is not looked for first, but found when its key collides
    # at the INSERTs below, or when the checks refuse what they accepted the first time
    try:
        item = _item(uow, township, cmd.item_code)
        check_village(uow, orm.VillageCopy, cmd.applicant.village_code, township, field="applicant.village_code")
        station_code = station_in_township(uow, caller.station_of_new_record(cmd.station_code), township)
        check_occasion(uow, orm.OccasionCopy, township, session_id=cmd.session_id, visit_id=cmd.visit_id)
        model.check_item_can_be_filed(item_status=item.status, item_kind=ItemKind(item.kind),
                                      complete_now=cmd.complete_now, required=item.required_materials,
                                      provided=cmd.materials_provided)
    except CunbanError:
        earlier = _replay(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier
    day = today_in_china(now)
    app = orm.Application(
        id=uuid.uuid4().hex, township_code=township, station_code=station_code,
        village_code=cmd.applicant.village_code, item_code=item.code, item_name=item.name, item_kind=item.kind,
        handling_level=item.handling_level, promised_days=item.promised_days, channel=cmd.channel.value,
        session_id=cmd.session_id, visit_id=cmd.visit_id, status=c.ApplicationStatus.RECEIVED.value, filed_at=now,
        accountable_staff_id=caller.staff_id, materials_provided=cmd.materials_provided,
        description=cmd.description, applicant_name_enc=vault.encrypt(cmd.applicant.name),
        applicant_phone_enc=vault.encrypt(cmd.applicant.phone),
        applicant_id_card_enc=vault.encrypt(cmd.applicant.id_card),
        applicant_address_enc=vault.encrypt(cmd.applicant.address) if cmd.applicant.address else None,
        applicant_id_hash=vault.search_hash(cmd.applicant.id_card))
    stages = [orm.ApplicationStage(application_id=app.id, stage=model.RECEIVED_STAGE, occurred_at=now,
                                   actor_staff_id=caller.staff_id)]
    if cmd.complete_now:
        app.status, app.outcome, app.completed_at = c.ApplicationStatus.COMPLETED.value, Outcome.APPROVED.value, now
        app.promised_deadline, app.result_note, app.days_late = day, cmd.result_note, 0
        stages.append(orm.ApplicationStage(application_id=app.id, stage=ProgressStage.COMPLETED.value,
                                           occurred_at=now, actor_staff_id=caller.staff_id, note=cmd.result_note))
    else:  # the clock starts at filing: the receipt carries the deadline (approvals' clock keeps it after)
        calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(township), after=day)
        app.promised_deadline = model.promised_deadline(calendar, day, item.promised_days)
    # the number holds the township's counter row until the commit (filings of a township take turns on
    # it): everything that does not need the number is built before it is taken
    app.receipt_no = model.format_receipt(township, day, uow.receipt_counters.next_number(township, day))
    try:  # the key's primary key stops a racing retry at its INSERT or the commit
        uow.applications.add(app, stages)
        if idempotency_key is not None:
            remember(uow, orm.IdempotencyKey, caller, idempotency_key, digest, app.id, now)
        _announce_filing(uow, app, item.required_materials,
                         vault.contact_check(app.receipt_no, cmd.applicant.phone[-4:]), now)
        view = views.one(app, stages, [], caller, vault, day)  # what is being written: no need to read it back
        uow.commit(answer=view)
    except DuplicateKey:
        uow.rollback()
        earlier = _replay(uow, caller, idempotency_key, digest, vault, now) if idempotency_key else None
        if earlier is None:
            raise
        return earlier  # the same key raced in from a retry and won
    return view


def _announce_filing(uow: IntakeUnitOfWork, app: orm.Application, required: list[str], contact_check: str,
                     now: datetime) -> None:
    filed = c.ApplicationFiled(**views.facts(app), required_materials=required,
                               completed_on_the_spot=app.completed_at is not None, contact_check=contact_check)
    # not even as null: the previous release's consumers refuse the key (it is sent from the next release on)
    uow.record_event("application_filed", filed.model_dump(mode="json", exclude={"promised_deadline"}),
                     township_code=app.township_code, now=now)
    if app.completed_at is not None:
        done = c.ApplicationCompletedOnTheSpot(id=app.id, receipt_no=app.receipt_no, township_code=app.township_code,
                                               item_code=app.item_code, completed_at=app.completed_at,
                                               accountable_staff_id=app.accountable_staff_id,
                                               outcome=Outcome.APPROVED)
        uow.record_event("application_completed_on_the_spot", done.model_dump(mode="json"),
                         township_code=app.township_code, now=now)


def _replay(uow: IntakeUnitOfWork, caller: Caller, key: str, digest: str, vault: PersonalDataVault,
            now: datetime) -> c.ApplicationView | None:
    """A retried filing (same Idempotency-Key) gets the first result, never a second application."""
    used = earlier_use(uow, orm.IdempotencyKey, caller, key, digest)
    if used is None:
        return None
    return views.of(uow, [uow.applications.get(used.record_id)], caller, vault, today_in_china(now))[0]


def _item(uow: IntakeUnitOfWork, township: str, code: str) -> orm.CatalogueItemCopy:
    item = uow.copy(orm.CatalogueItemCopy, (township, code))
    if item is None:
        raise ValidationFailed(f"no catalogue item {code} in this township",
                               [{"field": "item_code", "message": "unknown item"}], code="unknown_item")
    return item


def station_in_township(uow: IntakeUnitOfWork, station_code: str | None, township: str) -> str | None:
    """The station a record is made at, which must be one of the township's."""
    if station_code is None:
        return None
    station = uow.copy(orm.StationCopy, station_code)
    if station is None or station.township_code != township:
        raise ValidationFailed("the station is not in this township",
                               [{"field": "station_code", "message": "not a station of your township"}],
                               code="station_outside_township")
    return station_code

