"""The Kubernetes manifests as they would be applied: each overlay built with `kubectl kustomize`, every
built-in kind validated offline against the Kubernetes schemas (strict), every operator's custom resource
validated against its CRD's schema pinned in k8s/crds/ (unknown fields refused, as `kubectl apply
--validate=strict` does), and what cunban needs of them checked: the image and release, connections read
from the operators' secrets, the migration Job per release, the ingress, the scrape jobs the alerts select,
the dashboards for Grafana's sidecar, and full runbook links."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.31"
OVERLAYS = ["county", "province"]
REGISTRY = "localhost:5000/cunban"
SERVICES = ["directory", "intake", "approvals", "scheduling", "complaints", "evaluation", "notifications"]
OPERATOR_GROUPS = {"postgresql.cnpg.io", "rabbitmq.com", "monitoring.coreos.com"}


def release() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def build(overlay: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) renders the overlays: install it to run this check"
    built = subprocess.run([kubectl, "kustomize", str(ROOT / "k8s" / "overlays" / overlay)], capture_output=True,
                           text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def overlay_namespace(overlay: str) -> str:
    return yaml.safe_load((ROOT / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text())["namespace"]


def _closed(schema: dict) -> dict:
    """A CRD schema as the API server applies it with strict field validation: an object that lists its
    properties and neither maps names (additionalProperties) nor keeps unknown fields refuses others."""
    if isinstance(schema, dict):
        schema = {k: _closed(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_closed(v) for v in schema]
    return schema


def pinned_crds() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) → the closed openAPIV3Schema of that version, from k8s/crds/."""
    schemas = {}
    for path in sorted((ROOT / "k8s" / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        assert crd["kind"] == "CustomResourceDefinition", path
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = _closed(version["schema"]["openAPIV3Schema"])
    return schemas


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, build(request.param)


@pytest.fixture
def manifests(rendered) -> list[dict]:
    return rendered[1]


def by_kind(manifests: list[dict]) -> dict[str, dict[str, dict]]:
    found: dict[str, dict[str, dict]] = {}
    for doc in manifests:
        found.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return found


def is_custom(doc: dict) -> bool:
    return doc["apiVersion"].split("/")[0] in OPERATOR_GROUPS


def test_every_built_in_kind_is_valid_against_the_kubernetes_schemas(manifests):
    checked = 0
    for doc in manifests:
        if is_custom(doc):
            continue
        kubernetes_validate.validate(copy.deepcopy(doc), K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 30


def test_every_custom_resource_is_valid_against_its_pinned_crd(manifests):
    schemas = pinned_crds()
    custom = [doc for doc in manifests if is_custom(doc)]
    assert {d["kind"] for d in custom} >= {"RabbitmqCluster", "Cluster", "Database", "ServiceMonitor",
                                          "PrometheusRule"}
    for doc in custom:
        key = (doc["apiVersion"], doc["kind"])
        assert key in schemas, f"no CRD pinned in k8s/crds/ for {key}"
        errors = sorted(jsonschema.Draft7Validator(schemas[key]).iter_errors(doc), key=str)
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])


def test_the_pinned_crds_refuse_what_the_api_server_would():
    """The check above can fail: a misspelt field, a wrong type and a missing required field are refused."""
    schemas = pinned_crds()
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "x"},
               "spec": {"instances": 3, "storage": {"size": "1Gi"}}}
    assert jsonschema.Draft7Validator(schemas[("postgresql.cnpg.io/v1", "Cluster")]).is_valid(cluster)
    wrong = [{**cluster, "spec": {**cluster["spec"], "instance": 3}},
             {**cluster, "spec": {**cluster["spec"], "instances": "three"}}]
    assert not any(jsonschema.Draft7Validator(schemas[("postgresql.cnpg.io/v1", "Cluster")]).is_valid(w)
                   for w in wrong)
    # what the backup patch adds (WAL and base backups to an S3 endpoint such as MinIO) is accepted
    backed_up = copy.deepcopy(cluster)
    backed_up["spec"]["backup"] = {"retentionPolicy": "30d", "barmanObjectStore": {
        "destinationPath": "s3://cunban-backups/", "endpointURL": "http://minio:9000",
        "s3Credentials": {"accessKeyId": {"name": "cunban-backup", "key": "ACCESS_KEY_ID"},
                          "secretAccessKey": {"name": "cunban-backup", "key": "SECRET_ACCESS_KEY"}},
        "wal": {"compression": "gzip"}, "data": {"compression": "gzip"}}}
    assert jsonschema.Draft7Validator(schemas[("postgresql.cnpg.io/v1", "Cluster")]).is_valid(backed_up)
    # synchronous replication as the operator takes it, and as it refuses it
    synchronous = copy.deepcopy(cluster)
    synchronous["spec"]["postgresql"] = {"parameters": {"synchronous_commit": "on"},
                                         "synchronous": {"method": "any", "number": 1, "dataDurability": "required"}}
    assert jsonschema.Draft7Validator(schemas[("postgresql.cnpg.io/v1", "Cluster")]).is_valid(synchronous)
    for wrong_synchronous in ({"method": "all", "number": 1}, {"method": "any"}, {"method": "any", "number": 0},
                              {"method": "any", "number": 1, "durability": "required"}):
        refused = copy.deepcopy(synchronous)
        refused["spec"]["postgresql"]["synchronous"] = wrong_synchronous
        assert not jsonschema.Draft7Validator(schemas[("postgresql.cnpg.io/v1", "Cluster")]).is_valid(refused)
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"},
               "spec": {"endpoints": [{"port": "http", "honorLabel": True}]}}
    assert not jsonschema.Draft7Validator(schemas[("monitoring.coreos.com/v1", "ServiceMonitor")]).is_valid(monitor)


