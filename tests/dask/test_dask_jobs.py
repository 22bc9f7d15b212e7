"""Notebook jobs on a real Dask cluster (a scheduler and two workers on loopback): the same job
model as local jobs, with nothing shared with the workers but the cluster."""

from __future__ import annotations

import asyncio
import time

import nbformat
import pytest

from ..conftest import error_text
from ..jobs.conftest import job_status, poll, process_alive, tool, wait_finished, wait_for_first_output, wait_until

pytestmark = [pytest.mark.dask, pytest.mark.kernel, pytest.mark.slow]


async def job_log(client, job_id: str) -> list[dict]:
    lines, since = [], 0
    while True:
        page = await tool(client, "manage_async_job", operation="logs", job_id=job_id, since_line=since)
        lines += page["logs"]
        since = page["next_since_line"]
        if not page["has_more"]:
            return lines


async def wait_for(client, job_id: str, predicate, timeout: float = 90) -> dict:
    """``wait_until``, failing with the job's status and log (what happened on the cluster)."""
    try:
        return await wait_until(client, job_id, predicate, timeout=timeout)
    except AssertionError as e:
        status = await job_status(client, job_id)
        lines = "\n".join(f"{line['level']}: {line['message']}" for line in await job_log(client, job_id))
        raise AssertionError(f"{e}\nstatus: {status}\nlog:\n{lines}") from None


def worker_of(lines: list[dict]) -> str | None:
    """The worker name in the job's 'Running on Dask worker 'wN' ...' log line."""
    for line in lines:
        if line["message"].startswith("Running on Dask worker '"):
            return line["message"].split("'")[1]
    return None


async def test_parameterized_jobs_run_on_the_workers_from_the_notebook_content_alone(
    mcp_client, notebooks, make_notebook, jp_root_dir, cluster
):
    (jp_root_dir / "only-on-the-server.txt").write_text("the server's disk")
    make_notebook(
        "where.ipynb",
        ["import os", "print(who, os.getcwd(), os.path.exists('only-on-the-server.txt'), os.environ['COLOUR'])"],
    )
    async with mcp_client() as client:
        simple = await tool(
            client,
            "execute_notebook",
            notebook_path="simple_execute.ipynb",
            mode="async",
            parameters={"msg": "on dask"},
        )
        where = await tool(
            client,
            "execute_notebook",
            notebook_path="where.ipynb",
            mode="async",
            parameters={"who": "me"},
            env_overrides={"COLOUR": "teal"},
        )
        done = [await wait_finished(client, j["job_id"], 90) for j in (simple, where)]
        logs = await job_log(client, where["job_id"])

    assert [d["status"] for d in done] == ["completed", "completed"], done
    assert done[0]["progress"]["cells_executed"] == done[0]["progress"]["cells_total"] == 3
    out = nbformat.read(str(jp_root_dir / "simple_execute_output.ipynb"), as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'msg = "on dask"' in injected[0].source
    assert [o["text"] for c in out.cells for o in c.get("outputs", []) if o.get("name") == "stdout"] == ["on dask\n"]
    printed = nbformat.read(str(jp_root_dir / "where_output.ipynb"), as_version=4).cells[-1].outputs[0]["text"]
    who, cwd, seen, colour = printed.split()
    worker = worker_of(logs)
    assert (who, seen, colour) == ("me", "False", "teal")
    assert worker in cluster.worker_dirs and cwd.startswith(str(cluster.worker_dirs[worker])), (cwd, worker)
    assert str(jp_root_dir) not in cwd


async def test_progress_and_logs_arrive_while_the_job_runs_on_a_worker(mcp_client, notebooks):
    # test_autosave.ipynb prints 0..24, one line every 0.1 s.
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="test_autosave.ipynb", mode="async")
        running = await wait_for(client, job["job_id"], lambda s: s["progress"]["current_cell"] is not None)
        pages, since, running_pages = [], 0, 0
        while True:
            page = await tool(client, "manage_async_job", operation="logs", job_id=job["job_id"], since_line=since)
            pages.append(page)
            running_pages += page["status"] == "running" and any(line["level"] == "stdout" for line in page["logs"])
            since = page["next_since_line"]
            if page["status"] not in ("queued", "running") and not page["has_more"]:
                break
            await asyncio.sleep(0.2)

    lines = [line for page in pages for line in page["logs"]]
    assert running["status"] == "running" and running["runner"]["kernel_pid"] is not None
    assert [line["line"] for line in lines] == list(range(1, len(lines) + 1))
    assert [line["message"] for line in lines if line["level"] == "stdout"] == [str(i) for i in range(25)]
    assert running_pages >= 2, "stdout should arrive in several pages while the job runs"
    assert pages[-1]["status"] == "completed"


async def test_a_cell_error_on_a_worker_reports_the_failing_cell_of_the_input_notebook(mcp_client, notebooks):
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="broken1.ipynb")

    assert data["execution_status"] == "failed"
    error = data["error"]
    assert (error["cell_index"], error["type"], error["reason"]) == (6, "AssertionError", "cell_error")
    assert any("assert False" in line for line in error["traceback"])


async def test_cancel_kills_the_kernel_on_the_worker_within_10_s_and_keeps_the_partial_output(mcp_client, notebooks):
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_for(
            client,
            job["job_id"],
            lambda s: s["runner"]["kernel_pid"] is not None and (s["progress"]["current_cell"] or {}).get("index") == 0,
        )
        kernel_pid = running["runner"]["kernel_pid"]
        assert process_alive(kernel_pid)
        started = time.monotonic()
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=job["job_id"])
        took = time.monotonic() - started

    assert cancelled["status"] == "cancelled" and took < 10, (cancelled, took)
    assert not process_alive(kernel_pid)
    partial = nbformat.read(str(notebooks / "keyboard_interrupt_output.ipynb"), as_version=4)
    (sleep_cell,) = [c for c in partial.cells if c.cell_type == "code"]
    assert [o.get("ename") for o in sleep_cell.outputs if o["output_type"] == "error"] == ["KeyboardInterrupt"]


