"""A server restart while a job runs on the cluster: the job is taken up again and its result
lands, or, when the cluster no longer has it, it is marked lost; it never stays "running"."""

from __future__ import annotations

import asyncio
import uuid

import nbformat
import pytest

from jupyter_mcp_ext.jobs.dask.executor import PREFIX

from ..jobs.conftest import poll, process_alive, tool, wait_finished
from .test_dask_jobs import job_log, wait_for

pytestmark = [pytest.mark.dask, pytest.mark.kernel, pytest.mark.slow]

#: The kernel waits for Dask Variables the test sets: the cluster itself is the only thing the
#: test shares with the job.
STEPS = [
    "from distributed import Client, Variable\nprint('before', flush=True)",
    "c = Client(address, timeout=30, set_as_default=False)\nVariable(step1, client=c).get(timeout=120)\n"
    "print('during', flush=True)",
    "Variable(step2, client=c).get(timeout=120)\nprint('after', flush=True)\nc.close()",
]


def stdout_of(lines: list[dict]) -> list[str]:
    return [line["message"] for line in lines if line["level"] == "stdout"]


async def started_waiting(client, make_notebook, cluster) -> tuple[dict, dict, dict]:
    """Submit the waiting notebook; return (job, its status once 'before' is logged, the step names)."""
    make_notebook("steps.ipynb", STEPS)
    steps = {"step1": f"test-{uuid.uuid4().hex}", "step2": f"test-{uuid.uuid4().hex}"}
    job = await tool(
        client,
        "execute_notebook",
        notebook_path="steps.ipynb",
        mode="async",
        parameters={"address": cluster.address, **steps},
    )

    async def said_before() -> bool:
        return "before" in stdout_of(await job_log(client, job["job_id"]))

    await poll(said_before, 90, "the job to print 'before'")
    running = await wait_for(client, job["job_id"], lambda s: s["runner"]["kernel_pid"] is not None)
    return job, running, steps


async def test_a_job_running_on_the_cluster_through_a_server_restart_is_taken_up_again_and_its_result_lands(
    mcp_client, make_notebook, services, cluster, jp_root_dir
):
    dask = await asyncio.to_thread(cluster.client)
    try:
        async with mcp_client() as client:
            job, running, steps = await started_waiting(client, make_notebook, cluster)
            await services.jobs.stop()  # the server shuts down; the job keeps running on the cluster
            assert process_alive(running["runner"]["kernel_pid"])
            await asyncio.to_thread(lambda: dask_variable(dask, steps["step1"]).set("go"))

            async def said_during_while_down() -> bool:
                history = await asyncio.to_thread(dask.get_events, PREFIX + job["job_id"])
                return any(line.get("message") == "during" for _, m in history for line in (m.get("lines") or []))

            await poll(said_during_while_down, 30, "the job to print 'during' while the server is down")
            await services.jobs.start()  # ... and starts again
            await asyncio.to_thread(lambda: dask_variable(dask, steps["step2"]).set("go"))
            status = await wait_finished(client, job["job_id"], 90)
            lines = await job_log(client, job["job_id"])
    finally:
        await asyncio.to_thread(dask.close)

    assert status["status"] == "completed", status
    assert stdout_of(lines) == ["before", "during", "after"]
    assert any("following the job on the Dask scheduler" in line["message"] for line in lines)
    assert status["runner"]["runner_pid"] == running["runner"]["runner_pid"]
    out = nbformat.read(str(jp_root_dir / "steps_output.ipynb"), as_version=4)
    assert [o["text"] for c in out.cells for o in c.outputs if o.get("name") == "stdout"] == [
        "before\n",
        "during\n",
        "after\n",
    ]


async def test_a_job_the_cluster_no_longer_has_after_a_restart_is_marked_lost_and_its_kernel_is_stopped(
    mcp_client, make_notebook, services, cluster
):
    dask = await asyncio.to_thread(cluster.client)
    try:
        async with mcp_client() as client:
            job, running, _ = await started_waiting(client, make_notebook, cluster)
            await services.jobs.stop()
            name = PREFIX + job["job_id"]

            def drop() -> None:
                # What a scheduler that restarted has of the job: nothing.
                future = dask.get_dataset(name)
                dask.unpublish_dataset(name)
                dask.cancel([future], force=True)

            await asyncio.to_thread(drop)
            await services.jobs.start()
            status = await wait_finished(client, job["job_id"], 60)
    finally:
        await asyncio.to_thread(dask.close)

    assert status["status"] == "failed" and status["error"]["reason"] == "runner_lost", status
    assert "no longer known" in status["error"]["message"]
    kernel = running["runner"]["kernel_pid"]
    await poll(lambda: asyncio.sleep(0, not process_alive(kernel)), 20, "the job's kernel on the worker to be stopped")


def dask_variable(client, name: str):
    from distributed import Variable

    return Variable(name, client=client)


async def test_after_a_server_crash_the_next_server_takes_the_job_up_from_the_cluster(tmp_path, cluster, monkeypatch):
    from ..jobs.test_restart import _api, jupyter_server

    # Configuration alone, here through the environment: the executor and the scheduler's address.
    monkeypatch.setenv("JUPYTER_MCP_JOB_EXECUTOR_CLASS", "jupyter_mcp_ext.jobs.dask.DaskJobExecutor")
    monkeypatch.setenv("JUPYTER_MCP_DASK_SCHEDULER_ADDRESS", cluster.address)
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in STEPS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / "steps.ipynb"))
    steps = {"step1": f"test-{uuid.uuid4().hex}", "step2": f"test-{uuid.uuid4().hex}"}
    dask = await asyncio.to_thread(cluster.client)
    try:
        with jupyter_server(tmp_path, root) as first:
            async with _api(first) as http:
                body = {"notebook_path": "steps.ipynb", "parameters": {"address": cluster.address, **steps}}
                job_id = (await http.post("jobs", json=body)).json()["job_id"]

                async def said_before() -> bool:
                    logs = (await http.get(f"jobs/{job_id}/logs")).json()["logs"]
                    return "before" in stdout_of(logs)

                await poll(said_before, 90, "the job to print 'before'")
            first["proc"].kill()  # a crash: no shutdown hook runs
            first["proc"].wait()
        await asyncio.to_thread(lambda: dask_variable(dask, steps["step1"]).set("go"))
        with jupyter_server(tmp_path, root) as second:
            async with _api(second) as http:
                await asyncio.to_thread(lambda: dask_variable(dask, steps["step2"]).set("go"))

                async def finished() -> dict | None:
                    job = (await http.get(f"jobs/{job_id}")).json()
                    return job if job["status"] not in ("queued", "running") else None

                job = await poll(finished, 90, "the job to finish under the second server")
                logs = (await http.get(f"jobs/{job_id}/logs")).json()["logs"]
    finally:
        await asyncio.to_thread(dask.close)

    assert job["status"] == "completed", job
    assert stdout_of(logs) == ["before", "during", "after"]
    out = nbformat.read(str(root / "steps_output.ipynb"), as_version=4)
    assert [o["text"] for c in out.cells for o in c.outputs if o.get("name") == "stdout"][-1] == "after\n"