def _entrypoint_wait_seconds() -> int:
    return int(re.search(r"CUNBAN_WAIT_SECONDS:-(\d+)", (ROOT / "deploy/entrypoint.sh").read_text()).group(1))


def test_workloads_are_hardened_probed_limited_and_protected(manifests):
    kinds = by_kind(manifests)
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in
               kinds["PodDisruptionBudget"].values()}
    assert set(SERVICES) | {"gateway"} <= set(kinds["Deployment"])
    for name, workload in {**kinds["Deployment"], **kinds["Job"]}.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert {v["name"]: v for v in pod["volumes"]}["tmp"]["emptyDir"]["sizeLimit"], name
        for container in pod["containers"]:
            assert container["image"] == f"{REGISTRY}:{release()}", name
            assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                    "capabilities": {"drop": ["ALL"]}}, name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            if workload["kind"] == "Deployment":
                assert container["readinessProbe"] and container["livenessProbe"], name
                # liveness counts only after start-up: waiting for the servers and migrating is not dying
                startup = container["startupProbe"]
                assert startup["periodSeconds"] * startup["failureThreshold"] > _entrypoint_wait_seconds(), name
        if workload["kind"] == "Deployment":
            assert name in budgets, f"{name} has no PodDisruptionBudget"
    for hpa in kinds["HorizontalPodAutoscaler"].values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in kinds["Deployment"]


