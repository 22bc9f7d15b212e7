"""The system tools: system_info, start_jupyter_server and stop_jupyter_server inside the running server."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import jupyter_server
import pytest
from jupyter_server.auth.authorizer import Authorizer

from ..conftest import MODES, error_text, result_json


@pytest.mark.parametrize("mode", MODES)
async def test_system_info_describes_python_jupyter_and_the_machine(mcp_client, mode):
    async with mcp_client(mode=mode) as client:
        info = result_json(await client.call_tool("system_info", {}))
    assert info["success"] is True
    assert info["python"] == {
        "version": platform.python_version(),
        "executable": sys.executable,
        "platform": sys.platform,
    }
    assert info["jupyter"]["version"] == jupyter_server.__version__
    assert {"data_dir", "runtime_dir", "config_dir"} <= set(info["jupyter"])
    assert info["system"]["cpu_count"] == os.cpu_count() and info["system"]["memory_total"] > 2**20
    assert info["system"]["architecture"] == platform.machine()
    assert set(info["environment"]) == {"conda_env", "virtual_env"}


@pytest.mark.parametrize("mode", MODES)
async def test_start_jupyter_server_reports_the_running_server_and_starts_nothing(
    mcp_client, jp_root_dir, server_url, mode
):
    async with mcp_client(mode=mode) as client:
        data = result_json(await client.call_tool("start_jupyter_server", {"env_path": "/opt/conda/envs/other"}))
    assert data["status"] == "running" and data["already_running"] is True and data["success"] is True
    server = data["server"]
    assert server["root_dir"] == str(jp_root_dir)
    assert server["base_url"] == "/a%40b/" and server["mcp_path"] == "mcp"
    assert "jupyter_mcp_ext" in server["extensions"] and server["pid"] == os.getpid()
    assert "Nothing was started" in data["message"] and "/opt/conda/envs/other" in data["message"]


async def test_stop_jupyter_server_is_refused_unless_the_operator_allowed_it(mcp_client):
    async with mcp_client() as client:
        text = error_text(await client.call_tool("stop_jupyter_server", {}))
        assert "allow_server_shutdown" in text
        assert result_json(await client.call_tool("system_info", {}))["success"] is True


class NoShutdown(Authorizer):
    """Lets a user do anything but shut the server down (Jupyter's ("write", "server"))."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "server" and action == "write")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    extra = getattr(request, "param", {})
    return {**jp_server_config, **extra, "ServerApp": {**jp_server_config["ServerApp"], **extra.get("ServerApp", {})}}


@pytest.mark.parametrize(
    "jp_server_config",
    [{"ServerApp": {"authorizer_class": NoShutdown}, "MCPExtensionApp": {"allow_server_shutdown": True}}],
    indirect=True,
)
async def test_stop_jupyter_server_asks_the_authorizer_like_jupyters_shutdown_api(mcp_client, contents_api):
    async with mcp_client() as client:
        text = error_text(await client.call_tool("stop_jupyter_server", {}))
        assert "Not allowed" in text and "write server" in text
        assert result_json(await client.call_tool("system_info", {}))["success"] is True
    async with contents_api() as http:
        assert (await http.post("api/shutdown")).status_code == 403
