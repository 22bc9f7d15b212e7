"""Parameters are checked against the notebook's `parameters` cell, through MCP, REST and schedules alike: a name it
does not declare is refused (naming it, the declared names with their types and the closest one) unless
allow_undeclared_parameters; a notebook without such a cell runs as Papermill runs it, with a warning that says so."""

from __future__ import annotations

from typing import Any

import httpx2
import nbformat
import pytest

from ..conftest import MODES, error_text
from .conftest import tool, wait_finished
from .test_rest_api import assert_matches_openapi

PARAMETERS = "delay = 0.1  # seconds between steps\nn: int = 3\ntitle = 'Q1'"


def parameters_notebook(root: Any, path: str = "steps.ipynb", tagged: bool = True) -> str:
    """A notebook whose first cell assigns delay, n and title (tagged 'parameters' if ``tagged``); it prints them."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(PARAMETERS)
    if tagged:
        cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(delay, n, title)")]
    nbformat.write(nb, str(root / path))
    return path


@pytest.fixture
def rest(server_url, auth_headers):
    def connect() -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=f"{server_url}jupyter-mcp-ext/", headers=auth_headers, timeout=60)

    return connect


@pytest.mark.parametrize("mode", MODES)
async def test_a_misspelt_parameter_is_refused_naming_the_declared_ones_and_the_closest(mcp_client, jp_root_dir, mode):
    parameters_notebook(jp_root_dir)
    async with mcp_client(mode=mode) as client:
        text = error_text(
            await client.call_tool("execute_notebook", {"notebook_path": "steps.ipynb", "parameters": {"dealy": 0.5}})
        )
        listed = await tool(client, "manage_async_job", operation="list")
    assert text.endswith(
        "parameters: 'dealy' (did you mean 'delay'?) is not a parameter of steps.ipynb: its parameters cell "
        "declares delay (float), n (int), title (str). Papermill would inject it anyway and run the notebook with "
        "its defaults; pass allow_undeclared_parameters=true if that is what you want."
    )
    assert listed["jobs"] == [], "a refused job is not recorded"
    assert not (jp_root_dir / "steps_output.ipynb").exists()


@pytest.mark.kernel
@pytest.mark.slow
async def test_allow_undeclared_parameters_injects_them_and_the_result_and_record_say_so(mcp_client, jp_root_dir):
    parameters_notebook(jp_root_dir)
    async with mcp_client() as client:
        done = await tool(
            client,
            "execute_notebook",
            notebook_path="steps.ipynb",
            parameters={"dealy": 0.5, "n": 7},
            allow_undeclared_parameters=True,
        )
        status = await tool(client, "manage_async_job", operation="status", job_id=done["job_id"])
    assert done["execution_status"] == "completed" and done["parameters_injected"] == {"dealy": 0.5, "n": 7}
    assert len(done["warnings"]) == 1 and "'dealy': not declared by the parameters cell" in done["warnings"][0]
    assert "declares delay (float), n (int), title (str)" in done["warnings"][0]
    assert status["warnings"] == done["warnings"]
    out = nbformat.read(str(jp_root_dir / "steps_output.ipynb"), as_version=4)
    assert "0.1 7 Q1" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_without_a_parameters_cell_the_job_runs_as_papermill_would_and_warns(mcp_client, jp_root_dir, mode):
    parameters_notebook(jp_root_dir, tagged=False)
    async with mcp_client(mode=mode) as client:
        started = await tool(client, "execute_notebook", notebook_path="steps.ipynb", mode="async", parameters={"n": 7})
        status = await wait_finished(client, started["job_id"])
        listed = await tool(client, "manage_async_job", operation="list")
    (warning,) = started["warnings"]
    assert warning.startswith("steps.ipynb has no cell tagged 'parameters', so Papermill put the parameters (n) in")
    assert "an assignment of the same name further down overrides them" in warning
    assert status["status"] == "completed" and status["warnings"] == [warning]
    assert listed["jobs"][0]["warnings"] == [warning]
    out = nbformat.read(str(jp_root_dir / "steps_output.ipynb"), as_version=4)
    # What the warning says: the notebook's own assignment ran after the injected one.
    assert "0.1 3 Q1" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))


async def test_rest_refuses_an_undeclared_parameter_and_takes_allow_undeclared_parameters(rest, jp_root_dir):
    parameters_notebook(jp_root_dir)
    async with rest() as http:
        refused = await http.post("jobs", json={"notebook_path": "steps.ipynb", "parameters": {"titel": "Q2"}})
        wrong = await http.post(
            "jobs", json={"notebook_path": "steps.ipynb", "parameters": {}, "allow_undeclared_parameters": "yes"}
        )
        allowed = await http.post(
            "jobs",
            json={"notebook_path": "steps.ipynb", "parameters": {"titel": "Q2"}, "allow_undeclared_parameters": True},
        )
        jobs = (await http.get("jobs")).json()["jobs"]
    assert refused.status_code == 400 and refused.json()["reason"] == "InvalidArgument"
    assert "'titel' (did you mean 'title'?) is not a parameter of steps.ipynb" in refused.json()["message"]
    assert wrong.status_code == 400 and "allow_undeclared_parameters must be true or false" in wrong.json()["message"]
    assert allowed.status_code == 201, allowed.text
    assert "'titel': not declared" in allowed.json()["warnings"][0]
    assert_matches_openapi("Job", allowed.json())
    assert [j["job_id"] for j in jobs] == [allowed.json()["job_id"]]


async def test_schedules_refuse_an_undeclared_parameter_at_create_and_update(rest, mcp_client, jp_root_dir):
    parameters_notebook(jp_root_dir)
    fields = {"notebook_path": "steps.ipynb", "cron": "0 7 * * 1", "parameters": {"N": 5}}
    async with rest() as http:
        refused = await http.post("schedules", json=fields)
        created = await http.post("schedules", json={**fields, "parameters": {"n": 5}})
        schedule_id = created.json()["schedule_id"]
        changed = await http.patch(f"schedules/{schedule_id}", json={"parameters": {"n": 5, "delai": 1}})
        allowed = await http.patch(
            f"schedules/{schedule_id}", json={"parameters": {"delai": 1}, "allow_undeclared_parameters": True}
        )
    assert refused.status_code == 400 and "'N' (did you mean 'n'?) is not a parameter" in refused.json()["message"]
    assert created.status_code == 201, created.text
    assert changed.status_code == 400 and "'delai' (did you mean 'delay'?)" in changed.json()["message"]
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allow_undeclared_parameters"] is True and allowed.json()["parameters"] == {"delai": 1}
    assert_matches_openapi("Schedule", allowed.json())
    async with mcp_client() as client:
        text = error_text(
            await client.call_tool(
                "manage_schedule",
                {"operation": "create", "fields": {**fields, "parameters": {"tilte": "x"}}},
            )
        )
    assert "'tilte' (did you mean 'title'?) is not a parameter of steps.ipynb" in text
