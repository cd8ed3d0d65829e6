"""The Grafana dashboards, written as data: `python deploy/grafana/dashboards.py` writes the JSON model
files Grafana provisions from deploy/grafana/dashboards/. tests/e2e/test_operations.py checks the files
are this script's output and runs every panel's query against a real Prometheus scraping the system."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "cunban-prometheus"}
HERE = Path(__file__).resolve().parent


def panel(title: str, exprs: list[tuple[str, str]], *, kind: str = "timeseries", unit: str = "short",
          width: int = 12, description: str = "") -> dict[str, Any]:
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {},
            "gridPos": {"w": width, "h": 8},
            "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
                        for i, (expr, legend) in enumerate(exprs)]}


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]] = ()) -> dict:
    x = y = 0
    for number, p in enumerate(panels, start=1):  # lay the panels out left to right, row by row
        if x + p["gridPos"]["w"] > 24:
            x, y = 0, y + 8
        p["id"], p["gridPos"]["x"], p["gridPos"]["y"] = number, x, y
        x += p["gridPos"]["w"]
    return {"uid": uid, "title": title, "tags": ["cunban"], "timezone": "browser", "schemaVersion": 39,
            "version": 1, "editable": False, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": list(variables)}, "panels": panels}


TOWNSHIP = {"name": "township", "label": "乡镇 township", "type": "query", "datasource": DATASOURCE,
            "query": {"query": "label_values(cunban_applications_open, township)", "refId": "township"},
            "definition": "label_values(cunban_applications_open, township)", "includeAll": True, "multi": True,
            "current": {"text": "All", "value": "$__all"}, "refresh": 2}

SYSTEM = dashboard("cunban-system", "cunban · system overview", [
    panel("Requests per second by route", [("sum by (route) (rate(cunban_http_requests_total[5m]))", "{{route}}")],
          unit="reqps"),
    panel("Gateway 5xx ratio", [('sum(rate(cunban_http_requests_total{status=~"5.."}[5m])) '
                                 "/ sum(rate(cunban_http_requests_total[5m]))", "5xx")], unit="percentunit"),
    panel("Gateway latency p99 by route", [
        ("histogram_quantile(0.99, sum by (le, route) (rate(cunban_http_request_duration_seconds_bucket[5m])))",
         "{{route}}")], unit="s"),
    panel("Entrypoint latency p95 by service", [
        ("histogram_quantile(0.95, sum by (le, service) (rate(cunban_entrypoint_duration_seconds_bucket[5m])))",
         "{{service}}")], unit="s"),
    panel("RPC round trips p99 by target service", [
        ("histogram_quantile(0.99, sum by (le, service) (rate(cunban_rpc_client_duration_seconds_bucket[5m])))",
         "{{service}}")], unit="s"),
    panel("Entrypoint errors by code", [("sum by (service, code) (rate(cunban_entrypoint_errors_total[5m]))",
                                         "{{service}} {{code}}")], unit="ops"),
    panel("Outbox backlog", [("sum by (service) (cunban_outbox_backlog_events)", "{{service}}")], width=8),
    panel("Oldest unpublished event", [("max by (service) (cunban_outbox_oldest_unpublished_age_seconds)",
                                        "{{service}}")], unit="s", width=8),
    panel("Dead letters waiting", [("sum by (service) (cunban_dead_letters_waiting)", "{{service}}")],
          kind="stat", width=8),
    panel("Event lag p99 by consumer", [
        ("histogram_quantile(0.99, sum by (le, service) (rate(cunban_event_lag_seconds_bucket[5m])))",
         "{{service}}")], unit="s"),
    panel("Events published and consumed", [
        ("sum by (service) (rate(cunban_events_published_total[5m]))", "published by {{service}}"),
        ('sum by (service) (rate(cunban_events_consumed_total{outcome="applied"}[5m]))', "applied by {{service}}")],
          unit="ops"),
    panel("Events applied per transaction (batch size) by consumer", [
        ("sum by (service) (rate(cunban_event_batch_size_events_sum[5m]))"
         " / sum by (service) (rate(cunban_event_batch_size_events_count[5m]))", "{{service}}")]),
    panel("RabbitMQ messages ready", [("sum(rabbitmq_queue_messages_ready)", "ready"),
                                      ("sum(rabbitmq_queue_messages_unacked)", "unacked")], width=12),
    panel("SMS by outcome (sent, retried, failed, withheld)", [
        ("sum by (outcome) (rate(cunban_notifications_sent_total[5m]))", "{{outcome}}")], unit="ops", width=8),
    panel("SMS waiting to be sent", [("sum by (county) (cunban_notifications_waiting)", "{{county}}"),
                                     ("max by (county) (cunban_notifications_oldest_due_age_seconds)",
                                      "oldest (s) {{county}}")], width=8),
    panel("SMS provider call p95", [
        ("histogram_quantile(0.95, sum by (le, provider) (rate(cunban_notification_send_seconds_bucket[5m])))",
         "{{provider}}")], unit="s", width=8),
    panel("Rate-limited requests", [("sum by (limit) (rate(cunban_http_rate_limited_total[5m]))", "{{limit}}")],
          unit="reqps"),
])

DELIVERY = dashboard("cunban-delivery", "cunban · service delivery by township", [
    panel("Applications received this year", [
        ('sum by (township) (cunban_township_year_count{metric="received", township=~"$township"})', "{{township}}")],
          kind="stat", width=8),
    panel("Applications completed this year", [
        ('sum by (township) (cunban_township_year_count{metric="completed", township=~"$township"})',
         "{{township}}")], kind="stat", width=8),
    panel("Complaints registered this year", [
        ('sum by (township) (cunban_township_year_count{metric="complaints", township=~"$township"})',
         "{{township}}")], kind="stat", width=8),
    panel("办结率 completion rate", [('max by (township) (cunban_township_completion_ratio{township=~"$township"})',
                                    "{{township}}")], unit="percentunit", width=8),
    panel("承诺期限兑现率 on-time rate", [('max by (township) (cunban_township_on_time_ratio{township=~"$township"})',
                                     "{{township}}")], unit="percentunit", width=8),
    panel("群众满意率 satisfaction", [('max by (township) (cunban_township_satisfaction_ratio{township=~"$township"})',
                                   "{{township}}")], unit="percentunit", width=8),
    panel("Applications open, warned, overdue", [
        ('sum by (township) (cunban_applications_open{township=~"$township"})', "open {{township}}"),
        ('sum by (township) (cunban_applications_warned{township=~"$township"})', "warned {{township}}"),
        ('sum by (township) (cunban_applications_overdue{township=~"$township"})', "overdue {{township}}")]),
    panel("Complaints open, warned, overdue", [
        ('sum by (township) (cunban_complaints_open{township=~"$township"})', "open {{township}}"),
        ('sum by (township) (cunban_complaints_warned{township=~"$township"})', "warned {{township}}"),
        ('sum by (township) (cunban_complaints_overdue{township=~"$township"})', "overdue {{township}}")]),
    panel("Early warnings 苗头性问题 open", [
        ('sum by (township) (cunban_early_warnings_open{township=~"$township"})', "{{township}}")],
          kind="stat", width=8),
    panel("Market-day sessions today", [('sum by (township) (cunban_sessions_today{township=~"$township"})',
                                         "{{township}}")], kind="stat", width=8),
    panel("Visits 下访 today", [('sum by (township) (cunban_visits_today{township=~"$township"})', "{{township}}")],
          kind="stat", width=8),
], [TOWNSHIP])

DASHBOARDS = {"system-overview.json": SYSTEM, "service-delivery.json": DELIVERY}


def rendered() -> dict[str, str]:
    return {name: json.dumps(model, ensure_ascii=False, indent=2) + "\n" for name, model in DASHBOARDS.items()}


if __name__ == "__main__":
    for name, text in rendered().items():
        (HERE / "dashboards" / name).write_text(text)
        print(f"wrote deploy/grafana/dashboards/{name}")