def _expanded(container: dict, name: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """The value of env var `name` and where each $(VAR) in it comes from (secret, key); Kubernetes expands
    only variables defined before it in the list."""
    env = container["env"]
    position = next(i for i, e in enumerate(env) if e["name"] == name)
    value = env[position]["value"]
    sources = {}
    for var in re.findall(r"\$\((\w+)\)", value):
        earlier = {e["name"]: e for e in env[:position]}
        assert var in earlier, f"{name} uses $({var}) before it is defined"
        ref = earlier[var]["valueFrom"]["secretKeyRef"]
        sources[var] = (ref["name"], ref["key"])
    return value, sources


def test_broker_and_database_addresses_come_from_the_operators_secrets(manifests):
    kinds = by_kind(manifests)
    (mq,) = kinds["RabbitmqCluster"]
    (pg,) = kinds["Cluster"]
    owner = kinds["Cluster"][pg]["spec"]["bootstrap"]["initdb"]["owner"]
    databases = {d["spec"]["name"] for d in kinds["Database"].values()}
    assert databases == {f"cunban_{s}" for s in SERVICES}
    assert {d["spec"]["owner"] for d in kinds["Database"].values()} == {owner}  # the app secret's user owns them
    for name, workload in {**kinds["Deployment"], **kinds["Job"]}.items():
        container = workload["spec"]["template"]["spec"]["containers"][0]
        uri, parts = _expanded(container, "CUNBAN_AMQP_URI")
        assert set(parts.values()) == {(f"{mq}-default-user", key) for key in ("username", "password", "port")}, name
        # every node of the cluster, by the name its operator gives its pod: a client moves to a live one
        nodes = uri.split(",")
        replicas = kinds["RabbitmqCluster"][mq]["spec"]["replicas"]
        assert [re.search(r"@([^:]+):", node).group(1) for node in nodes] == [
            f"{mq}-server-{n}.{mq}-nodes" for n in range(replicas)], name
        assert all(node.startswith("amqp://") for node in nodes), name
        if name == "gateway":
            assert "CUNBAN_DB_URL" not in {e["name"] for e in container["env"]}  # it has no database
            continue
        url, parts = _expanded(container, "CUNBAN_DB_URL")
        assert url.startswith("postgresql+psycopg://") and url.endswith("/cunban_{service}"), name
        assert set(parts.values()) == {(f"{pg}-app", key) for key in ("username", "password", "host", "port")}, name


def test_the_migration_job_is_named_for_the_release_it_migrates_to(manifests):
    (name, job), = by_kind(manifests)["Job"].items()
    assert name == f"cunban-migrate-{release().replace('.', '-')}"
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["migrate"] and pod["restartPolicy"] == "OnFailure"
    assert pod["containers"][0]["image"].endswith(f":{release()}")


def test_every_service_applies_its_own_migrations_before_it_serves():
    """The Deployments need not wait for the Job: `cunban run-service` migrates first (cunban/cli.py)."""
    source = (ROOT / "cunban/cli.py").read_text()
    run_service = source[source.index("def cmd_run_service"):source.index("def cmd_gateway")]
    assert run_service.index("migrate_all(settings, [args.name])") < run_service.index("start_services(")


def _size_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.lower()).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit]


def test_the_ingress_serves_the_gateway_over_tls_and_passes_the_client_on(manifests):
    from shared.settings import Settings

    kinds = by_kind(manifests)
    ingress = kinds["Ingress"]["gateway"]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"] and ingress["spec"]["tls"][0]["secretName"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = kinds["Service"][backend["name"]]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}
    notes = ingress["metadata"]["annotations"]
    defaults = Settings()
    # bigger than the gateway's own limit, so the gateway answers 413 with its code, not the controller
    assert _size_bytes(notes["nginx.ingress.kubernetes.io/proxy-body-size"]) > defaults.max_body_bytes
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > defaults.rpc_timeout_seconds
    config = kinds["ConfigMap"]["cunban-config"]["data"]
    assert config["CUNBAN_PUBLIC_URL"] == f"https://{rule['host']}"
    assert Settings(trusted_proxies=config["CUNBAN_TRUSTED_PROXIES"]).trusted_networks()


def test_the_gateway_believes_the_ingress_about_the_client_and_no_one_else(manifests):
    """ingress-nginx appends the address it saw to X-Forwarded-For; with the overlay's trusted proxies the
    gateway's audit log and per-client limits see that villager, not the controller's pod."""
    from types import SimpleNamespace

    from starlette.requests import Request

    from gateway.audit import client_of
    from shared.settings import Settings

    trusted = Settings(trusted_proxies=by_kind(manifests)["ConfigMap"]["cunban-config"]["data"][
        "CUNBAN_TRUSTED_PROXIES"]).trusted_networks()

    def client(peer: str, networks) -> str:
        app = SimpleNamespace(state=SimpleNamespace(trusted_proxies=networks))
        return client_of(Request({"type": "http", "client": (peer, 40000), "app": app, "headers": [
            (b"x-forwarded-for", b"198.51.100.9, 203.0.113.5")]}))

    assert client("10.42.1.7", trusted) == "203.0.113.5"  # from the ingress controller's pod: the villager
    assert client("203.0.113.77", trusted) == "203.0.113.77"  # straight from outside: its header is ignored
    assert client("10.42.1.7", ()) == "10.42.1.7"  # unset, the whole county would look like the ingress


