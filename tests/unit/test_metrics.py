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
            assert name.endswith(("_seconds", "_events")), name  # a histogram measures time, or events at once
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


def test_a_slow_handler_is_logged_with_its_duration(caplog):
    import time
    from types import SimpleNamespace

    from shared.observability import Observed

    observed = Observed()
    observed.container = SimpleNamespace(service_name="intake")
    observed.setup()
    assert observed.slow_seconds == 1.0  # the default threshold
    observed.slow_seconds = 0.02
    class Worker:  # what the provider reads of nameko's WorkerContext
        data = {"correlation_id": "c-1"}
        entrypoint = SimpleNamespace(method_name="file_application")

    for pause in (0.0, 0.03):
        ctx = Worker()
        observed.worker_setup(ctx)
        time.sleep(pause)
        with caplog.at_level("INFO", logger="shared.observability"):
            observed.worker_result(ctx)
    slow = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(slow) == 1 and slow[0].getMessage().startswith("slow handler intake.file_application: ")
    assert slow[0].elapsed_ms >= 30 and slow[0].entrypoint == "file_application"
