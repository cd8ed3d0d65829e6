"""A three-node RabbitMQ cluster of its own on this machine, for the node-loss test: each node its own Erlang
node name, AMQP, distribution and management ports, data and log directories under a temporary directory,
and an Erlang cookie of its own (so no command here can reach the machine's shared node, `rabbit@<host>`).
A node is killed with SIGKILL — no shutdown, as when its machine dies — and started again."""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.support import Process, free_port, wait_until

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
USER, PASSWORD = "cunban", "cunban-node-loss"


class Node:
    def __init__(self, name: str, base: Path):
        self.name = f"{name}@{socket.gethostname().split('.')[0]}"
        self.dir = base / name
        self.port, self.dist_port, self.management_port, self.prometheus_port = (free_port() for _ in range(4))
        self.process: Process | None = None
        self.incarnation = 0


class RabbitCluster:
    def __init__(self, base: Path, size: int = 3):
        self.base = base
        self.home = base / "home"  # the cookie: HOME of every node and every rabbitmqctl run here
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20))
        cookie.chmod(0o400)
        (base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        self.nodes = [Node(f"cunban-node-loss-{n}", base) for n in range(1, size + 1)]

    # ---- the nodes ------------------------------------------------------------------------------------------
    def _env(self, node: Node) -> dict[str, str]:
        return {"HOME": str(self.home), "RABBITMQ_NODENAME": node.name, "RABBITMQ_NODE_PORT": str(node.port),
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_DIST_PORT": str(node.dist_port), "RABBITMQ_MNESIA_BASE": str(node.dir / "mnesia"),
                "RABBITMQ_LOG_BASE": str(node.dir / "log"), "RABBITMQ_PID_FILE": str(node.dir / "pid"),
                "RABBITMQ_CONFIG_FILE": str(node.dir / "rabbitmq"),  # none: every default
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(node.dir / "advanced.config"),
                "RABBITMQ_CONF_ENV_FILE": str(node.dir / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                # queue statistics each second (not every five): the test picks the busiest queues by them
                "RABBITMQ_SERVER_START_ARGS": f"-rabbitmq_management listener [{{port,{node.management_port}}}] "
                                              "-rabbit collect_statistics_interval 1000"}

    def ctl(self, node: Node, *args: str, timeout: float = 120) -> str:
        result = subprocess.run([CTL, "-q", "-n", node.name, *args], env={**os.environ, "HOME": str(self.home)},
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)} on {node.name}: {result.stderr[-2000:]}")
        return result.stdout

    def start_node(self, node: Node) -> None:
        node.dir.mkdir(parents=True, exist_ok=True)
        node.incarnation += 1
        old = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("RABBITMQ_")}
        try:
            node.process = Process([], self._env(node), node.dir / f"console.{node.incarnation}.log",
                                   command=[SERVER])
        finally:
            os.environ.update(old)
        wait_until(lambda: self._accepts(node), 120, f"{node.name} to accept connections", node.process)
        self.ctl(node, "await_startup")

    def _accepts(self, node: Node) -> bool:
        with socket.create_connection(("127.0.0.1", node.port), timeout=1):
            return True

    def start(self) -> None:
        """The first node, then each other joined to it; a user of its own on the cluster."""
        first, *others = self.nodes
        self.start_node(first)
        for node in others:
            self.start_node(node)
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
            self.ctl(node, "await_startup")
        self.ctl(first, "add_user", USER, PASSWORD)
        self.ctl(first, "set_user_tags", USER, "administrator")

    def add_vhost(self, vhost: str) -> None:
        first = self.nodes[0]
        self.ctl(first, "add_vhost", vhost)
        self.ctl(first, "set_permissions", "-p", vhost, USER, ".*", ".*", ".*")

    def kill(self, node: Node) -> None:
        """kill -9 of the node's whole process group (beam and its helpers), as when its machine dies."""
        assert node.process is not None
        os.killpg(node.process.proc.pid, 9)
        node.process.proc.wait(timeout=30)
        node.process.stop()

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.alive():
                with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):  # killed below anyway
                    self.ctl(node, "stop", timeout=60)
                node.process.stop()

    # ---- what clients and the test see -------------------------------------------------------------------------
    def amqp_uris(self, vhost: str) -> str:
        """The CUNBAN_AMQP_URI of the deployment: every node, separated by commas."""
        return ",".join(f"amqp://{USER}:{PASSWORD}@127.0.0.1:{node.port}/{quote(vhost, safe='')}"
                        for node in self.nodes)

    def api(self, node: Node) -> str:
        """The management API of one node (each node answers for the whole cluster)."""
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{node.management_port}"

    def live(self) -> Node:
        return next(n for n in self.nodes if n.process is not None and n.process.alive())

    def queues(self, vhost: str) -> list[dict]:
        url = httpx.URL(self.api(self.live()))
        return httpx.get(f"http://127.0.0.1:{url.port}/api/queues/{quote(vhost, safe='')}",
                         auth=(USER, PASSWORD), timeout=10).json()

    def node_named(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def running(self) -> int:
        return sum(1 for n in self.nodes if n.process is not None and n.process.alive())

    def wait_all_running(self, timeout: float = 120) -> None:
        def members() -> bool:
            url = httpx.URL(self.api(self.live()))
            nodes = httpx.get(f"http://127.0.0.1:{url.port}/api/nodes", auth=(USER, PASSWORD), timeout=5).json()
            return sum(1 for n in nodes if n.get("running")) == len(self.nodes)

        wait_until(members, timeout, "every node running in the cluster")
