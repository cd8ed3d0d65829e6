"""The Kubernetes manifests as they would be applied: each overlay built with `kubectl kustomize` (or, where
kubectl is absent, by a reading of the same kustomizations), every built-in kind validated offline against
the Kubernetes schemas (strict), and the operators' custom resources checked for what cunban relies on."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.31"
CUSTOM = {"RabbitmqCluster", "Cluster", "Database", "ScheduledBackup", "ServiceMonitor", "PrometheusRule"}
NAMESPACED_NOT = {"Namespace"}


def _read_kustomization(folder: Path) -> list[dict]:
    """Enough of kustomize for these files: resources, namespace, labels, images and JSON patches."""
    k = yaml.safe_load((folder / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for resource in k.get("resources", []):
        path = folder / resource
        docs += _read_kustomization(path) if path.is_dir() else [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        if "namespace" in k and doc["kind"] not in NAMESPACED_NOT:
            doc["metadata"]["namespace"] = k["namespace"]
        for label in k.get("labels", []):
            doc["metadata"].setdefault("labels", {}).update(label["pairs"])
        for image in k.get("images", []):
            for pod in _pod_specs(doc):
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    if container["image"] == image["name"]:
                        container["image"] = f"{image['newName']}:{image['newTag']}"
    for patch in k.get("patches", []):
        target = patch["target"]
        for doc in docs:
            if doc["kind"] == target["kind"] and doc["metadata"]["name"] == target["name"]:
                for op in yaml.safe_load(patch["patch"]):
                    *parents, leaf = op["path"].strip("/").split("/")
                    node = doc
                    for part in parents:
                        node = node[int(part)] if isinstance(node, list) else node[part]
                    node[leaf] = op["value"]
    return docs


def _pod_specs(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    return [spec["template"]["spec"]] if "template" in spec and "spec" in spec["template"] else []


def build(overlay: str) -> list[dict]:
    folder = ROOT / "k8s" / "overlays" / overlay
    ours = _read_kustomization(folder)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return ours
    built = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=True)
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == \
        sorted((d["kind"], d["metadata"]["name"]) for d in ours)  # the fallback reads the files the same way
    return docs


@pytest.fixture(scope="module", params=["county", "province"])
def manifests(request) -> list[dict]:
    return build(request.param)


def test_every_built_in_kind_is_valid_against_the_kubernetes_schemas(manifests):
    checked = 0
    for doc in manifests:
        if doc["kind"] in CUSTOM:
            continue
        kubernetes_validate.validate(copy.deepcopy(doc), K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 25


def test_workloads_are_hardened_probed_limited_and_protected(manifests):
    by_kind = {}
    for doc in manifests:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in
               by_kind["PodDisruptionBudget"].values()}
    for name, deployment in by_kind["Deployment"].items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["image"].startswith("registry.example.org/cunban:"), name
            assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                    "capabilities": {"drop": ["ALL"]}}, name
            assert container["readinessProbe"] and container["livenessProbe"], name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
        assert name in budgets, f"{name} has no PodDisruptionBudget"
    for hpa in by_kind["HorizontalPodAutoscaler"].values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in by_kind["Deployment"]
    job = by_kind["Job"]["cunban-migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["migrate"] and job["restartPolicy"] == "OnFailure"


def test_the_operators_resources_say_what_cunban_needs(manifests):
    custom = {(d["kind"], d["metadata"]["name"]): d for d in manifests if d["kind"] in CUSTOM}
    services = {d["metadata"]["name"]: d for d in manifests if d["kind"] == "Service"}
    for (kind, name), doc in custom.items():
        spec = doc["spec"]
        if kind == "ServiceMonitor":
            selected = [s for s in services.values() if spec["selector"]["matchLabels"].items()
                        <= s["metadata"].get("labels", {}).items()]
            assert selected, name
            ports = {p["port"] for p in spec["endpoints"]}
            assert all(ports <= {p["name"] for p in s["spec"]["ports"]} for s in selected), name
        elif kind == "PrometheusRule":
            alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
            assert spec["groups"] == alerts, "run python deploy/prometheus/k8s_rules.py"
        elif kind == "Database":
            assert spec["name"].startswith("cunban_") and spec["cluster"]["name"] in {
                n for k, n in custom if k == "Cluster"}
        elif kind == "Cluster":
            assert spec["instances"] >= 2 and spec["storage"]["size"]
        elif kind == "RabbitmqCluster":
            assert spec["replicas"] >= 1


def test_the_rules_copy_is_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("k8s_rules", ROOT / "deploy/prometheus/k8s_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "k8s/base/prometheus-rules.yaml").read_text() == module.rendered()
