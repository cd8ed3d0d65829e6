"""What staff are shown of an application: its facts, status, clock, stages and applicant (personal data
in full for those accountable or handling it, masked for everyone else)."""
from __future__ import annotations

from datetime import date
from typing import Any

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from services.intake.domain import model
from shared.contracts import intake as c
from shared.contracts.caller import Caller
from shared.pii import PersonalDataVault, mask_id_card, mask_name, mask_phone


def facts(app: orm.Application) -> dict[str, Any]:
    """What the application is, as filed (shared by the staff view and the application_filed event)."""
    return {name: getattr(app, name) for name in c.ApplicationFacts.model_fields}


def of(uow: IntakeUnitOfWork, apps: list[orm.Application], caller: Caller, vault: PersonalDataVault,
       today: date) -> list[c.ApplicationView]:
    """The views of several applications, their stages and handlers read at once."""
    ids = [a.id for a in apps]
    stages, handlers = uow.applications.stages_of(ids), uow.applications.handlers_of(ids)
    return [one(app, stages[app.id], sorted(handlers[app.id]), caller, vault, today) for app in apps]


def one(app: orm.Application, stages: list[orm.ApplicationStage], handler_ids: list[int], caller: Caller,
        vault: PersonalDataVault, today: date) -> c.ApplicationView:
    full = model.sees_personal_data(caller, app.accountable_staff_id, handler_ids)
    name, phone, id_card = (vault.decrypt(app.applicant_name_enc), vault.decrypt(app.applicant_phone_enc),
                            vault.decrypt(app.applicant_id_card_enc))
    address = vault.decrypt(app.applicant_address_enc) if app.applicant_address_enc else None
    applicant = c.ApplicantView(
        name=name if full else mask_name(name), phone=phone if full else mask_phone(phone),
        id_card=id_card if full else mask_id_card(id_card), village_code=app.village_code,
        address=address if full else None, masked=not full)
    status = c.ApplicationStatus(app.status)
    done = app.completed_at is not None
    return c.ApplicationView(
        **facts(app), status=status, outcome=app.outcome, promised_deadline=app.promised_deadline,
        completed_at=app.completed_at, overdue=model.is_overdue(status, app.promised_deadline, today),
        paused=app.paused_on is not None, paused_on=app.paused_on, awaiting_materials=app.awaiting_materials or [],
        completed_late=done and (app.days_late or 0) > 0, days_late=app.days_late if done else None,
        handler_staff_ids=handler_ids, description=app.description, result_note=app.result_note, applicant=applicant,
        stages=[c.StageView(stage=s.stage, occurred_at=s.occurred_at, actor_staff_id=s.actor_staff_id, note=s.note)
                for s in stages])
