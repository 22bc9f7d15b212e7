"""execute_notebook and manage_async_job over MCP: real Papermill runs of real notebooks."""

from __future__ import annotations

import asyncio
import json
import time

import nbformat
import pytest

from ..conftest import MODES, error_text, result_json
from .conftest import job_status, poll, tool, wait_finished, wait_until

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


@pytest.mark.parametrize("mode", MODES)
async def test_async_job_injects_parameters_visible_in_the_output_notebook(mcp_client, notebooks, mode):
    async with mcp_client(mode=mode) as client:
        started = await tool(
            client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async", parameters={"msg": "hi Q1"}
        )
        assert started["mode"] == "async" and started["status"] in ("queued", "running")
        assert started["output_path"] == "simple_execute_output.ipynb"
        status = await wait_finished(client, started["job_id"])

    assert status["status"] == "completed", status
    assert status["progress"] == {"cells_total": 3, "cells_executed": 3, "current_cell": None, "percent": 100.0}
    assert status["result"]["cells_failed"] == 0 and status["error"] is None
    out = nbformat.read(str(notebooks / "simple_execute_output.ipynb"), as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'msg = "hi Q1"' in injected[0].source
    printed = [o for c in out.cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    assert printed[0]["text"] == "hi Q1\n"


async def test_sync_mode_reports_progress_records_the_same_job_and_leaves_the_server_responsive(
    mcp_client, make_notebook
):
    make_notebook("params.ipynb", ["import time\nmsg = None", "time.sleep(1.5)", "print(msg)"])
    seen, answers, finished = [], [], asyncio.Event()

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async def meanwhile():
        # Another client, while the sync call waits: the server answers it at once.
        async with mcp_client() as other:
            while not finished.is_set():
                started = time.perf_counter()
                listed = await tool(other, "manage_async_job", operation="list")
                answers.append((time.perf_counter() - started, listed["running_jobs"]))
                await asyncio.sleep(0.1)

    async def sync_call(client):
        try:
            return await client.call_tool(
                "execute_notebook",
                {"notebook_path": "params.ipynb", "parameters": {"msg": "sync"}},
                progress_callback=on_progress,
            )
        finally:
            finished.set()

    async with mcp_client() as client:
        result, _ = await asyncio.gather(sync_call(client), meanwhile())
        data = result_json(result)
        listed = await tool(client, "manage_async_job", operation="list")

    assert data["mode"] == "sync" and data["execution_status"] == "completed", data
    assert (data["cells_executed"], data["cells_succeeded"], data["cells_failed"]) == (4, 4, 0)
    assert data["parameters_injected"] == {"msg": "sync"}
    assert data["recommendation"]["estimated_duration_minutes"] is not None
    assert seen and all(b[0] > a[0] for a, b in zip(seen, seen[1:], strict=False)), seen
    assert seen[-1][1] == 4 and any("Running cell 1" in (m or "") for _, _, m in seen), seen
    assert any(running == 1 for _, running in answers) and max(t for t, _ in answers) < 1.0, answers
    assert [j["job_id"] for j in listed["jobs"]] == [data["job_id"]]
    assert listed["completed_jobs"] == 1 and listed["jobs"][0]["progress_percent"] == 100.0


async def test_cell_error_reports_the_failing_cell_index_of_the_input_notebook(mcp_client, notebooks):
    # broken1.ipynb keeps old papermill error-marker cells, which papermill removes before running:
    # the failing `assert False` is cell 6 of the input notebook.
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="broken1.ipynb")

    assert data["execution_status"] == "failed"
    error = data["error"]
    assert (error["cell_index"], error["type"], error["reason"]) == (6, "AssertionError", "cell_error")
    assert any("assert False" in line for line in error["traceback"])
    assert "\x1b[" not in "".join(error["traceback"])
    assert (data["cells_succeeded"], data["cells_failed"]) == (1, 1)


async def test_sys_exit_zero_counts_as_success_and_sys_exit_one_as_failure(mcp_client, notebooks, make_notebook):
    make_notebook("exit1.ipynb", ["import sys", "sys.exit(1)", "print('never')"])
    async with mcp_client() as client:
        zero = await tool(client, "execute_notebook", notebook_path="sysexit.ipynb", mode="async")
        one = await tool(client, "execute_notebook", notebook_path="exit1.ipynb", mode="async")
        zero, one = await wait_finished(client, zero["job_id"]), await wait_finished(client, one["job_id"])

    assert zero["status"] == "completed" and zero["error"] is None
    assert zero["progress"]["cells_executed"] == 2 and "sys.exit()" in zero["result"]["note"]
    assert one["status"] == "failed"
    assert (one["error"]["type"], one["error"]["evalue"], one["error"]["cell_index"]) == ("SystemExit", "1", 1)


async def test_notebook_without_kernelspec_needs_kernel_name_then_runs(mcp_client, notebooks):
    async with mcp_client() as client:
        refused = error_text(await client.call_tool("execute_notebook", {"notebook_path": "blank-vscode.ipynb"}))
        ran = await tool(client, "execute_notebook", notebook_path="blank-vscode.ipynb", kernel_name="python3")

    assert "no kernelspec" in refused and "python3" in refused
    assert ran["execution_status"] == "completed" and ran["kernel_name"] == "python3"


async def test_logs_are_numbered_and_paginated_while_the_job_prints(mcp_client, notebooks):
    # test_autosave.ipynb prints 0..24, one line every 0.1 s (kernelspec 'python' resolves to python3).
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="test_autosave.ipynb", mode="async")
        pages, since, running_pages = [], 0, 0
        while True:
            page = await tool(client, "manage_async_job", operation="logs", job_id=job["job_id"], since_line=since)
            pages.append(page)
            running_pages += page["status"] == "running" and any(line["level"] == "stdout" for line in page["logs"])
            since = page["next_since_line"]
            if page["status"] not in ("queued", "running") and not page["has_more"]:
                break
            await asyncio.sleep(0.2)  # the polling interval of a client reading logs

    lines = [line for page in pages for line in page["logs"]]
    assert [line["line"] for line in lines] == list(range(1, len(lines) + 1))
    assert [line["message"] for line in lines if line["level"] == "stdout"] == [str(i) for i in range(25)]
    assert running_pages >= 2, "stdout should arrive in several pages while the job runs"
    assert pages[-1]["status"] == "completed" and pages[-1]["total_lines"] == len(lines)


