"""Notebook jobs on a Dask Gateway cluster: a real ``dask-gateway-server`` on loopback (its local
backend starts the cluster's scheduler and workers as processes of this machine, with TLS through
the gateway's proxy, as on JupyterHub), and a Jupyter server whose jobs run on a cluster of it by name."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import poll
from ..jobs.conftest import process_alive, tool, wait_finished, wait_until
from .conftest import free_port

pytest.importorskip(
    "dask_gateway_server", reason='the gateway tests need dask-gateway-server: pip install -e ".[test]"'
)
pytest.importorskip("dask_gateway", reason='the gateway tests need the dask-gateway extra: pip install -e ".[test]"')

pytestmark = [pytest.mark.dask, pytest.mark.kernel, pytest.mark.slow]

PASSWORD = "gateway-test-password"
#: Seconds of idleness after which the gateway stops a cluster (it checks every quarter of it).
IDLE_TIMEOUT = 12.0

CONFIG = """
c.DaskGateway.address = "127.0.0.1:{api_port}"
c.Proxy.address = "127.0.0.1:{proxy_port}"
c.Proxy.tcp_address = "127.0.0.1:{tcp_port}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = {password!r}
# distributed 2026 has no dask-scheduler / dask-worker commands any more.
c.ClusterConfig.scheduler_cmd = [{dask!r}, "scheduler"]
c.ClusterConfig.worker_cmd = [{dask!r}, "worker"]
c.ClusterConfig.worker_cores = 1
c.ClusterConfig.idle_timeout = {idle_timeout}
c.LocalBackend.clusters_directory = {clusters!r}
# The workers run the jobs' notebooks: they need this checkout (PYTHONPATH) and a home for IPython.
c.LocalBackend.inherited_environment = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "HOME"]
"""


class Gateway:
    """A running dask-gateway-server: its addresses, and a client of it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.api_port, self.proxy_port, self.tcp_port = free_port(), free_port(), free_port()
        self.address = f"http://127.0.0.1:{self.proxy_port}"
        self.proxy_address = f"gateway://127.0.0.1:{self.tcp_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        """dask's configuration of a client of this gateway, as JupyterHub sets it for a user's server."""
        return {
            "gateway.address": self.address,
            "gateway.proxy-address": self.proxy_address,
            "gateway.auth.type": "basic",
            "gateway.auth.kwargs": {"password": PASSWORD},
        }

    def client(self) -> Any:
        """A (synchronous) client of the gateway: close it."""
        import dask
        from dask_gateway import Gateway as GatewayClient

        with dask.config.set(self.config()):
            return GatewayClient()

    def cluster_names(self) -> set[str]:
        client = self.client()
        try:
            return {c.name for c in client.list_clusters()}
        finally:
            client.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway")
    gw = Gateway(base)
    (base / "clusters").mkdir()
    (base / "home").mkdir()
    config = base / "dask_gateway_config.py"
    config.write_text(
        CONFIG.format(
            api_port=gw.api_port,
            proxy_port=gw.proxy_port,
            tcp_port=gw.tcp_port,
            password=PASSWORD,
            dask=str(Path(sys.executable).with_name("dask")),
            idle_timeout=IDLE_TIMEOUT,
            clusters=str(base / "clusters"),
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
    env["HOME"] = str(base / "home")
    server = shutil.which("dask-gateway-server") or str(Path(sys.executable).with_name("dask-gateway-server"))
    with open(base / "gateway.log", "wb") as log:
        gw.proc = subprocess.Popen(
            [server, "-f", str(config)], cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                gw.cluster_names()
                break
            except Exception as e:
                if gw.proc.poll() is not None or time.monotonic() > deadline:
                    log = (base / "gateway.log").read_text()
                    raise AssertionError(f"dask-gateway-server did not start:\n{log}") from e
                time.sleep(0.3)
        yield gw
    finally:
        os.killpg(gw.proc.pid, signal.SIGTERM)
        try:
            gw.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(gw.proc.pid, signal.SIGKILL)
            gw.proc.wait()


@pytest.fixture
def gateway_cluster(gateway: Gateway) -> Iterator[str]:
    """A cluster of the gateway with one worker, as a user starts it; its name."""
    client = gateway.client()
    cluster = client.new_cluster(shutdown_on_close=False)
    try:
        cluster.scale(1)
        with cluster.get_client(set_as_default=False) as dask_client:
            dask_client.wait_for_workers(1, timeout=90)
        yield cluster.name
    finally:
        cluster.close(shutdown=True)
        client.close()


@pytest.fixture
def scheduler_address() -> str:
    return ""  # the gateway cluster's name is the setting


@pytest.fixture
def jobs_config(gateway_cluster: str) -> dict[str, Any]:
    return {"dask_gateway_cluster": gateway_cluster}


@pytest.fixture(autouse=True)
def gateway_config(gateway: Gateway) -> Iterator[None]:
    """The server finds the gateway through dask's configuration, as on JupyterHub."""
    import dask

    with dask.config.set(gateway.config()):
        yield


async def test_a_job_runs_on_a_gateway_cluster_with_progress_and_logs(mcp_client, notebooks, gateway_cluster):
    async with mcp_client() as client:
        job = await tool(
            client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async", parameters={"msg": "gw"}
        )
        running = await wait_until(client, job["job_id"], lambda s: s["progress"]["cells_executed"] > 0, 120)
        done = await wait_finished(client, job["job_id"], 120)
        logs = (await tool(client, "manage_async_job", operation="logs", job_id=job["job_id"]))["logs"]
        info = await tool(client, "system_info")

    assert done["status"] == "completed", done
    assert running["progress"]["cells_total"] == 3 and done["progress"]["cells_executed"] == 3
    assert any(line["message"].startswith("Running on Dask worker") for line in logs), logs
    assert [line["message"] for line in logs if line["level"] == "stdout"] == ["gw"]
    executor = info["job_executor"]
    assert executor["gateway_cluster"] == gateway_cluster and executor["state"] == "connected", executor


async def test_cancel_stops_a_job_on_a_gateway_cluster_and_kills_its_kernel(mcp_client, notebooks):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_until(
            client, job["job_id"], lambda s: (s["progress"]["current_cell"] or {}).get("index") == 0, 120
        )
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=job["job_id"])

    assert cancelled["status"] == "cancelled"
    assert not process_alive(running["runner"]["kernel_pid"])  # the gateway's workers run on this machine


async def test_the_gateway_stops_an_idle_cluster_the_server_is_connected_to_and_new_jobs_say_why(
    mcp_client, notebooks, gateway, gateway_cluster
):
    async with mcp_client() as client:
        first = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": "1"})
        assert first["execution_status"] == "completed", first

        # The server stays connected; the cluster runs nothing: the gateway stops it when idle.
        async def stopped() -> bool:
            return gateway_cluster not in await asyncio.to_thread(gateway.cluster_names)

        await poll(stopped, IDLE_TIMEOUT * 4, "the gateway to stop the idle cluster")

        async def seen_stopped() -> dict[str, Any] | None:
            executor = (await tool(client, "system_info"))["job_executor"]
            return executor if executor["state"] == "unreachable" else None

        executor = await poll(seen_stopped, 30, "the server to see the cluster stopped")
        refused = await client.call_tool("execute_notebook", {"notebook_path": "simple_execute.ipynb"})

    assert "not running" in executor["error"] and "idle_timeout" in executor["error"], executor
    assert refused.is_error
    text = refused.content[0].text
    assert gateway_cluster in text and "not running" in text, text
