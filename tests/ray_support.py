"""A real multi-node Ray cluster on this machine for tests and benches: `ray start` processes we own.

Every node is a `ray start --block` process in its own session (process group), with its own free
ports and one temp dir, so stopping it — `stop_node` / `close` — signals only that group: never
`ray stop`, which would end every Ray process on the machine, other people's included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE_BYTES = 100 * 1024 * 1024  # the smallest Ray accepts is ~75 MB; batches here are KBs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayCluster:
    """`with LocalRayCluster(workers=1) as cluster:` a head node + `workers` worker nodes, each with
    `cpus` CPUs (the head `head_cpus`, default the same); `cluster.address` for ray.init / --ray. Nodes inherit this process's environment
    (PYTHONPATH, PHOTOSEEK_MODEL_CACHE), as a worker machine with photoseek installed would have."""

    def __init__(self, workers: int = 1, cpus: int = 1, timeout_s: float = 90.0, head_cpus: int | None = None) -> None:
        self.workers = workers
        self.cpus = cpus
        self.head_cpus = cpus if head_cpus is None else head_cpus  # 0: the head only coordinates
        self.timeout_s = timeout_s
        # short: Ray's unix socket paths live under it and must stay under ~107 bytes
        self.temp_dir = tempfile.mkdtemp(prefix="psray", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []

    def __enter__(self) -> "LocalRayCluster":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ports(self) -> list[str]:
        # every fixed-default port made free, so two clusters (or two helpers) on one machine never clash
        return [
            "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
            "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
        ]  # fmt: skip

    def _start(self, args: list[str], cpus: int | None = None) -> subprocess.Popen:
        # workers import photoseek from this checkout, as the driver does
        repo = str(Path(__file__).resolve().parent.parent)
        python_path = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH", "")) if p)
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=python_path)
        log = open(Path(self.temp_dir) / f"node{len(self.nodes)}.log", "wb")
        process = subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", "--num-cpus", str(self.cpus if cpus is None else cpus),
             "--object-store-memory", str(OBJECT_STORE_BYTES), "--node-ip-address", "127.0.0.1",
             *self._ports(), *args],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        self.nodes.append(process)
        return process

    def start(self) -> None:
        self._start(["--head", "--port", str(self.port), "--temp-dir", self.temp_dir,
                     "--include-dashboard=false"], cpus=self.head_cpus)  # fmt: skip
        self.wait_for_nodes(1)
        for _ in range(self.workers):
            self.add_worker()

    def add_worker(self) -> subprocess.Popen:
        process = self._start(["--address", self.address])
        self.wait_for_nodes(len(self.nodes))
        return process

    def wait_for_nodes(self, count: int) -> None:
        """Until the first `count` nodes printed that their runtime started (`ray start --block`
        says so once the node has registered with the head)."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            for i, process in enumerate(self.nodes[:count]):
                if process.poll() is not None:
                    raise RuntimeError(f"Ray node {i} exited at start: {self._log(i)[-2000:]}")
            if all("Ray runtime started" in self._log(i) for i in range(count)):
                return
            time.sleep(0.5)
        raise TimeoutError(f"Ray cluster did not reach {count} nodes in {self.timeout_s:.0f} s ({self.temp_dir})")

    def _log(self, i: int) -> str:
        return (Path(self.temp_dir) / f"node{i}.log").read_text(errors="replace")

    def stop_node(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Kill one node: its `ray start` and everything in its process group (raylet, workers)."""
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def close(self) -> None:
        """Kill every node's process group (workers first). SIGKILL, not a graceful `ray stop`: the
        whole cluster is ours and throw-away, and a graceful stop takes ~30 s here."""
        for process in reversed(self.nodes):
            self.stop_node(process)
        self.nodes = []
        shutil.rmtree(self.temp_dir, ignore_errors=True)
