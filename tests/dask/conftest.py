"""Fixtures of the Dask job tests: a real ``dask scheduler`` and two ``dask worker`` processes on
loopback, each worker in its own empty working directory and home, and a Jupyter server whose
jobs run on them (``DaskJobExecutor``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TOKEN
from ..jobs.conftest import NOTEBOOKS

pytest.importorskip("distributed", reason='the Dask tests need the dask extra: pip install -e ".[test,dask]"')

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A scheduler and its workers, each a process group of its own (killed at teardown)."""

    address: str
    base: Path
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_dirs: dict[str, Path] = field(default_factory=dict)

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker: its nanny and its worker process, as a machine that dies."""
        proc = self.workers[name]
        with _suppress_lookup():
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def client(self) -> Any:
        """A synchronous Dask client of this cluster (close it)."""
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)


@contextmanager
def _suppress_lookup() -> Iterator[None]:
    try:
        yield
    except ProcessLookupError:
        pass


def _worker_env(home: Path) -> dict[str, str]:
    """The environment of a worker: this one without the test server's Jupyter directories, with
    its own home (its kernels' IPython profile and Jupyter runtime files go there)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER_", "IPYTHON", "JPY_", "PYTHONPATH")) and k != "HOME"
    }
    env["HOME"] = str(home)
    return env


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


@contextmanager
def dask_cluster_at(
    base: Path, workers: int = 2, worker_args: tuple[str, ...] = (), worker_env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """Start ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1 (free ports);
    worker ``wN`` runs in ``base/wN`` (empty, also its home and local directory), with
    ``worker_env`` added to its environment."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    (base / "scheduler").mkdir(parents=True, exist_ok=True)
    scheduler = _spawn(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        base / "scheduler",
        _worker_env(base / "scheduler"),
        base / "scheduler.log",
    )
    cluster = Cluster(address=address, base=base, scheduler=scheduler)
    try:
        for i in range(1, workers + 1):
            name = f"w{i}"
            home = base / name
            home.mkdir()
            cluster.worker_dirs[name] = home
            cluster.workers[name] = _spawn(
                [
                    DASK,
                    "worker",
                    address,
                    "--name",
                    name,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--local-directory",
                    str(home / "dask-scratch"),
                    *worker_args,
                ],
                home,
                {**_worker_env(home), **(worker_env or {})},
                base / f"{name}.log",
            )
        client = cluster.client()
        try:
            client.wait_for_workers(workers, timeout=90)
        finally:
            client.close()
        yield cluster
    finally:
        for proc in [*cluster.workers.values(), scheduler]:
            if proc.poll() is None:
                with _suppress_lookup():
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in [*cluster.workers.values(), scheduler]:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with _suppress_lookup():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One scheduler and two workers shared by the tests that leave them as they found them."""
    with dask_cluster_at(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture
def own_dask_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler and two workers of this test alone (it kills one)."""
    with dask_cluster_at(tmp_path / "cluster") as cluster:
        yield cluster


@pytest.fixture
def cluster(dask_cluster: Cluster) -> Cluster:
    """The cluster the test server's jobs run on (override to use another)."""
    return dask_cluster


@pytest.fixture
def jobs_config() -> dict[str, Any]:
    """Extra ``MCPExtensionApp`` traits for a test."""
    return {}


@pytest.fixture
def dask_config() -> dict[str, Any]:
    """Extra ``DaskJobExecutor`` traits for a test."""
    return {}


@pytest.fixture
def scheduler_address(cluster: Cluster) -> str:
    return cluster.address


@pytest.fixture
def jp_server_config(
    tmp_path: Path, scheduler_address: str, jobs_config: dict[str, Any], dask_config: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {
            "jobs_db_path": str(tmp_path / "jobdata" / "jobs.sqlite"),
            "job_executor_class": "jupyter_mcp_ext.jobs.dask.DaskJobExecutor",
            "dask_scheduler_address": scheduler_address,
            **jobs_config,
        },
        "DaskJobExecutor": {"monitor_interval": 0.5, **dask_config},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    """The real notebooks of tests/jobs/notebooks (from papermill's test suite), under the server root."""
    for source in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(source, jp_root_dir / source.name)
    return jp_root_dir


@pytest.fixture
def services(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["jupyter_mcp_ext_services"]
