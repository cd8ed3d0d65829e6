"""Approvals: the workflow of every application, its promised limits in working days, 补正 pauses,
warnings, overdue supervision 督办 and accountability 责任追究."""
