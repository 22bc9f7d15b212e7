"""Notebooks and jobs as MCP resources: what a client lists and reads, in both protocol generations, and the
errors of what it cannot read."""

from __future__ import annotations

import json
import os
import time

import pytest
from mcp.shared.exceptions import MCPError

from ..conftest import MODES, TOKEN, listed_cells

pytestmark = [pytest.mark.kernel, pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")]


def text_of(result) -> dict:
    (content,) = result.contents
    return json.loads(content.text)


@pytest.mark.parametrize("mode", MODES)
async def test_a_notebook_reads_as_read_cells_list_view(mcp_client, make_notebook, mode):
    make_notebook("reports/q1.ipynb", ["x = 1", ("markdown", "# Results")])
    async with mcp_client(mode=mode) as client:
        result = await client.read_resource("notebook://reports/q1.ipynb")
        listed = (await client.call_tool("read_cells", {"path": "reports/q1.ipynb", "mode": "list"})).structured_content
    view = text_of(result)
    assert result.contents[0].uri == "notebook://reports/q1.ipynb"
    assert result.contents[0].mime_type == "application/json"
    assert view["cells"] == listed["cells"] and view["columns"] == listed["columns"] and view["cell_count"] == 2
    assert [c["cell_type"] for c in listed_cells(view)] == ["code", "markdown"]


@pytest.mark.parametrize("mode", MODES)
async def test_resources_list_gives_the_notebooks_most_recently_changed_first(
    mcp_client, make_notebook, jp_root_dir, mode
):
    for i, name in enumerate(["old.ipynb", "sub/newest.ipynb", "middle.ipynb"]):
        make_notebook(name, ["1"])
        os.utime(jp_root_dir / name, (time.time() - 100 + [0, 90, 50][i],) * 2)
    async with mcp_client(mode=mode) as client:
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
    notebooks = [r.uri for r in listed.resources if r.uri.startswith("notebook://")]
    assert notebooks == ["notebook://sub/newest.ipynb", "notebook://middle.ipynb", "notebook://old.ipynb"]
    assert {t.uri_template for t in templates.resource_templates} >= {"notebook://{+path}", "job://{job_id}"}
    assert {r.uri for r in listed.resources} >= {"ui://jupyter-mcp-ext/job", "ui://jupyter-mcp-ext/notebook"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_long_notebook_reads_within_the_result_budget_and_says_how_to_go_on(
    mcp_client, make_notebook, jp_server_config, mode
):
    make_notebook("long.ipynb", [f"value_{i} = {i}  # " + "x" * 200 for i in range(400)])
    async with mcp_client(mode=mode) as client:
        view = text_of(await client.read_resource("notebook://long.ipynb"))
    assert view["cell_count"] == 400 and len(view["cells"]) < 400
    assert "read_cells(path='long.ipynb', mode='list', start_index=" in view["truncated"]
    assert len(json.dumps(view)) < 45_000


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_uris_paths_outside_the_root_and_missing_notebooks_are_json_rpc_errors(mcp_client, mode):
    async with mcp_client(mode=mode) as client:
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("file:///etc/passwd")
        with pytest.raises(MCPError) as outside:
            await client.read_resource("notebook://../outside.ipynb")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("notebook://nowhere.ipynb")
        with pytest.raises(MCPError) as no_job:
            await client.read_resource("job://job_nope")
    assert unknown.value.error.code == -32602 and "notebook://<path>" in unknown.value.error.message
    assert outside.value.error.code == -32602 and "leaves the server root" in outside.value.error.message
    assert missing.value.error.code in (-32002, -32602) and "nowhere.ipynb" in missing.value.error.message
    assert no_job.value.error.code in (-32002, -32602) and "job_nope" in no_job.value.error.message
    assert missing.value.error.data == {"uri": "notebook://nowhere.ipynb"}


async def test_a_job_reads_with_its_status_progress_and_log_tail(mcp_client, make_notebook):
    make_notebook("job.ipynb", ["print('hello from the job')"])
    async with mcp_client() as client:
        started = await client.call_tool("execute_notebook", {"notebook_path": "job.ipynb", "mode": "sync"})
        job_id = started.structured_content["job_id"]
        view = text_of(await client.read_resource(f"job://{job_id}"))
    assert view["job_id"] == job_id and view["status"] == "completed"
    assert view["progress"]["cells_executed"] == view["progress"]["cells_total"]
    assert view["log_lines"] >= 1 and isinstance(view["log_tail"], list)


@pytest.mark.parametrize("mode", MODES)
async def test_a_cell_reads_by_its_id_and_a_missing_cell_is_an_error(mcp_client, make_notebook, mode):
    make_notebook("cells.ipynb", ["first = 1", "second = 2\nprint(second)"])
    async with mcp_client(mode=mode) as client:
        listed = text_of(await client.read_resource("notebook://cells.ipynb"))
        cell_id = listed_cells(listed)[1]["id"]
        cell = text_of(await client.read_resource(f"notebook-cell://cells.ipynb/{cell_id}"))
        with pytest.raises(MCPError) as missing:
            await client.read_resource("notebook-cell://cells.ipynb/no-such-cell")
    assert cell["index"] == 1 and cell["source"] == "second = 2\nprint(second)" and cell["id"] == cell_id
    assert "no-such-cell" in missing.value.error.message


WITHHELD = {
    "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
    "IdentityProvider": {"token": TOKEN},
    "MCPExtensionApp": {"denied_tools": ["read_cells", "read_notebook", "manage_async_job"]},
}


@pytest.mark.parametrize("jp_server_config", [WITHHELD], ids=["reading-tools-withheld"])
async def test_withholding_the_reading_tools_withholds_the_resources(mcp_client, make_notebook, jp_server_config):
    make_notebook("hidden.ipynb", ["1"])
    async with mcp_client() as client:
        listed = [r.uri for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        with pytest.raises(MCPError) as read:
            await client.read_resource("notebook://hidden.ipynb")
        with pytest.raises(MCPError) as followed:
            await client.subscribe_resource("job://job_1")
    assert not [u for u in listed if u.startswith("notebook://")] and templates == []
    assert "does not offer notebook resources" in read.value.error.message
    assert "does not offer job resources" in followed.value.error.message
