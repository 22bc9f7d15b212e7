"""jupyter mcp-ext connect prints configuration that works when pasted; the Lab panel's route serves the same."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from jupyter_server.auth.authorizer import Authorizer
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from ..conftest import TOKEN, TOOLS, result_json


@pytest.fixture
def runtime_dir(jp_serverapp: Any, server_url: str) -> str:
    """The test server's runtime directory, where it lists itself as `jupyter lab` does for `jupyter server list`
    (``server_url``: the server listens)."""
    jp_serverapp.write_server_info_file()
    return str(jp_serverapp.runtime_dir)


async def connect(runtime_dir: str, *args: str) -> tuple[int, str, str]:
    """Run the console script as a person does (the server keeps serving while it runs)."""
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": runtime_dir}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyter_mcp_ext.cli",
        "connect",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_printed_vscode_configuration_connects_the_mcp_sdk_client(runtime_dir, mcp_url, make_notebook):
    make_notebook("a.ipynb", ["x = 1"])
    code, out, err = await connect(runtime_dir, "vscode")
    assert code == 0 and not err, err
    server = json.loads(out)["servers"]["jupyter"]
    assert server["type"] == "http" and server["url"].endswith("/a%40b/mcp")
    assert server["headers"] == {"Authorization": f"token {TOKEN}"}
    async with httpx2.AsyncClient(headers=server["headers"], timeout=60) as http:
        async with Client(streamable_http_client(server["url"], http_client=http)) as client:
            assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1


async def test_the_claude_code_command_and_cursor_file_hold_url_and_token(runtime_dir):
    code, out, _ = await connect(runtime_dir, "claude-code")
    argv = shlex.split(out)
    assert argv[:6] == ["claude", "mcp", "add", "--transport", "http", "jupyter"]
    assert argv[6].endswith("/a%40b/mcp") and argv[7:] == ["--header", f"Authorization: token {TOKEN}"]
    code, out, _ = await connect(runtime_dir, "cursor", "--name", "lab")
    assert json.loads(out)["mcpServers"]["lab"]["headers"]["Authorization"] == f"token {TOKEN}"


async def test_without_a_client_every_snippet_is_printed_with_a_warning_about_the_token(runtime_dir):
    code, out, err = await connect(runtime_dir)
    assert code == 0 and not err, err
    for title in ("Claude Code", "VS Code", "Cursor", "Claude Desktop", "stdio-only", "MCP Inspector"):
        assert f"## {title}" in out or title in out
    assert f"It offers {len(TOOLS)} tools." in out and "keep them out of shared files" in out


@pytest.fixture
def second_server(runtime_dir: str, jp_serverapp: Any) -> str:
    """Another server listed in the runtime directory (a live pid, a port nothing listens on); returns its URL."""
    info = Path(jp_serverapp.info_file)
    other = dict(json.loads(info.read_text()), url="http://localhost:1/other/", port=1)
    (info.parent / "jpserver-1-other.json").write_text(json.dumps(other))
    return other["url"]


async def test_server_picks_one_of_several_running_servers(runtime_dir, second_server, jp_serverapp):
    code, _, err = await connect(runtime_dir, "claude-code")
    assert code == 1 and "Several Jupyter servers are running; pick one with --server URL" in err
    assert second_server in err and jp_serverapp.connection_url in err
    for wanted in (jp_serverapp.connection_url, str(jp_serverapp.port)):
        code, out, err = await connect(runtime_dir, "claude-code", "--server", wanted)
        assert code == 0, err
        assert jp_serverapp.connection_url + "mcp" in out


async def test_no_running_server_says_how_to_start_one(tmp_path):
    code, _, err = await connect(str(tmp_path), "vscode")
    assert code == 1 and "No Jupyter server is running here" in err and "jupyter lab" in err


def need(command: str) -> str:
    path = shutil.which(command)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{command} is not on PATH; .ci/run installs Node.js")
        pytest.skip(f"{command} is not on PATH")
    return path


@pytest.mark.slow
async def test_the_printed_inspector_command_lists_the_tools(runtime_dir):
    need("npx")
    _, out, _ = await connect(runtime_dir, "inspector")
    argv = shlex.split(out)
    assert argv[:3] == ["npx", "-y", "@modelcontextprotocol/inspector@2"]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert "read_cells" in {tool["name"] for tool in json.loads(stdout)["tools"]}


@pytest.mark.slow
async def test_the_printed_stdio_configuration_bridges_a_stdio_client_without_warnings_in_the_log(
    runtime_dir, make_notebook, caplog
):
    need("npx")
    make_notebook("a.ipynb", ["x = 1"])
    _, out, _ = await connect(runtime_dir, "claude-desktop")
    server = json.loads(out)["mcpServers"]["jupyter"]
    assert server["env"] == {"JUPYTER_AUTHORIZATION": f"token {TOKEN}"}
    params = StdioServerParameters(command=server["command"], args=server["args"], env={**os.environ, **server["env"]})
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    async with Client(stdio_client(params)) as client:
        assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1
    # mcp-remote looks for OAuth metadata and probes the endpoint with a GET before it connects: answered, quietly.
    probed = [r.getMessage() for r in caplog.records if ".well-known/oauth-" in r.getMessage()]
    assert probed, "mcp-remote probed no OAuth discovery document (another version?)"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.slow
async def test_mcp_proxy_from_pypi_bridges_with_the_header_as_docs_clients_says(mcp_url, make_notebook):
    # mcp-proxy pins mcp<2, so it lives in an environment of its own (.ci/run makes one).
    command = os.environ.get("JUPYTER_MCP_EXT_TEST_MCP_PROXY") or need("mcp-proxy")
    make_notebook("a.ipynb", ["x = 1"])
    args = ["--transport", "streamablehttp", "--headers", "Authorization", f"token {TOKEN}", mcp_url]
    async with Client(stdio_client(StdioServerParameters(command=command, args=args))) as client:
        assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1


async def test_the_panels_route_serves_the_snippets_without_the_token_unless_asked(server_url, auth_headers, mcp_url):
    async with httpx2.AsyncClient(base_url=server_url, headers=auth_headers, timeout=30) as http:
        plain = (await http.get("jupyter-mcp-ext/connect", params={"url": mcp_url})).json()
        secret = (await http.get("jupyter-mcp-ext/connect", params={"url": mcp_url, "with_token": "1"})).json()
        bad = await http.get("jupyter-mcp-ext/connect", params={"url": "javascript:alert(1)"})
    assert [c["id"] for c in plain["clients"]] == [
        "claude-code",
        "vscode",
        "cursor",
        "claude-desktop",
        "stdio",
        "inspector",
    ]
    assert plain["token_available"] is True
    assert TOKEN not in json.dumps(plain) and all(mcp_url in c["snippet"] for c in plain["clients"])
    assert all("<token>" in c["snippet"] for c in plain["clients"])
    assert all(f"token {TOKEN}" in c["snippet"] for c in secret["clients"])
    assert bad.status_code == 400


class NoServerWrites(Authorizer):
    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "server" and action == "write")


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": NoServerWrites}}], indirect=True)
async def test_the_token_is_copied_only_for_users_who_may_control_the_server(server_url, auth_headers):
    async with httpx2.AsyncClient(base_url=server_url, headers=auth_headers, timeout=30) as http:
        plain = await http.get("jupyter-mcp-ext/connect")
        secret = await http.get("jupyter-mcp-ext/connect", params={"with_token": "1"})
    assert plain.status_code == 200 and secret.status_code == 403
    assert TOKEN not in secret.text
