"""Configuration (traits and JUPYTER_MCP_* variables), deprecated tool names, and /metrics."""

from __future__ import annotations

import httpx2
import pytest

from .conftest import error_text, result_json


@pytest.fixture
def jp_server_config(jp_server_config, monkeypatch):
    monkeypatch.setenv("JUPYTER_MCP_MAX_KERNELS", "3")
    monkeypatch.setenv("JUPYTER_MCP_LOG_LEVEL", "ERROR")
    jp_server_config["MCPExtensionApp"] = {"enable_legacy_tool_names": True, "max_kernels": 7}
    return jp_server_config


def _app(jp_serverapp):
    return next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_mcp_ext"]))


def test_environment_variables_override_configured_traits(jp_serverapp):
    app = _app(jp_serverapp)
    assert app.max_kernels == 3  # JUPYTER_MCP_MAX_KERNELS wins over the config file's 7
    assert app.log_level_mcp == "ERROR"  # JUPYTER_MCP_LOG_LEVEL is the original README's name
    assert app.enable_legacy_tool_names is True


async def test_legacy_tool_names_forward_to_the_consolidated_tools(mcp_client, make_notebook):
    make_notebook("a.ipynb", ["x = 1", "y = 2"])
    async with mcp_client() as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"read_cell", "read_cells_range", "list_notebook_cells", "validate_notebook"} <= names
        old = result_json(await client.call_tool("read_cell", {"path": "a.ipynb", "index": 1}))
        new = result_json(await client.call_tool("read_cells", {"path": "a.ipynb", "mode": "single", "index": 1}))
        assert old == new and old["cell"]["source"] == "y = 2"
        assert "out of range" in error_text(await client.call_tool("read_cell", {"path": "a.ipynb", "index": 9}))


async def test_tool_calls_are_counted_in_the_servers_metrics(mcp_client, make_notebook, server_url, auth_headers):
    make_notebook("a.ipynb", ["x = 1"])
    async with mcp_client() as client:
        await client.call_tool("read_cells", {"path": "a.ipynb"})
        await client.call_tool("read_cells", {"path": "missing.ipynb"})
    async with httpx2.AsyncClient(headers=auth_headers) as http:
        text = (await http.get(f"{server_url}metrics")).text
    assert 'mcp_tool_calls_total{outcome="ok",tool="read_cells"}' in text
    assert 'mcp_tool_calls_total{outcome="error",tool="read_cells"}' in text
    assert "active_kernels_gauge" in text
