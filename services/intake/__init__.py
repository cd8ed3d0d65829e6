"""Intake: applications with receipt numbers and first-contact responsibility, consultations, service
activities and practical deeds, and the public progress look-up."""
