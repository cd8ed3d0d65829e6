"""Metrics, and the correlation id (kept by shared/logs.py, which writes the JSON logs) carried into each
worker: it ties an HTTP request to its RPCs and events."""
from __future__ import annotations

import contextvars
import logging
import time
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram

from shared.logs import correlation_id
from shared.settings import get_settings

log = logging.getLogger(__name__)


LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _Metrics:
    """Every metric the platform exports, in one registry (the process default)."""

    def __init__(self) -> None:
        self.entrypoint_calls = Counter(
            "cunban_entrypoint_calls_total", "Service entrypoint calls by outcome",
            ["service", "entrypoint", "outcome"])
        self.entrypoint_latency = Histogram(
            "cunban_entrypoint_duration_seconds", "Service entrypoint latency",
            ["service", "entrypoint"], buckets=LATENCY_BUCKETS)
        self.entrypoint_errors = Counter(
            "cunban_entrypoint_errors_total", "Service entrypoint errors by stable error code",
            ["service", "entrypoint", "code"])
        self.outbox_backlog = Gauge(
            "cunban_outbox_backlog_events", "Committed events not yet published", ["service"])
        self.outbox_oldest_age = Gauge(
            "cunban_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished event",
            ["service"])
        self.events_published = Counter(
            "cunban_events_published_total", "Events published by the outbox relay", ["service", "type"])
        self.events_consumed = Counter(
            "cunban_events_consumed_total", "Events handled, applied or recognised as duplicates",
            ["service", "type", "outcome"])
        self.event_lag = Histogram(
            "cunban_event_lag_seconds", "From an event's occurrence to its handler applying it (consumer lag)",
            ["service", "type"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
        self.event_batch_size = Histogram(
            "cunban_event_batch_size_events",
            "Events one handler's worker was handed together (applied in one transaction)",
            ["service", "type"], buckets=(1, 2, 4, 8, 16, 32))
        self.dead_letters = Gauge(
            "cunban_dead_letters_waiting", "Events kept as dead letters, not yet replayed", ["service"])
        self.dead_letters_total = Counter(
            "cunban_dead_letters_total", "Events that became dead letters", ["service", "type"])
        self.notifications_made = Counter(
            "cunban_notifications_made_total", "SMS messages made from events (once per event, recipient, notice)",
            ["kind", "county"])
        self.notifications_sent = Counter(
            "cunban_notifications_sent_total", "SMS send attempts by outcome (sent, retried, failed, withheld_…)",
            ["kind", "provider", "county", "outcome"])
        self.notification_send_latency = Histogram(
            "cunban_notification_send_seconds", "One provider call", ["provider"], buckets=LATENCY_BUCKETS)
        self.notifications_waiting = Gauge(
            "cunban_notifications_waiting", "SMS messages due and not yet sent", ["county"])
        self.notifications_oldest_age = Gauge(
            "cunban_notifications_oldest_due_age_seconds", "How long the oldest due SMS has waited", ["county"])
        self.http_requests = Counter(
            "cunban_http_requests_total", "Gateway requests", ["method", "route", "status"])
        self.http_latency = Histogram(
            "cunban_http_request_duration_seconds", "Gateway request latency", ["method", "route"],
            buckets=LATENCY_BUCKETS)
        self.rpc_client_latency = Histogram(
            "cunban_rpc_client_duration_seconds", "Gateway RPC round trips", ["service", "outcome"],
            buckets=LATENCY_BUCKETS)
        self.results_undelivered = Counter(
            "cunban_results_undelivered_total",
            "Requests and events handled whose reply or acknowledgement the broker could not take", ["service"])
        self.requests_answered_again = Counter(
            "cunban_rpc_requests_answered_again_total",
            "RPC requests handed out again after their write committed, answered with the first answer", ["service"])
        self.gateway_events_failed = Counter(
            "cunban_gateway_events_failed_total",
            "Failed publishes of gateway events (audit entries); the entries stay spooled and go again",
            ["type"])
        self.rate_limited = Counter(
            "cunban_http_rate_limited_total", "Requests refused by a rate limit", ["limit"])
        self.applications_open = Gauge(
            "cunban_applications_open", "Applications in approval, not yet completed", ["township"])
        self.applications_warned = Gauge(
            "cunban_applications_warned", "Open applications past the warning share of a limit", ["township"])
        self.applications_overdue = Gauge(
            "cunban_applications_overdue", "Open applications past a step or overall limit", ["township"])
        self.complaints_open = Gauge(
            "cunban_complaints_open", "Complaints not yet closed", ["township"])
        self.complaints_warned = Gauge(
            "cunban_complaints_warned", "Open complaints past the warning share of their stage's limit",
            ["township"])
        self.complaints_overdue = Gauge(
            "cunban_complaints_overdue", "Open complaints past their stage's limit", ["township"])
        self.sessions_today = Gauge(
            "cunban_sessions_today", "Market-day sessions 便民服务岗 held today", ["township"])
        self.visits_today = Gauge(
            "cunban_visits_today", "Cadre visits 下访 planned for today", ["township"])
        self.early_warnings_open = Gauge(
            "cunban_early_warnings_open", "Early-warning alerts 苗头性问题 not yet acknowledged", ["township"])
        self.township_completion_ratio = Gauge(
            "cunban_township_completion_ratio", "办结率 this year: applications completed / received", ["township"])
        self.township_on_time_ratio = Gauge(
            "cunban_township_on_time_ratio", "承诺期限兑现率 this year: completed on time / completed", ["township"])
        self.township_satisfaction_ratio = Gauge(
            "cunban_township_satisfaction_ratio", "群众满意率 this year: satisfied ratings / ratings", ["township"])
        self.township_year_count = Gauge(
            "cunban_township_year_count", "This year so far per township: applications received and completed, "
            "complaints registered", ["township", "metric"])
        self.calendar_next_year_missing = Gauge(
            "cunban_calendar_next_year_missing", "1 while next year's official working-day calendar is not loaded "
            "(from the official data, or declared complete by the county)", ["county"])
        self.calendar_next_year_days_left = Gauge(
            "cunban_calendar_next_year_days_left", "Days until next year starts (China time)", ["county"])
        self.calendar_this_year_missing = Gauge(
            "cunban_calendar_this_year_missing", "1 while the year under way has no complete official working-day "
            "calendar", ["county"])


metrics = _Metrics()

class Observed(DependencyProvider):
    """Counts and times every entrypoint and carries the caller's correlation id into the worker's logs."""

    def setup(self) -> None:
        self.service = self.container.service_name
        self.slow_seconds = get_settings().slow_seconds
        self._started: dict[Any, tuple[float, contextvars.Token[str | None]]] = {}

    def get_dependency(self, worker_ctx: Any) -> None:
        return None

    def worker_setup(self, worker_ctx: Any) -> None:
        token = correlation_id.set(worker_ctx.data.get("correlation_id"))
        self._started[worker_ctx] = (time.perf_counter(), token)

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint.method_name
        elapsed = time.perf_counter() - started[0]
        metrics.entrypoint_latency.labels(self.service, entrypoint).observe(elapsed)
        if elapsed >= self.slow_seconds:
            log.warning("slow handler %s.%s: %.0f ms", self.service, entrypoint, elapsed * 1000,
                        extra={"service": self.service, "entrypoint": entrypoint, "elapsed_ms": round(elapsed * 1000)})
        outcome = "ok" if exc_info is None else "error"
        metrics.entrypoint_calls.labels(self.service, entrypoint, outcome).inc()
        if exc_info is not None:
            code = getattr(exc_info[1], "code", "unexpected")
            metrics.entrypoint_errors.labels(self.service, entrypoint, code).inc()
        correlation_id.reset(started[1])
