"""Jobs survive restarts: records and results are listed again, lost runners are reported, live
runners are followed again, and a clean shutdown stops running jobs without losing queued ones."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import nbformat
import pytest

from ..conftest import error_text, result_json
from .conftest import NOTEBOOKS, WAIT_FOR_GO, poll, process_alive, tool, wait_finished, wait_until

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TOKEN = "restart-token"


@pytest.mark.parametrize("jobs_config", [{"max_concurrent_jobs": 1}])
async def test_clean_shutdown_stops_running_jobs_and_the_next_start_lists_them_and_runs_the_queue(
    mcp_client, notebooks, services
):
    async with mcp_client() as client:
        done = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": "a"})
        running = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        queued = await tool(client, "execute_notebook", notebook_path="sysexit.ipynb", mode="async")
        status = await wait_until(client, running["job_id"], lambda s: s["progress"]["current_cell"] is not None)
        kernel_pid = status["runner"]["kernel_pid"]

        await services.jobs.stop()  # what the server does when it shuts down
        await services.jobs.start()  # ... and when it starts again

        listed = {j["job_id"]: j for j in (await tool(client, "manage_async_job", operation="list"))["jobs"]}
        stopped = await tool(client, "manage_async_job", operation="status", job_id=running["job_id"])
        ran = await wait_finished(client, queued["job_id"])
        first = await tool(client, "manage_async_job", operation="status", job_id=done["job_id"])

    assert listed[done["job_id"]]["status"] == "completed" and first["result"]["cells_succeeded"] == 3
    assert stopped["status"] == "failed" and stopped["error"]["reason"] == "server_shutdown"
    assert not process_alive(kernel_pid)
    assert (notebooks / "keyboard_interrupt_output.ipynb").exists()
    assert ran["status"] == "completed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_server(base: Path, root: Path) -> Iterator[dict[str, Any]]:
    """A real ``jupyter server`` process with the extension; its job database under ``base``."""
    config_dir = base / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True, "open_browser": False},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {"jobs_db_path": str(base / "data" / "jobs.sqlite")},
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    log = open(base / f"server-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx2.get(f"{url}api/status", headers={"Authorization": f"token {TOKEN}"}, timeout=2).status_code
                    == 200
                ):
                    break
            except httpx2.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (base / f"server-{port}.log").read_text()
            time.sleep(0.2)
        yield {"url": url, "proc": proc}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _api(server: dict[str, Any]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=f"{server['url']}jupyter-mcp-ext/", headers={"Authorization": f"token {TOKEN}"}, timeout=60
    )


async def _wait_job(http: httpx2.AsyncClient, job_id: str, check: Any, what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        job = (await http.get(f"jobs/{job_id}")).json()
        return job if check(job) else None

    return await poll(probe, 90, what)


async def test_after_a_server_crash_finished_jobs_are_listed_lost_runners_fail_and_live_ones_are_followed(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for name in ("simple_execute.ipynb", "keyboard_interrupt.ipynb"):
        (root / name).write_bytes((NOTEBOOKS / name).read_bytes())
    slow = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WAIT_FOR_GO + "print('survived')")])
    slow.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(slow, str(root / "slow.ipynb"))

    with jupyter_server(tmp_path, root) as first:
        async with _api(first) as http:
            done = (await http.post("jobs", json={"notebook_path": "simple_execute.ipynb"})).json()["job_id"]
            await _wait_job(http, done, lambda j: j["status"] == "completed", "the first job")
            live = (await http.post("jobs", json={"notebook_path": "slow.ipynb"})).json()["job_id"]
            lost = (await http.post("jobs", json={"notebook_path": "keyboard_interrupt.ipynb"})).json()["job_id"]
            in_cell = lambda j: j["progress"]["current_cell"] is not None  # noqa: E731
            live_job = await _wait_job(http, live, in_cell, "the slow job's cell")
            lost_job = await _wait_job(http, lost, in_cell, "the sleeping job's cell")
        first["proc"].kill()  # a crash: no shutdown hook runs, the runners keep going
        first["proc"].wait()
        os.kill(lost_job["runner"]["runner_pid"], signal.SIGKILL)  # this runner dies with the server

    with jupyter_server(tmp_path, root) as second:
        async with _api(second) as http:
            listed = {j["job_id"]: j for j in (await http.get("jobs")).json()["jobs"]}
            lost_after = await _wait_job(http, lost, lambda j: j["status"] != "running", "the lost job")
            (root / "go").touch()  # now let the followed job finish
            live_after = await _wait_job(http, live, lambda j: j["status"] != "running", "the followed job")
            live_log = [line["message"] for line in (await http.get(f"jobs/{live}/logs")).json()["logs"]]

    assert listed[done]["status"] == "completed" and listed[done]["result"]["cells_succeeded"] == 2
    assert listed[live]["status"] == "running"
    assert lost_after["status"] == "failed" and lost_after["error"]["reason"] == "runner_lost"
    assert str(lost_job["runner"]["runner_pid"]) in lost_after["error"]["message"]
    assert not process_alive(lost_job["runner"]["kernel_pid"])
    assert live_after["status"] == "completed", live_after
    assert live_after["runner"]["runner_pid"] == live_job["runner"]["runner_pid"]
    assert any("restarted; following the job's runner" in m for m in live_log)
    out = nbformat.read(str(root / "slow_output.ipynb"), as_version=4)
    assert out.cells[0].outputs[0]["text"] == "survived\n"


@pytest.mark.parametrize("executor_config", [{"keep_running_on_shutdown": True}])
async def test_with_keep_running_on_shutdown_a_job_outlives_a_clean_shutdown_and_is_followed_after(
    mcp_client, make_notebook, services, jp_root_dir
):
    make_notebook("long.ipynb", [WAIT_FOR_GO + "print('kept running')"])
    async with mcp_client() as client, mcp_client() as waiting:
        job = await tool(client, "execute_notebook", notebook_path="long.ipynb", mode="async")
        running = await wait_until(client, job["job_id"], lambda s: s["progress"]["current_cell"] is not None)
        # A sync call of the same notebook waits too: the shutdown tells it what becomes of its job.
        sync = asyncio.ensure_future(
            waiting.call_tool("execute_notebook", {"notebook_path": "long.ipynb", "output_path": "long2.ipynb"})
        )
        await wait_until(
            client,
            (await tool(client, "manage_async_job", operation="list"))["jobs"][0]["job_id"],
            lambda s: s["progress"]["current_cell"] is not None,
        )
        await services.jobs.stop()
        told = error_text(await asyncio.wait_for(sync, 30))
        assert process_alive(running["runner"]["runner_pid"])
        await services.jobs.start()
        (jp_root_dir / "go").touch()
        status = await wait_finished(client, job["job_id"])

    assert status["status"] == "completed"
    assert status["runner"]["runner_pid"] == running["runner"]["runner_pid"]
    assert "The Jupyter server is shutting down: job job_" in told and "it goes on running" in told
    assert "the next server start follows it" in told and "manage_async_job(operation='status'" in told


@asynccontextmanager
async def _mcp(server: dict[str, Any]) -> AsyncIterator[Any]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"Authorization": f"token {TOKEN}"}, timeout=120) as http:
        async with Client(streamable_http_client(f"{server['url']}mcp", http_client=http)) as client:
            yield client


async def test_done_when_an_mcp_client_runs_polls_reads_cancels_and_lists_both_after_a_restart(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for name in ("simple_execute.ipynb", "keyboard_interrupt.ipynb"):
        (root / name).write_bytes((NOTEBOOKS / name).read_bytes())

    with jupyter_server(tmp_path, root) as first:
        async with _mcp(first) as client:
            run = await tool(
                client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async", parameters={"msg": "Q3"}
            )
            other = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
            done = await wait_finished(client, run["job_id"])
            logs = await tool(client, "manage_async_job", operation="logs", job_id=run["job_id"])
            await wait_until(client, other["job_id"], lambda s: s["progress"]["current_cell"] is not None)
            cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=other["job_id"])

    with jupyter_server(tmp_path, root) as second:
        async with _mcp(second) as client:
            listed = await tool(client, "manage_async_job", operation="list")
        async with _api(second) as http:
            rest = (await http.get("jobs")).json()

    assert done["status"] == "completed" and done["progress"]["percent"] == 100.0
    assert "Q3" in [line["message"] for line in logs["logs"] if line["level"] == "stdout"]
    assert cancelled["status"] == "cancelled"
    statuses = {j["job_id"]: j["status"] for j in listed["jobs"]}
    assert statuses == {run["job_id"]: "completed", other["job_id"]: "cancelled"}
    assert {j["job_id"]: j["status"] for j in rest["jobs"]} == statuses


async def test_calls_cut_by_the_servers_shutdown_say_the_server_stopped_them(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    waiting = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WAIT_FOR_GO + "print('never')")])
    waiting.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(waiting, str(root / "waiting.ipynb"))

    with jupyter_server(tmp_path, root) as server:
        async with _mcp(server) as client, _mcp(server) as watcher:
            kernel_id = (await tool(client, "start_kernel"))["kernel_id"]
            code = {"kernel_id": kernel_id, "mode": "code", "code": "import time\ntime.sleep(60)", "timeout": 0}
            running_code = asyncio.ensure_future(client.call_tool("execute_on_kernel", code))
            sync_job = asyncio.ensure_future(client.call_tool("execute_notebook", {"notebook_path": "waiting.ipynb"}))

            async def both_running() -> bool:
                jobs = (await tool(watcher, "manage_async_job", operation="list"))["jobs"]
                kernel = await tool(watcher, "list_kernels", kernel_id=kernel_id)
                return bool(jobs) and jobs[0]["status"] == "running" and kernel["execution_state"] == "busy"

            await poll(both_running, 60, "the job and the code to run")
            await asyncio.sleep(1)  # the job's cell is running
            server["proc"].send_signal(signal.SIGTERM)
            code_result, job_result = await asyncio.wait_for(asyncio.gather(running_code, sync_job), 60)

    code_text = error_text(code_result)
    assert "The Jupyter server is shutting down: this call on kernel" in code_text
    assert "JupyterLab, the REST API or the idle culler" not in code_text
    job = result_json(job_result)
    assert job["execution_status"] == "failed" and job["error"]["reason"] == "server_shutdown", job
    assert "The Jupyter server shut down while the job was running" in job["error"]["message"]
    assert "not a known job" not in json.dumps(job)
