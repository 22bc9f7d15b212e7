"""Stopping jobs (cancel, timeout) and the queue of max_concurrent_jobs."""

from __future__ import annotations

import time

import nbformat
import pytest

from ..conftest import error_text
from .conftest import poll, process_alive, tool, wait_finished, wait_until

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def _in_sleep_cell(status: dict) -> bool:
    current = status["progress"]["current_cell"] or {}
    return status["runner"]["kernel_pid"] is not None and current.get("index") == 0


async def test_cancel_stops_a_long_sleep_within_10_s_and_leaves_no_kernel(mcp_client, notebooks):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_until(client, job["job_id"], _in_sleep_cell)
        kernel_pid, runner_pid = running["runner"]["kernel_pid"], running["runner"]["runner_pid"]
        assert process_alive(kernel_pid)
        started = time.monotonic()
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=job["job_id"])
        took = time.monotonic() - started
        status = await tool(client, "manage_async_job", operation="status", job_id=job["job_id"])
        again = error_text(await client.call_tool("manage_async_job", {"operation": "cancel", "job_id": job["job_id"]}))

    assert cancelled["status"] == "cancelled" and took < 10, (cancelled, took)
    assert status["status"] == "cancelled" and status["completed_at"] is not None
    assert not process_alive(kernel_pid) and not process_alive(runner_pid)
    partial = nbformat.read(str(notebooks / "keyboard_interrupt_output.ipynb"), as_version=4)
    (sleep_cell,) = [c for c in partial.cells if c.cell_type == "code"]
    assert [o.get("ename") for o in sleep_cell.outputs if o["output_type"] == "error"] == ["KeyboardInterrupt"]
    assert "already ended (cancelled)" in again


async def test_a_job_past_its_timeout_is_stopped_and_marked_timeout(mcp_client, notebooks):
    async with mcp_client() as client:
        # The job's time counts from its start, the kernel's start included (seconds on a busy machine):
        # 8 s leaves the kernel time to start and the cell (a 60 s sleep) time to be the one stopped.
        result = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", timeout_seconds=8)
        status = await tool(client, "manage_async_job", operation="status", job_id=result["job_id"])

    assert result["execution_status"] == "timeout"
    assert result["error"]["reason"] == "timeout" and result["error"]["cell_index"] == 0, result["error"]
    assert "timeout_seconds=8" in result["error"]["message"]
    assert result["execution_time"] < 18
    assert not process_alive(status["runner"]["kernel_pid"])


@pytest.mark.parametrize("jobs_config", [{"max_concurrent_jobs": 2}])
async def test_six_jobs_run_two_at_a_time_and_the_rest_wait_queued(mcp_client, make_notebook):
    for i in range(6):
        make_notebook(f"q{i}.ipynb", ["import time\ntime.sleep(1.5)", f"print({i})"])
    async with mcp_client() as client:
        ids = [
            (await tool(client, "execute_notebook", notebook_path=f"q{i}.ipynb", mode="async"))["job_id"]
            for i in range(6)
        ]
        most_running, saw_queued = 0, 0

        async def all_done() -> bool:
            nonlocal most_running, saw_queued
            listed = await tool(client, "manage_async_job", operation="list")
            most_running = max(most_running, listed["running_jobs"])
            saw_queued = max(saw_queued, listed["queued_jobs"])
            return listed["completed_jobs"] == 6

        await poll(all_done, 120, "6 jobs to complete")
        finals = [await tool(client, "manage_async_job", operation="status", job_id=i) for i in ids]

    assert most_running == 2 and saw_queued >= 3
    # From the recorded times: at no instant did more than two jobs run.
    edges = sorted([(s["started_at"], 1) for s in finals] + [(s["completed_at"], -1) for s in finals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    assert [s["notebook_path"] for s in sorted(finals, key=lambda s: s["started_at"])] == [
        f"q{i}.ipynb" for i in range(6)
    ]


async def test_a_queued_job_cancelled_never_starts(mcp_client, make_notebook, notebooks):
    make_notebook("a.ipynb", ["import time\ntime.sleep(2)"])
    make_notebook("b.ipynb", ["import time\ntime.sleep(2)"])
    async with mcp_client() as client:
        first = await tool(client, "execute_notebook", notebook_path="a.ipynb", mode="async")
        second = await tool(client, "execute_notebook", notebook_path="b.ipynb", mode="async")
        third = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async")
        assert third["status"] == "queued"  # max_concurrent_jobs defaults to 2
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=third["job_id"])
        await wait_finished(client, first["job_id"])
        await wait_finished(client, second["job_id"])
        status = await tool(client, "manage_async_job", operation="status", job_id=third["job_id"])

    assert cancelled["status"] == "cancelled"
    assert status["status"] == "cancelled" and status["started_at"] is None
    assert not (notebooks / "simple_execute_output.ipynb").exists()


async def test_a_job_cancelled_right_after_it_was_submitted_ends_cancelled_with_no_kernel(mcp_client, notebooks):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=job["job_id"])
        status = await tool(client, "manage_async_job", operation="status", job_id=job["job_id"])

    assert cancelled["status"] == "cancelled" and status["status"] == "cancelled"
    for pid in (status["runner"]["kernel_pid"], status["runner"]["runner_pid"]):
        assert pid is None or not process_alive(pid)


async def test_a_sync_call_the_client_gives_up_on_cancels_its_job(mcp_client, notebooks):
    async with mcp_client() as client:
        with pytest.raises(Exception, match="timed out"):
            await client.call_tool(
                "execute_notebook", {"notebook_path": "keyboard_interrupt.ipynb"}, read_timeout_seconds=4
            )
        (job,) = (await tool(client, "manage_async_job", operation="list"))["jobs"]
        status = await wait_finished(client, job["job_id"], timeout=15)

    assert status["status"] == "cancelled"
    assert not process_alive(status["runner"]["kernel_pid"])
