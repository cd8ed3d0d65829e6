"""What approvals tells intake of an application after its filing: its progress (the stages the look-up and
the lists show) and its clock (the promised deadline, a pause, the days it was late)."""
from __future__ import annotations

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from services.intake.domain import model
from shared.contracts.approvals import ApplicationClock, ApplicationProgressed, ProgressStage


def apply_progress(uow: IntakeUnitOfWork, *, progress: ApplicationProgressed) -> bool:
    """Keep the look-up and the lists current. False when the application is not known here."""
    app = uow.applications.get(progress.application_id)
    if app is None:
        return False
    note = progress.reason or progress.step_name or ("、".join(progress.missing_materials) or None)
    uow.applications.add_stage(orm.ApplicationStage(
        application_id=app.id, stage=progress.stage.value, occurred_at=progress.occurred_at,
        actor_staff_id=progress.actor_staff_id, note=note))
    actor = progress.actor_staff_id
    if actor is not None and actor != app.accountable_staff_id:
        uow.applications.add_handler(app.id, actor, progress.occurred_at)
    if progress.promised_deadline is not None and app.clock_seq is None:  # approvals' clock is the better source
        app.promised_deadline = progress.promised_deadline
    if progress.stage is ProgressStage.COMPLETED:
        app.outcome, app.completed_at = progress.outcome and progress.outcome.value, progress.occurred_at
        app.result_note = progress.reason or app.result_note  # 办结's result, in the handler's words
    app.status = model.current_status(uow.applications.stage_history(app.id)).value
    return True


def apply_clock(uow: IntakeUnitOfWork, *, clock: ApplicationClock) -> bool:
    """Approvals' count of the promised deadline, from the filing on: the deadline (None while a 补正 holds
    the clock), the pause and the materials it waits for, and at 办结 the working days it was late. The
    newest by `seq` wins, whatever order the events arrive in (so the same event twice changes nothing).
    False when the application is not known here."""
    return uow.applications.set_clock(clock)
