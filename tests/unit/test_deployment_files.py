"""Deployment files stay in step with the code: every service in the registry is in Compose, in
Prometheus, in PostgreSQL's database list and in the Kubernetes base, with probes and no literal secrets.
(Docker and kubectl cannot run on these machines; the files are checked by parsing them.)"""
from pathlib import Path

import pytest
import yaml

from cunban.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_runs_in_compose_after_its_servers_are_healthy(compose):
    services = compose["services"]
    for name in SERVICES:
        assert services[name]["command"] == ["run-service", name]
        assert services[name]["healthcheck"]["test"]
        for server in ("rabbitmq", "postgres"):
            assert services[name]["depends_on"][server]["condition"] == "service_healthy"
    gateway = services["gateway"]
    assert gateway["command"] == ["gateway"]
    assert all(dep["condition"] == "service_healthy" for dep in gateway["depends_on"].values())
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])


def test_each_service_gets_its_own_database(compose):
    databases = compose["services"]["postgres"]["environment"]["CUNBAN_DATABASES"].split()
    assert sorted(databases) == sorted(f"cunban_{name}" for name in SERVICES)
    assert "{service}" in compose["services"]["gateway"]["environment"]["CUNBAN_DB_URL"]


def test_compose_keeps_every_acknowledged_commit_on_a_synchronous_standby_as_kubernetes_does(compose):
    """The same settings as the CloudNativePG Cluster (k8s/base/postgres.yaml): synchronous_commit on, one
    standby of ANY that must have each commit; every process that reaches the databases names both servers
    and takes whichever accepts writes, so a promotion needs no change of settings."""
    from sqlalchemy.engine import make_url

    services = compose["services"]
    assert "synchronous_commit=on" in services["postgres"]["command"]
    initdb = (ROOT / "deploy/postgres/synchronous-standby.sh").read_text()
    assert "synchronous_standby_names = 'ANY 1 (*)'" in initdb
    assert any("synchronous-standby.sh:/docker-entrypoint-initdb.d/" in v for v in services["postgres"]["volumes"])
    standby = services["postgres-standby"]
    assert standby["entrypoint"][-1] == "/cunban/standby.sh"
    assert "./deploy/postgres/standby.sh:/cunban/standby.sh:ro" in standby["volumes"]
    assert "--write-recovery-conf" in (ROOT / "deploy/postgres/standby.sh").read_text()
    urls = {name: s["environment"]["CUNBAN_DB_URL"] for name, s in services.items()
            if "CUNBAN_DB_URL" in (s.get("environment") or {})}
    assert set(urls) >= {*SERVICES, "backup"}
    for name, url in urls.items():
        query = make_url(url).query
        assert query["host"] == ("postgres:5432", "postgres-standby:5432"), name
        assert query["target_session_attrs"] == "read-write", name


def test_no_secret_is_written_into_compose(compose):
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET")) or "@" in str(value):
                assert "${" in str(value), (name, key)


def test_prometheus_scrapes_the_gateway_and_every_service():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert "gateway:8080" in targets
    assert {f"{name}:9100" for name in SERVICES} <= targets


def _k8s_documents():
    base = ROOT / "k8s/base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        yield from (d for d in yaml.safe_load_all((base / resource).read_text()) if d)


def test_kustomizations_name_files_that_exist():
    for kustomization in ROOT.glob("k8s/**/kustomization.yaml"):
        for resource in yaml.safe_load(kustomization.read_text())["resources"]:
            assert (kustomization.parent / resource).exists(), (kustomization, resource)


def test_every_deployment_has_probes_resources_and_a_disruption_budget():
    documents = list(_k8s_documents())
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(SERVICES) | {"gateway"} <= set(deployments)
    budgets = {d["metadata"]["name"] for d in documents if d["kind"] == "PodDisruptionBudget"}
    for name, deployment in deployments.items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["readinessProbe"] and container["livenessProbe"], name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
        assert name in budgets


def test_kubernetes_databases_and_broker_come_from_operators():
    kinds = {(d["apiVersion"].split("/")[0], d["kind"]) for d in _k8s_documents()}
    assert ("rabbitmq.com", "RabbitmqCluster") in kinds
    assert ("postgresql.cnpg.io", "Cluster") in kinds
    databases = {d["spec"]["name"] for d in _k8s_documents() if d["kind"] == "Database"}
    assert databases == {f"cunban_{name}" for name in SERVICES}


def test_the_image_contains_every_package_runs_unprivileged_and_checks_its_health():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for package in ("shared", "services", "gateway", "cunban"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert dockerfile.count("FROM python:3.11-slim") == 2  # built apart, the runtime keeps no compilers
    assert "USER 10001:10001" in dockerfile and 'HEALTHCHECK' in dockerfile
    assert 'CMD ["cunban", "healthcheck"]' in dockerfile and 'ENTRYPOINT ["cunban-entrypoint"]' in dockerfile
    entrypoint = ROOT / "deploy/entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111 and "cunban wait" in entrypoint.read_text()


def test_compose_sets_only_settings_the_code_reads_and_mounts_files_that_exist(compose):
    from shared.settings import Settings

    known = {f"CUNBAN_{name.upper()}" for name in Settings.model_fields}
    known |= {"CUNBAN_ADMIN_PASSWORD", "CUNBAN_COUNTY_CODE", "CUNBAN_COUNTY_NAME", "CUNBAN_DATABASES"}  # cli, initdb
    for name, service in compose["services"].items():
        assert service.get("restart") in ("unless-stopped", "no", "on-failure"), name
        for key in service.get("environment") or {}:
            if key.startswith("CUNBAN_"):
                assert key in known, (name, key)
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    for name in ("prometheus", "grafana"):
        assert compose["services"][name]["healthcheck"]["test"], name
    rules = "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"
    assert rules in compose["services"]["prometheus"]["volumes"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_kubernetes_config_sets_only_settings_the_code_reads():
    from shared.settings import Settings

    known = {f"CUNBAN_{name.upper()}" for name in Settings.model_fields}
    for document in _k8s_documents():
        if document["kind"] == "ConfigMap":
            for key in document.get("data", {}):
                if key.startswith("CUNBAN_"):
                    assert key in known, key