@pytest.mark.parametrize("jobs_config", [{"max_concurrent_jobs": 2}])
async def test_six_jobs_run_two_at_a_time_one_on_each_worker(mcp_client, make_notebook, cluster):
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

        await poll(all_done, 180, "6 jobs to complete")
        finals = [await job_status(client, i) for i in ids]
        workers = {worker_of(await job_log(client, i)) for i in ids}

    assert most_running == 2 and saw_queued >= 3
    edges = sorted([(s["started_at"], 1) for s in finals] + [(s["completed_at"], -1) for s in finals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    assert workers == set(cluster.worker_dirs), workers


@pytest.mark.parametrize("dask_config", [{"connect_timeout": 2.0}])
@pytest.mark.parametrize("scheduler_address", ["tcp://127.0.0.1:9"])
async def test_an_unreachable_scheduler_fails_new_jobs_at_once_and_status_says_so(mcp_client, notebooks, contents_api):
    async with contents_api() as http:

        async def unreachable():
            status = (await http.get("jupyter-mcp-ext/status")).json()
            return status if status["job_executor"]["state"] == "unreachable" else None

        status = await poll(unreachable, 30, "the status endpoint to report the scheduler unreachable")
    async with mcp_client() as client:
        started = time.monotonic()
        refused = error_text(await client.call_tool("execute_notebook", {"notebook_path": "simple_execute.ipynb"}))
        took = time.monotonic() - started
        info = await tool(client, "system_info")
        listed = await tool(client, "manage_async_job", operation="list")

    assert took < 1.0, took
    assert "tcp://127.0.0.1:9" in refused and "cannot be reached" in refused
    assert status["job_executor"]["scheduler_address"] == "tcp://127.0.0.1:9"
    assert "cannot be reached" in status["job_executor"]["error"]
    assert info["job_executor"]["state"] == "unreachable"
    assert listed["total_jobs"] == 0


@pytest.mark.parametrize("dask_config", [{"cluster_concurrency": True}])
@pytest.mark.parametrize("jobs_config", [{"max_concurrent_jobs": 1}])
async def test_with_cluster_concurrency_jobs_wait_on_the_cluster_and_one_still_waiting_cancels_at_once(
    mcp_client, make_notebook
):
    for i in range(3):
        make_notebook(f"c{i}.ipynb", ["import time\ntime.sleep(4)"])
    async with mcp_client() as client:
        ids = [
            (await tool(client, "execute_notebook", notebook_path=f"c{i}.ipynb", mode="async"))["job_id"]
            for i in range(3)
        ]
        listed = await tool(client, "manage_async_job", operation="list")

        async def two_running() -> list[dict] | None:
            statuses = [await job_status(client, i) for i in ids]
            with_kernel = [s for s in statuses if s["runner"]["kernel_pid"]]
            return statuses if len(with_kernel) == 2 else None

        statuses = await poll(two_running, 90, "two jobs to run, one on each worker")
        (waiting,) = [s for s in statuses if not s["runner"]["kernel_pid"]]
        started = time.monotonic()
        cancelled = await tool(client, "manage_async_job", operation="cancel", job_id=waiting["job_id"])
        took = time.monotonic() - started
        others = [await wait_finished(client, i, 60) for i in ids if i != waiting["job_id"]]
        waiting_log = await job_log(client, waiting["job_id"])

    assert listed["queued_jobs"] == 0 and listed["running_jobs"] == 3  # max_concurrent_jobs=1 does not apply
    assert cancelled["status"] == "cancelled" and took < 3, (cancelled, took)
    assert worker_of(waiting_log) is None, "the cancelled job never reached a worker"
    assert [s["status"] for s in others] == ["completed", "completed"]


@pytest.mark.parametrize("dask_config", [{"output_save_interval": 0.5}])
async def test_an_edit_made_to_a_dask_job_output_mid_run_is_kept_and_the_output_goes_beside_it(
    mcp_client, contents_api, make_notebook, jp_root_dir, cluster
):
    make_notebook("waiting.ipynb", ["print('before')", "import time\ntime.sleep(10)", "print('after')"])
    async with mcp_client() as client, contents_api() as rest:
        job = await tool(client, "execute_notebook", notebook_path="waiting.ipynb", mode="async")

        await wait_for_first_output(rest, "waiting_output.ipynb")
        note = "My notes on the partial results."
        added = await client.call_tool(
            "add_cell", {"path": "waiting_output.ipynb", "cell_type": "markdown", "source": note}
        )
        assert not added.is_error, error_text(added)
        status = await wait_finished(client, job["job_id"], timeout=90)

    assert status["status"] == "completed", status
    kept = nbformat.read(str(jp_root_dir / "waiting_output.ipynb"), as_version=4)
    assert kept.cells[-1].source == note, "the edit made during the run is still there"
    diverted = f"waiting_output-{job['job_id']}.ipynb"
    assert status["output_path"] == diverted, status
    finished = nbformat.read(str(jp_root_dir / diverted), as_version=4)
    assert [o["text"] for c in finished.cells for o in c.get("outputs", []) if o.get("name") == "stdout"] == [
        "before\n",
        "after\n",
    ]