async def test_recommendation_comes_from_this_notebooks_past_runs(mcp_client, notebooks):
    async with mcp_client() as client:
        first = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async")
        assert first["recommendation"]["estimated_duration_minutes"] is None
        done = await wait_finished(client, first["job_id"])
        second = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", mode="async")
        await wait_finished(client, second["job_id"])

    recommendation = second["recommendation"]
    assert recommendation["based_on_runs"] == 1 and recommendation["should_use_async"] is False
    assert recommendation["estimated_duration_minutes"] == pytest.approx(done["execution_time"] / 60, abs=0.01)
    assert second["estimated_completion"] > second["created_at"]


async def test_working_dir_and_env_overrides_reach_the_kernel(mcp_client, make_notebook, jp_root_dir):
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "input.txt").write_text("from data dir")
    make_notebook(
        "nb/env.ipynb",
        ["import os\nprint(open('input.txt').read())\nprint(os.environ['JOB_COLOUR'])"],
    )
    async with mcp_client() as client:
        data = await tool(
            client,
            "execute_notebook",
            notebook_path="nb/env.ipynb",
            working_dir_override="data",
            env_overrides={"JOB_COLOUR": "teal"},
        )
        status = await job_status(client, data["job_id"])

    assert data["execution_status"] == "completed", data
    assert data["output_path"] == "nb/env_output.ipynb"
    out = nbformat.read(str(jp_root_dir / "nb" / "env_output.ipynb"), as_version=4)
    assert out.cells[0].outputs[0]["text"] == "from data dir\nteal\n"
    assert status["env_override_names"] == ["JOB_COLOUR"] and "teal" not in json.dumps(status)


async def test_status_shows_the_running_cell_while_it_runs(mcp_client, make_notebook):
    make_notebook("slow.ipynb", ["x = 1", "import time\ntime.sleep(3)", "print(x)"])
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="slow.ipynb", mode="async")
        running = await wait_until(
            client, job["job_id"], lambda s: (s["progress"]["current_cell"] or {}).get("index") == 1
        )
        await wait_finished(client, job["job_id"])

    assert running["status"] == "running"
    assert running["progress"]["cells_executed"] == 1 and running["progress"]["cells_total"] == 3
    assert running["progress"]["current_cell"]["source"].startswith("import time")


@pytest.mark.parametrize("jobs_config", [{"enable_legacy_tool_names": True}])
async def test_the_older_job_tool_names_reach_the_same_jobs(mcp_client, notebooks):
    async with mcp_client() as client:
        started = await tool(client, "start_notebook_async", input_path="simple_execute.ipynb")

        async def finished():
            status = await tool(client, "get_execution_status_async", job_id=started["job_id"])
            return status if status["status"] == "completed" else None

        status = await poll(finished, 60, "the job started by its old name")
        listed = await tool(client, "list_jobs")

    assert started["mode"] == "async" and status["notebook_path"] == "simple_execute.ipynb"
    assert [j["job_id"] for j in listed["jobs"]] == [started["job_id"]]


async def test_a_cell_tagged_raises_exception_may_raise_and_the_job_still_completes(mcp_client, jp_root_dir):
    nb = nbformat.v4.new_notebook()
    expected = nbformat.v4.new_code_cell("raise ValueError('expected')")
    expected.metadata["tags"] = ["raises-exception"]
    nb.cells = [expected, nbformat.v4.new_code_cell("print('after')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(jp_root_dir / "expected.ipynb"))
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="expected.ipynb")

    assert data["execution_status"] == "completed", data
    assert (data["cells_executed"], data["cells_succeeded"], data["cells_failed"]) == (2, 1, 1)
    assert "raises-exception" in data["note"]
