"""A worker lost mid-job: the job fails naming the worker, runs nowhere else, and leaves no kernel."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from ..jobs.conftest import poll, process_alive, tool
from .conftest import Cluster
from .test_dask_jobs import job_log, wait_for, worker_of

pytestmark = [pytest.mark.dask, pytest.mark.kernel, pytest.mark.slow]


@pytest.fixture
def dask_config() -> dict:
    return {"output_save_interval": 0.5}


@pytest.fixture
def cluster(own_dask_cluster: Cluster) -> Cluster:
    """This module's tests kill workers: each gets a cluster of its own."""
    return own_dask_cluster


async def test_killing_the_worker_of_a_running_job_fails_it_naming_the_worker(mcp_client, notebooks, cluster):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_for(client, job["job_id"], lambda s: s["progress"]["current_cell"] is not None)
        name = worker_of(await job_log(client, job["job_id"]))
        output = notebooks / "keyboard_interrupt_output.ipynb"
        await poll(lambda: asyncio.sleep(0, output.exists()), 30, "the running job's partial output to be written")
        cluster.kill_worker(name)
        status = await wait_for(client, job["job_id"], lambda s: s["status"] != "running", 60)
        lines = [line["message"] for line in await job_log(client, job["job_id"])]

    assert status["status"] == "failed" and status["error"]["reason"] == "runner_lost", status
    assert f"worker {name!r}" in status["error"]["message"] and "was lost" in status["error"]["message"]
    assert sum(m.startswith("Running on Dask worker") for m in lines) == 1, "the job must not run again elsewhere"
    partial = nbformat.read(str(output), as_version=4)
    assert [c.source for c in partial.cells] == ["from time import sleep\nsleep(60)"]
    for pid in (running["runner"]["kernel_pid"], running["runner"]["runner_pid"]):
        await poll(
            lambda pid=pid: asyncio.sleep(0, not process_alive(pid)), 15, f"process {pid} on the lost worker to end"
        )
