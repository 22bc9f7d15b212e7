"""JUPYTER_MCP_CONFIG and JUPYTER_MCP_* override Jupyter's config, in that order; each setting takes effect."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def jp_server_config(jp_server_config, monkeypatch, tmp_path):
    settings = tmp_path / "mcp.json"
    settings.write_text(
        json.dumps(
            {"max_kernels": 4, "execution_timeout": 12.5, "denied_tools": ["write_notebook"], "read_only": False}
        )
    )
    monkeypatch.setenv("JUPYTER_MCP_CONFIG", str(settings))
    monkeypatch.setenv("JUPYTER_MCP_EXECUTION_TIMEOUT", "30")
    monkeypatch.setenv("JUPYTER_MCP_DENIED_TOOLS", "remove_cell, write_notebook")
    monkeypatch.setenv("JUPYTER_MCP_NOT_A_SETTING", "1")
    jp_server_config["MCPExtensionApp"] = {"max_kernels": 7, "execution_timeout": 5, "max_output_chars": 999}
    return jp_server_config


def test_the_json_file_wins_over_jupyter_config_and_variables_win_over_the_file(jp_serverapp):
    app = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_mcp_ext"]))
    assert app.max_output_chars == 999  # Jupyter config, set nowhere else
    assert app.max_kernels == 4  # the JSON file over Jupyter config's 7
    assert app.execution_timeout == 30  # JUPYTER_MCP_EXECUTION_TIMEOUT over the file's 12.5
    assert app.denied_tools == ["remove_cell", "write_notebook"]  # a comma-separated variable


async def test_the_settings_from_the_file_and_the_environment_shape_the_endpoint(mcp_client):
    async with mcp_client() as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "read_cells" in names and not names & {"remove_cell", "write_notebook"}
