"""Every metric follows Prometheus' conventions: one prefix, units in names, `_total` counters, and labels
whose values are bounded (a service, a route template, a township — never an id or a person)."""
from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from shared.observability import metrics

UNBOUNDED = {"id", "staff_id", "username", "user", "receipt_no", "event_id", "correlation_id", "path", "client",
             "phone", "name", "jti", "key"}
UNITS = ("_seconds", "_bytes", "_ratio", "_events")


def _ours():
    return [m for m in vars(metrics).values() if isinstance(m, Counter | Gauge | Histogram)]


def test_names_units_and_labels_follow_the_conventions():
    assert len(_ours()) >= 25
    for metric in _ours():
        name, labels = metric._name, set(metric._labelnames)
        assert name.startswith("cunban_"), name
        assert not labels & UNBOUNDED, (name, labels & UNBOUNDED)
        if isinstance(metric, Histogram):
            assert name.endswith("_seconds"), name  # every histogram here measures time
        if isinstance(metric, Counter):
            exported = {m.name for m in REGISTRY.collect() if m.name == name}
            assert exported, name
            assert not name.endswith("_total"), name  # the client appends _total to the sample
        if isinstance(metric, Gauge) and ("age" in name or "duration" in name):
            assert name.endswith(UNITS), name


def test_the_operations_metrics_the_dashboards_and_alerts_need_exist():
    names = {m._name for m in _ours()}
    for needed in ("cunban_http_request_duration_seconds", "cunban_rpc_client_duration_seconds",
                   "cunban_entrypoint_duration_seconds", "cunban_outbox_backlog_events",
                   "cunban_outbox_oldest_unpublished_age_seconds", "cunban_event_lag_seconds",
                   "cunban_dead_letters_waiting", "cunban_dead_letters", "cunban_applications_overdue",
                   "cunban_complaints_overdue", "cunban_sessions_today", "cunban_early_warnings_open",
                   "cunban_calendar_next_year_missing"):
        assert needed in names, needed
