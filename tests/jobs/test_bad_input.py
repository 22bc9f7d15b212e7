"""Bad input is refused with a clear error before any process starts, and nothing is written."""

from __future__ import annotations

import datetime
import os

import httpx2
import pytest

from jupyter_mcp_ext.exceptions import InvalidArgument

from ..conftest import error_text
from .conftest import tool


@pytest.fixture
def executor_config():
    return {"warm_runners": 0}  # so that "no process started" is visible: nothing runs ahead of need


def _job_dirs(services) -> list[str]:
    state = services.jobs.state_dir
    return [d for d in os.listdir(state) if d.startswith("job_")] if os.path.isdir(state) else []


CASES = [
    ({"notebook_path": "missing.ipynb"}, "does not exist"),
    ({"notebook_path": "garbage.ipynb"}, "cannot be read as a notebook"),
    ({"notebook_path": "simple_execute.ipynb", "kernel_name": "no-such-kernel"}, "installed: echo, python3"),
    ({"notebook_path": "simple_execute.ipynb", "parameters": {"not a name": 1}}, "not a valid Python variable name"),
    ({"notebook_path": "simple_execute.ipynb", "output_path": "../escape.ipynb"}, "leaves the server root"),
    ({"notebook_path": "simple_execute.ipynb", "output_path": "/etc/out.ipynb"}, "outside the server root"),
    ({"notebook_path": "simple_execute.ipynb", "output_path": "./simple_execute.ipynb"}, "is the input notebook"),
    ({"notebook_path": "simple_execute.ipynb", "output_path": "nowhere/out.ipynb"}, "does not exist"),
    ({"notebook_path": "simple_execute.ipynb", "timeout_seconds": -1}, "timeout_seconds -1"),
    ({"notebook_path": "simple_execute.ipynb", "working_dir_override": "../.."}, "leaves the server root"),
    ({"notebook_path": "simple_execute.ipynb", "working_dir_override": "no_dir"}, "not a directory"),
    ({"notebook_path": "notimplemented.txt"}, "not a notebook path"),
]


@pytest.mark.parametrize(("arguments", "message"), CASES, ids=[c[1] for c in CASES])
async def test_bad_input_is_a_clear_tool_error_and_nothing_is_written(
    mcp_client, notebooks, services, arguments, message
):
    (notebooks / "garbage.ipynb").write_text("{ this is not json")
    before = sorted(os.listdir(notebooks))
    async with mcp_client() as client:
        error = error_text(await client.call_tool("execute_notebook", {**arguments, "mode": "async"}))
        listed = await tool(client, "manage_async_job", operation="list")

    assert message in error, error
    assert listed["total_jobs"] == 0
    assert sorted(os.listdir(notebooks)) == before
    assert _job_dirs(services) == [] and services.jobs.executor._pool == []


async def test_parameters_that_cannot_be_serialized_are_refused_by_the_service(notebooks, services):
    jobs = services.jobs
    for value, kind in [(datetime.date(2026, 1, 1), "date"), (float("nan"), "NaN"), ({1, 2}, "set")]:
        with pytest.raises(InvalidArgument, match=rf"parameters\['when'\] cannot be serialized \({kind}"):
            await jobs.submit("simple_execute.ipynb", parameters={"when": value})
    assert await jobs.list() == [] and _job_dirs(services) == []


async def test_manage_async_job_names_the_missing_or_unknown_job_id(mcp_client):
    async with mcp_client() as client:
        missing = error_text(await client.call_tool("manage_async_job", {"operation": "status"}))
        unknown = error_text(await client.call_tool("manage_async_job", {"operation": "logs", "job_id": "job_nope"}))
        negative = await client.call_tool("manage_async_job", {"operation": "list", "since_line": -5})

    assert "operation='status' needs job_id" in missing
    assert "job_id 'job_nope' is not a known job" in unknown and "there are no jobs yet" in unknown
    assert not negative.is_error


@pytest.mark.parametrize("jobs_config", [{"jobs_db_path": "/dev/null/cannot/jobs.sqlite"}])
async def test_a_job_database_that_cannot_be_opened_is_a_clear_error_and_the_server_still_serves(
    mcp_client, notebooks, server_url, auth_headers
):
    async with mcp_client() as client:
        error = error_text(await client.call_tool("execute_notebook", {"notebook_path": "simple_execute.ipynb"}))
        cells = await tool(client, "read_cells", path="simple_execute.ipynb")
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        rest = await http.get(f"{server_url}jupyter-mcp-ext/jobs")
        status = await http.get(f"{server_url}jupyter-mcp-ext/status")

    assert "job database '/dev/null/cannot/jobs.sqlite' cannot be opened" in error
    assert len(cells["cells"]) == 3
    assert rest.status_code == 503 and "jobs_db_path" in rest.json()["message"]
    assert status.status_code == 200 and "cannot be opened" in status.json()["jobs"]["unavailable"]
