"""Failures are told apart: a dead kernel, a lost runner, a notebook broken while its job waited."""

from __future__ import annotations

import os
import signal

import pytest

from .conftest import process_alive, tool, wait_finished, wait_until

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


async def test_a_kernel_that_dies_fails_the_job_with_reason_kernel_died(mcp_client, make_notebook):
    make_notebook("die.ipynb", ["x = 1", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "print(x)"])
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="die.ipynb")

    assert data["execution_status"] == "failed"
    assert (data["error"]["reason"], data["error"]["type"], data["error"]["cell_index"]) == (
        "kernel_died",
        "KernelDied",
        1,
    )
    assert data["cells_succeeded"] == 1


async def test_a_runner_killed_under_a_live_server_fails_the_job_and_its_kernel_is_killed(mcp_client, notebooks):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_until(client, job["job_id"], lambda s: s["progress"]["current_cell"] is not None)
        os.kill(running["runner"]["runner_pid"], signal.SIGKILL)
        status = await wait_finished(client, job["job_id"])

    assert status["status"] == "failed" and status["error"]["reason"] == "runner_lost"
    assert f"pid {running['runner']['runner_pid']}" in status["error"]["message"]
    assert not process_alive(running["runner"]["kernel_pid"])


@pytest.mark.parametrize("jobs_config", [{"max_concurrent_jobs": 1}])
async def test_a_notebook_broken_while_its_job_was_queued_fails_it_with_reason_bad_input(
    mcp_client, make_notebook, jp_root_dir
):
    make_notebook("first.ipynb", ["import time\ntime.sleep(1.5)"])
    make_notebook("later.ipynb", ["print('fine when submitted')"])
    async with mcp_client() as client:
        first = await tool(client, "execute_notebook", notebook_path="first.ipynb", mode="async")
        later = await tool(client, "execute_notebook", notebook_path="later.ipynb", mode="async")
        assert later["status"] == "queued"
        (jp_root_dir / "later.ipynb").write_text("{ no longer a notebook")
        await wait_finished(client, first["job_id"])
        status = await wait_finished(client, later["job_id"])

    assert status["status"] == "failed" and status["error"]["reason"] == "bad_input"
    assert "could not be prepared" in status["error"]["message"]