def test_everything_lands_in_the_overlays_namespace(rendered):
    overlay, manifests = rendered
    namespace = overlay_namespace(overlay)
    (ns,) = by_kind(manifests)["Namespace"]
    assert ns == namespace
    assert {d["metadata"].get("namespace") for d in manifests if d["kind"] != "Namespace"} == {namespace}


def test_a_county_runs_one_replica_of_each_service_as_its_overlay_says():
    kinds = by_kind(build("county"))
    for name in SERVICES:
        assert kinds["Deployment"][name]["spec"]["replicas"] == 1, name
        assert kinds["PodDisruptionBudget"][name]["spec"]["minAvailable"] == 0, name
    assert kinds["HorizontalPodAutoscaler"]["intake"]["spec"]["minReplicas"] == 1
    assert kinds["HorizontalPodAutoscaler"]["gateway"]["spec"]["minReplicas"] == 2


def _job_of(endpoint: dict, service_name: str) -> str:
    """The `job` label the Prometheus Operator gives the endpoint's targets: the Service's name, unless a
    relabeling sets it (applied after the operator's own)."""
    job = service_name
    for relabel in endpoint.get("relabelings", []):
        if relabel.get("targetLabel") == "job" and not relabel.get("sourceLabels"):
            job = relabel["replacement"]
    return job


def test_service_monitors_scrape_as_the_jobs_the_alerts_select(manifests):
    kinds = by_kind(manifests)
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    selectors = [m for g in alerts for r in g["rules"] for m in re.findall(r'job=~"([^"]+)"', r["expr"])]
    assert selectors
    compose = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]
    (mq,) = kinds["RabbitmqCluster"]
    scraped, jobs = set(), set()
    for monitor in kinds["ServiceMonitor"].values():
        wanted = dict(monitor["spec"]["selector"]["matchLabels"])
        (endpoint,) = monitor["spec"]["endpoints"]
        if wanted.get("app.kubernetes.io/name") == mq:  # the Service the RabbitMQ operator makes for it
            assert wanted == {"app.kubernetes.io/name": mq, "app.kubernetes.io/component": "rabbitmq"}
            assert endpoint["port"] == "prometheus"
            jobs.add(_job_of(endpoint, mq))
            continue
        selected = [s for s in kinds["Service"].values() if wanted.items() <= s["metadata"].get("labels", {}).items()]
        assert selected, monitor["metadata"]["name"]
        # the metrics' own `service` label (the gateway's RPC metrics: the service called) is kept
        assert endpoint["honorLabels"] is True
        by_name = {"action": "replace", "targetLabel": "service",
                   "sourceLabels": ["__meta_kubernetes_service_label_app_kubernetes_io_name"]}
        assert by_name in endpoint["relabelings"]
        for service in selected:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
            job = _job_of(endpoint, service["metadata"]["name"])
            jobs.add(job)
            assert all(re.fullmatch(s, job) for s in selectors), f"{job} is not what the alerts select"
            scraped.add(service["spec"]["selector"]["app.kubernetes.io/name"])
    assert scraped == set(SERVICES) | {"gateway"}
    # the dashboards and alerts read Compose and Kubernetes alike; Compose's backup service has no pod here
    # (CloudNativePG backs up, CunbanDatabaseBackupStale watches it)
    assert jobs == {j["job_name"] for j in compose} - {"cunban-backup"}


def test_every_alert_links_to_its_section_of_the_operations_guide(manifests):
    operations = (ROOT / "docs/OPERATIONS.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", operations,
                                                                                          re.M)}
    rule = by_kind(manifests)["PrometheusRule"]["cunban-alerts"]
    base = rule["metadata"]["annotations"]["cunban/runbook-base"]
    assert re.fullmatch(r"https://[^/\s]+/\S+/docs/OPERATIONS\.md", base)
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    for alert in alerts:
        link, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert link == base and anchor == alert["alert"].lower() and anchor in anchors, alert["alert"]


