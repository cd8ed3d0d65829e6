"""Complaints use cases, one module per family: registration, actions through the lifecycle, reading
(the inbox, the lists, the public look-up), the stage clocks' sweep and gauges, early warning, and the
county's settings. Each takes the complaints unit of work and asks its repositories for rows; the
service calls them from here, in the contracts' terms (`c`)."""
from services.complaints.service_layer.actions import act
from services.complaints.service_layer.alerts import acknowledge_alert, list_alerts
from services.complaints.service_layer.county_settings import limits, set_limits, set_warning_rule, warning_rule
from services.complaints.service_layer.reading import get, list_complaints, public_progress, waiting_counts
from services.complaints.service_layer.registration import notice_contact, register, register_online
from services.complaints.service_layer.stages import sweep, update_gauges
from shared.contracts import complaints as c

__all__ = ["acknowledge_alert", "act", "c", "get", "limits", "list_alerts", "list_complaints", "notice_contact",
           "public_progress", "register", "register_online", "set_limits", "set_warning_rule", "sweep",
           "update_gauges", "waiting_counts", "warning_rule"]
