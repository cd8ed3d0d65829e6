"""Approvals use cases, gathered under the one name the service calls them by. Each family lives in its
own module: opening (a case for each filed application, and its clock, limits and inbox kept in step),
actions (staff actions on a case), reading (a case, the inbox, the counts and notices), sweep (warnings,
督办 and 责任追究, the re-derivation after a calendar change, the gauges) and from_directory (workflows
and the calendar kept as read models). Each takes the approvals unit of work and asks its repositories."""
from __future__ import annotations

from services.approvals.service_layer.actions import act
from services.approvals.service_layer.from_directory import keep_workflow, note_calendar_change
from services.approvals.service_layer.opening import open_case
from services.approvals.service_layer.reading import case_view, counts, get_case, inbox, notices
from services.approvals.service_layer.sweep import responsible, sweep, update_gauges
from shared.contracts import approvals as c

__all__ = ["act", "c", "case_view", "counts", "get_case", "inbox", "keep_workflow", "note_calendar_change",
           "notices", "open_case", "responsible", "sweep", "update_gauges"]