def test_the_alert_rules_are_the_ones_compose_runs(manifests):
    rule = by_kind(manifests)["PrometheusRule"]["cunban-alerts"]
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    ours = copy.deepcopy(rule["spec"]["groups"])
    for group in ours:
        for r in group["rules"]:
            r["annotations"]["runbook_url"] = "docs/OPERATIONS.md#" + r["annotations"]["runbook_url"].split("#")[1]
    assert ours == alerts, "run python deploy/prometheus/k8s_rules.py"


def test_promtool_accepts_the_rules_as_the_overlay_renders_them(manifests, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool comes with Prometheus (deploy/scripts/local-servers.sh)")
    rules = tmp_path / "rules.yml"
    groups = by_kind(manifests)["PrometheusRule"]["cunban-alerts"]["spec"]["groups"]
    rules.write_text(yaml.safe_dump({"groups": groups}))
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_sidecar_gets_every_dashboard_and_their_data_source(manifests):
    maps = by_kind(manifests)["ConfigMap"]
    dashboards = {key: text for m in maps.values() if m["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
                  for key, text in m["data"].items()}
    files = {p.name: p.read_text() for p in (ROOT / "deploy/grafana/dashboards").glob("*.json")}
    assert dashboards == files
    sources = [m for m in maps.values() if m["metadata"].get("labels", {}).get("grafana_datasource") == "1"]
    (provisioning,) = [yaml.safe_load(text) for m in sources for text in m["data"].values()]
    provisioned = {d["uid"] for d in provisioning["datasources"]}
    named = {m.group(1) for text in files.values() for m in re.finditer(
        r'"datasource": \{\s*"type": "prometheus",\s*"uid": "([^"]+)"', text)}
    assert named and named <= provisioned  # every data source a panel names is provisioned


def test_the_operators_resources_say_what_cunban_needs(manifests):
    kinds = by_kind(manifests)
    for cluster in kinds["Cluster"].values():
        assert cluster["spec"]["instances"] >= 2 and cluster["spec"]["storage"]["size"]
        # an acknowledged commit is on a standby too, and writes wait rather than go unprotected (issue 24)
        postgresql = cluster["spec"]["postgresql"]
        assert postgresql["parameters"]["synchronous_commit"] == "on"
        synchronous = postgresql["synchronous"]
        assert synchronous["method"] == "any" and 1 <= synchronous["number"] < cluster["spec"]["instances"]
        assert synchronous.get("dataDurability", "required") == "required"
    for database in kinds["Database"].values():
        assert database["spec"]["cluster"]["name"] in kinds["Cluster"]
    for mq in kinds["RabbitmqCluster"].values():
        assert mq["spec"]["replicas"] >= 3 and "rabbitmq_prometheus" in mq["spec"]["rabbitmq"]["additionalPlugins"]


def _generated(script: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rules_and_dashboards_copies_are_current():
    assert (ROOT / "k8s/base/prometheus-rules.yaml").read_text() == \
        _generated("deploy/prometheus/k8s_rules.py").rendered(), "run python deploy/prometheus/k8s_rules.py"
    assert (ROOT / "k8s/base/grafana-dashboards.yaml").read_text() == \
        _generated("deploy/grafana/k8s_dashboards.py").rendered(), "run python deploy/grafana/k8s_dashboards.py"


def test_placeholders_a_county_sets_are_marked_and_the_image_is_the_release():
    for overlay in OVERLAYS:
        text = (ROOT / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text()
        k = yaml.safe_load(text)
        (image,) = k["images"]
        assert image["newName"] == REGISTRY and image["newTag"] == release()
        for marked in (r"^namespace:", r"newName:", r"/spec/rules/0/host", r"CUNBAN_PUBLIC_URL",
                       r"CUNBAN_TRUSTED_PROXIES", r"value: https://\S+/docs/OPERATIONS\.md"):
            (line,) = [line for line in text.splitlines() if re.search(marked, line)]
            assert "# SET" in line, (overlay, line)
    assert "registry.example" not in "".join(p.read_text() for p in (ROOT / "k8s").rglob("*.yaml"))
