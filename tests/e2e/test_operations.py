"""Operations for real: a Prometheus (the OS's package) scrapes the running system and loads the alert
rules; every query of every Grafana dashboard runs against it, and those the dashboards rely on return
data. The alert rules also pass promtool's checks and their own unit tests."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import httpx
import pytest
import yaml

from tests.support import ROOT, Process, alert_rule_count, embedded_system, free_port, login, wait_until

pytestmark = pytest.mark.e2e
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
# scripts/test installs Prometheus (deploy/scripts/local-servers.sh); in CI a missing one fails, never skips
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None and "CI" not in os.environ,
                                      reason="Prometheus comes with deploy/scripts/local-servers.sh")
# series that exist as soon as the system has served a filing (the others appear with their first event)
MUST_HAVE_DATA = {"Requests per second by route", "Gateway latency p99 by route", "Entrypoint latency p95 by service",
                  "RPC round trips p99 by target service", "Outbox backlog", "Oldest unpublished event",
                  "Dead letters waiting", "Event lag p99 by consumer", "Events published and consumed",
                  "Applications received this year", "Applications open, warned, overdue",
                  "Complaints open, warned, overdue", "Market-day sessions today", "办结率 completion rate"}


def _dashboards() -> dict:
    sys.path.insert(0, str(ROOT / "deploy" / "grafana"))
    try:
        import dashboards
    finally:
        sys.path.pop(0)
    return dashboards


def test_the_dashboard_files_are_the_generators_output():
    for name, text in _dashboards().rendered().items():
        assert (ROOT / "deploy" / "grafana" / "dashboards" / name).read_text() == text, \
            f"run python deploy/grafana/dashboards.py ({name} is stale)"


def test_every_alert_has_a_summary_a_description_and_a_runbook_section():
    operations = (ROOT / "docs" / "OPERATIONS.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", operations,
                                                                                          re.M)}
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    names = {r["alert"] for r in rules}
    assert {"CunbanServiceDown", "CunbanErrorRatioHigh", "CunbanLatencyHigh", "CunbanOutboxBacklogGrowing",
            "CunbanDeadLettersPresent", "CunbanOverdueRising", "CunbanCalendarNextYearMissing"} <= names
    for rule in rules:
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], rule["alert"]
        assert notes["runbook_url"] == f"docs/OPERATIONS.md#{rule['alert'].lower()}", rule["alert"]
        assert rule["alert"].lower() in anchors, f"docs/OPERATIONS.md has no section {rule['alert']}"


@needs_prometheus
def test_promtool_checks_the_rules_and_their_unit_tests():
    assert PROMTOOL, "promtool is installed with Prometheus by deploy/scripts/local-servers.sh"
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([PROMTOOL, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


@needs_prometheus
def test_prometheus_scrapes_the_system_and_every_dashboard_query_works(tmp_path):
    assert PROMETHEUS, "Prometheus is installed by deploy/scripts/local-servers.sh"
    (tmp_path / "data").mkdir()
    with embedded_system(tmp_path / "data") as (base, process), httpx.Client(base_url=base, timeout=30) as client:
        agent = login(client, "qs_agent1")
        filed = client.post("/applications", headers=agent, json={
            "item_code": "DB-001", "channel": "station",
            "materials_provided": ["申请书", "身份证", "户口簿", "家庭收入情况说明"],
            "applicant": {"name": "钱七", "phone": "13512345678", "id_card": "430124200102280043",
                          "village_code": "431099101002"}})
        assert filed.status_code == 201, filed.text
        port = free_port()
        config = tmp_path / "prometheus.yml"
        shutil.copy(RULES, tmp_path / "alerts.yml")
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": ["alerts.yml"],
            "scrape_configs": [{"job_name": "cunban-embedded", "static_configs": [
                {"targets": [base.removeprefix("http://")]}]}]}))
        prometheus = Process.of([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "prometheus.log")
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            def query(expr: str) -> list:
                answer = httpx.get(f"{api}/query", params={"query": expr}, timeout=10).json()
                assert answer["status"] == "success", (expr, answer)
                return answer["data"]["result"]

            wait_until(lambda: query('sum(rate(cunban_http_requests_total[5m])) > 0')
                       and query("cunban_event_lag_seconds_count"), 60, "Prometheus to scrape a few times", prometheus)
            empty = []
            for dashboard in _dashboards().DASHBOARDS.values():
                for panel in dashboard["panels"]:
                    for target in panel["targets"]:
                        result = query(target["expr"].replace("$township", ".*"))
                        if panel["title"] in MUST_HAVE_DATA and not result:
                            empty.append((panel["title"], target["expr"]))
            assert not empty, empty
            rules = httpx.get(f"{api}/rules", timeout=10).json()["data"]["groups"]
            loaded = [r for g in rules for r in g["rules"]]
            assert len(loaded) == alert_rule_count() and all(r["health"] == "ok" for r in loaded), loaded
            assert json.dumps(query('up{job="cunban-embedded"}')).count('"1"') == 1
        finally:
            prometheus.stop()
        assert process.alive()
