"""Every process starts under the security context the Kubernetes manifests give it: the root filesystem
read-only, HOME=/nonexistent (the image's user has no home), the image's environment (deploy/Dockerfile)
and the pod's own, and nothing writable but the pod's emptyDir volumes. Each workload of the rendered
overlay imports what its command runs in a private mount namespace built that way (`unshare`), so a
library that writes at import (matplotlib's cache, for evaluation's charts) fails here, not in the pod."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.unit.test_kubernetes import ROOT, build


def image_environment() -> dict[str, str]:
    """The ENV of the Dockerfile's last stage, the one the pods run."""
    text = re.sub(r"\\\n", " ", (ROOT / "deploy/Dockerfile").read_text())
    stages = re.split(r"^FROM .*$", text, flags=re.MULTILINE)
    env: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
    return env


def what_it_runs(args: list[str]) -> str:
    """The Python the container's command imports before it does anything (cunban/cli.py)."""
    if args[0] == "run-service":
        return f"from cunban.registry import service_class; service_class({args[1]!r})"
    if args[0] == "gateway":
        return "import gateway.app, gateway.rpc, shared.rpc_client, uvicorn"
    if args[0] == "migrate":
        return "import shared.migrate; from cunban.registry import SERVICES"
    raise AssertionError(f"no rule for {args}")


def workloads() -> list[tuple[str, dict]]:
    found = []
    for doc in build("county"):
        if doc["kind"] in {"Deployment", "Job"}:
            pod = doc["spec"]["template"]["spec"]
            found.append((doc["metadata"]["name"], pod))
    return found


def run_as_the_pod_does(pod: dict, code: str) -> subprocess.CompletedProcess:
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    writable = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in empty_dirs]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(ROOT), **image_environment()}
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    mounts = " && ".join(f"mount -t tmpfs -o size=64m tmpfs {shlex.quote(path)}" for path in writable)
    # a checkout under a writable place (a clone in /tmp) would be hidden by its tmpfs: it is put aside
    # first and bound back, read-only, where it was (as the image's code is)
    hidden = any(ROOT.is_relative_to(path) for path in writable)
    root = shlex.quote(str(ROOT))
    aside = f"mount --bind {root} /mnt && " if hidden else ""
    back = f"&& mkdir -p {root} && mount --bind /mnt {root} && mount -o remount,bind,ro {root} " if hidden else ""
    script = aside + "mount -o remount,bind,ro / " + (f"&& {mounts} " if mounts else "") + back + \
        f"&& exec env -i {' '.join(shlex.quote(f'{k}={v}') for k, v in env.items())} " \
        f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
    return subprocess.run(["unshare", "--map-root-user", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=240, cwd="/")


@pytest.fixture(scope="module")
def pods() -> list[tuple[str, dict]]:
    if shutil.which("unshare") is None or os.uname().sysname != "Linux":
        pytest.fail("this check needs Linux's unshare (util-linux) to build the pod's read-only filesystem")
    return workloads()


def test_the_namespace_really_is_read_only_with_no_home(pods):
    name, pod = pods[0]
    probe = "import pathlib, tempfile; pathlib.Path('/probe').write_text('x')"
    result = run_as_the_pod_does(pod, probe)
    assert "Read-only file system" in result.stderr, result.stderr


def test_every_workload_imports_what_it_runs_under_the_pods_security_context(pods):
    names = {name for name, _ in pods}
    assert {"directory", "intake", "approvals", "scheduling", "complaints", "evaluation", "notifications",
            "gateway"} <= names and any(n.startswith("cunban-migrate-") for n in names)
    for name, pod in pods:
        result = run_as_the_pod_does(pod, what_it_runs(pod["containers"][0]["args"]))
        assert result.returncode == 0, f"{name} cannot start read-only:\n{result.stderr[-3000:]}"


CHART = ("from matplotlib.figure import Figure; from matplotlib.backends.backend_agg import FigureCanvasAgg; "
         "import io, os; f = Figure(); f.add_subplot().plot([1, 2]); FigureCanvasAgg(f).print_png(io.BytesIO()); "
         "print(os.listdir(os.environ['MPLCONFIGDIR']))")


def test_evaluation_draws_its_chart_with_only_the_pods_writable_places(pods):
    """Not just the import: matplotlib builds its font cache on first use, in MPLCONFIGDIR."""
    pod = dict(pods)["evaluation"]
    result = run_as_the_pod_does(pod, CHART)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fontlist" in result.stdout


def test_without_the_writable_volume_evaluation_starts_but_cannot_draw_its_chart(pods):
    """Evaluation loads matplotlib for its first report, not at start: a pod that lost its emptyDir still
    starts (before, it could not), and it is the chart that needs the writable place."""
    pod = dict(pods)["evaluation"]
    bare = {**pod, "volumes": [], "containers": [{**pod["containers"][0], "volumeMounts": []}]}
    started = run_as_the_pod_does(bare, what_it_runs(["run-service", "evaluation"]))
    assert started.returncode == 0, started.stderr[-2000:]
    drawn = run_as_the_pod_does(bare, CHART)
    assert drawn.returncode != 0 and "writable cache directory" in drawn.stderr, drawn.stderr[-2000:]
