"""Visit use cases 下访, gathered under the one name the service calls them by: campaigns 专题
(campaigns.py), one-off visits planned, read, cancelled and reported, with their slots and reminders
(visit_planning.py), series of periodic and fixed-point visits (visit_series.py), the records raised on
a visit (linked_records.py), and the public calendar of upcoming posts and visits (public_calendar.py)."""
from __future__ import annotations

from services.scheduling.service_layer.campaigns import create_campaign, list_campaigns
from services.scheduling.service_layer.linked_records import at_an_occasion, link_record
from services.scheduling.service_layer.public_calendar import public_calendar
from services.scheduling.service_layer.visit_planning import (
    cancel_visit,
    create_visit_slots,
    get_visit,
    list_visit_bookings,
    list_visit_slots,
    list_visits,
    plan_visit,
    report_visit,
    send_visit_reminders,
    visit_view,
)
from services.scheduling.service_layer.visit_series import change_series, create_series
from shared.contracts.scheduling import DateRange

__all__ = [
    "DateRange", "at_an_occasion", "cancel_visit", "change_series", "create_campaign", "create_series",
    "create_visit_slots", "get_visit", "link_record", "list_campaigns", "list_visit_bookings", "list_visit_slots",
    "list_visits", "plan_visit", "public_calendar", "report_visit", "send_visit_reminders", "visit_view",
]
