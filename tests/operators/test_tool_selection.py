"""read_only, allowed_tools and denied_tools shape what the endpoint offers; the status says what is withheld."""

from __future__ import annotations

import httpx2
import pytest

from ..conftest import MODES, TOOLS, error_text, result_json

#: The tools that change nothing: what a read-only endpoint offers.
READ_ONLY_TOOLS = {
    "read_notebook",
    "read_cells",
    "inspect_notebook",
    "list_notebook_files",
    "system_info",
    "list_kernels",
    "list_variables",
    "start_jupyter_server",
    "get_active_notebook",
}


async def offered(mcp_client, mode="legacy") -> set[str]:
    async with mcp_client(mode=mode) as client:
        return {t.name for t in (await client.list_tools()).tools}


@pytest.mark.parametrize("jp_server_config", [{"MCPExtensionApp": {"read_only": True}}], indirect=True)
@pytest.mark.parametrize("mode", MODES)
async def test_a_read_only_endpoint_offers_only_tools_that_change_nothing(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("a.ipynb", ["x = 1"])
    assert await offered(mcp_client, mode) == READ_ONLY_TOOLS
    async with mcp_client(mode=mode) as client:
        assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1
        refused = await client.call_tool("update_cell", {"path": "a.ipynb", "index": 0, "source": "x = 2"})
        assert "update_cell" in error_text(refused)
    assert "x = 1" in (jp_root_dir / "a.ipynb").read_text(), "nothing was written"


@pytest.mark.parametrize(
    "jp_server_config",
    [{"MCPExtensionApp": {"read_only": True, "enable_legacy_tool_names": True}}],
    indirect=True,
)
async def test_read_only_keeps_the_aliases_of_read_tools_only(mcp_client):
    names = await offered(mcp_client)
    assert {"read_cell", "list_notebook_cells", "validate_notebook", "get_kernel_status"} <= names
    assert not names & {"execute_cell", "execute_notebook_papermill", "cancel_job", "list_jobs"}


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "MCPExtensionApp": {
                "allowed_tools": ["read_cells", "update_cell", "list_kernels"],
                "denied_tools": ["list_kernels"],
            }
        }
    ],
    indirect=True,
)
async def test_allowed_and_denied_tools_narrow_the_list_and_the_status_tells_what_is_withheld(
    mcp_client, server_url, auth_headers
):
    assert await offered(mcp_client) == {"read_cells", "update_cell"}
    async with httpx2.AsyncClient(headers=auth_headers) as http:
        status = (await http.get(f"{server_url}jupyter-mcp-ext/status")).json()
    assert status["tools"] == ["read_cells", "update_cell"] and status["tool_count"] == 2
    assert status["read_only"] is False
    assert "list_kernels" in status["withheld_tools"] and "execute_on_kernel" in status["withheld_tools"]
    assert len(status["withheld_tools"]) == len(TOOLS) - 2


@pytest.mark.parametrize(
    "jp_server_config",
    [{"MCPExtensionApp": {"denied_tools": ["stop_jupyter_server", "write_notebook"]}}],
    indirect=True,
)
async def test_denied_tools_alone_keeps_every_other_tool(mcp_client):
    names = await offered(mcp_client)
    assert names == TOOLS - {"stop_jupyter_server", "write_notebook"}


async def test_by_default_every_tool_is_offered_and_nothing_is_withheld(mcp_client, server_url, auth_headers):
    assert await offered(mcp_client) == TOOLS
    async with httpx2.AsyncClient(headers=auth_headers) as http:
        status = (await http.get(f"{server_url}jupyter-mcp-ext/status")).json()
    assert status["read_only"] is False and status["withheld_tools"] == []
