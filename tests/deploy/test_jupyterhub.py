"""MCP through a real JupyterHub: each user's server serves its own endpoint at /user/<name>/mcp.

One hub for the module (configurable-http-proxy, the dummy authenticator, the local-process spawner running
``jupyterhub-singleuser`` from this environment, where the extension is enabled), with two users' servers.
The tests connect through the hub's proxy with the users' hub API tokens, as a team's agents would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from ..conftest import INITIALIZE, MODES, error_text, result_json
from .conftest import MCP_HEADERS, mcp_session, need, process_environ, sdk_refused
from .hub import Hub, start_hub
from .tools import proxy_command

pytestmark = [pytest.mark.deploy, pytest.mark.slow]


@pytest.fixture(scope="module")
def hub(module_tmp: Path) -> Iterator[Hub]:
    try:
        command = proxy_command()
    except Exception as e:
        need("configurable-http-proxy", e)
    hub = start_hub(module_tmp, command)
    try:
        hub.add_users("alice", "bob")
        yield hub
    finally:
        killed = hub.stop()
    assert not killed, f"processes still running after the hub stopped its servers and itself: {killed}"


def mcp_url(hub: Hub, name: str) -> str:
    return f"{hub.server_url(name)}mcp"


@pytest.mark.parametrize("mode", MODES)
async def test_each_user_reaches_only_their_own_server_through_the_hub(hub: Hub, mode: str) -> None:
    alice, bob = hub.users["alice"], hub.users["bob"]
    notebook = f"alice-{mode}.ipynb"
    async with mcp_session(mcp_url(hub, "alice"), hub.token("alice"), mode) as client:
        info = result_json(await client.call_tool("system_info", {}))["server"]
        assert info["root_dir"] == str(alice.root) and info["base_url"] == "/user/alice/"
        assert info["pid"] == alice.pid and "jupyterhub" in info["extensions"]
        result_json(await client.call_tool("create_notebook", {"path": notebook}))
        listed = result_json(await client.call_tool("list_notebook_files", {}))
    assert notebook in [f["path"] for f in listed["files"]]
    assert (alice.root / notebook).is_file() and not (bob.root / notebook).exists()

    async with mcp_session(mcp_url(hub, "bob"), hub.token("bob"), mode) as client:
        info = result_json(await client.call_tool("system_info", {}))["server"]
        listed = result_json(await client.call_tool("list_notebook_files", {}))
        outside = await client.call_tool("read_notebook", {"path": str(alice.root / notebook)})
    assert info["root_dir"] == str(bob.root) and info["pid"] == bob.pid
    assert notebook not in [f["path"] for f in listed["files"]]
    assert "alice" not in json.dumps(listed)
    assert "server root" in error_text(outside)  # alice's notebook, by its absolute path, is not bob's to read


@pytest.mark.kernel
@pytest.mark.parametrize("mode", MODES)
async def test_a_kernel_started_through_the_hub_runs_in_the_users_server_and_root(hub: Hub, mode: str) -> None:
    alice = hub.users["alice"]
    async with mcp_session(mcp_url(hub, "alice"), hub.token("alice"), mode) as client:
        kernel_id = result_json(await client.call_tool("start_kernel", {}))["kernel_id"]
        try:
            code = "import os; print(os.getcwd(), os.getppid())"
            ran = result_json(
                await client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "code", "code": code})
            )
        finally:
            result_json(await client.call_tool("stop_kernel", {"kernel_id": kernel_id}))
    assert ran["status"] == "ok"
    cwd, parent = ran["outputs"][0]["text"].split()
    assert cwd == str(alice.root) and int(parent) == alice.pid


@pytest.mark.parametrize(
    "scopes",
    [["access:servers!user=alice"], ["access:servers!server=alice/"]],
    ids=["all-of-alices-servers", "alices-default-server"],
)
async def test_a_token_with_only_the_access_scope_of_the_users_server_is_enough(hub: Hub, scopes: list[str]) -> None:
    async with mcp_session(mcp_url(hub, "alice"), hub.token("alice", scopes), "2026-07-28") as client:
        listed = result_json(await client.call_tool("list_notebook_files", {}))
    assert listed["success"] is True


async def test_the_servers_own_api_token_reaches_its_endpoint_as_an_agent_in_a_terminal_would(hub: Hub) -> None:
    alice = hub.users["alice"]
    assert alice.pid is not None
    environ = process_environ(alice.pid)
    async with mcp_session(mcp_url(hub, "alice"), environ["JUPYTERHUB_API_TOKEN"], "legacy") as client:
        info = result_json(await client.call_tool("system_info", {}))["server"]
    assert info["root_dir"] == str(alice.root)


#: The refused requests: (case, whose token, its scopes: None = the token page's default) -> status.
REFUSALS = {
    # The user's server authenticates nobody with these (the hub does not vouch for the token there):
    # 401, with the hint that a token with access:servers for this server is needed.
    "another-users-token": ("bob", None, {401}),
    "token-without-access-scope": ("alice", ["read:users:name!user=alice", "users:activity!user=alice"], {401}),
    "no-token": (None, None, {401}),
    "invalid-token": ("", None, {401}),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_the_hub_refuses_mcp_requests_without_a_token_for_that_users_server(hub: Hub, case: str) -> None:
    owner, scopes, statuses = REFUSALS[case]
    token = hub.token(owner, scopes) if owner else ("not-a-hub-token" if owner == "" else None)
    headers = {**MCP_HEADERS, **({"Authorization": f"token {token}"} if token else {})}
    url = mcp_url(hub, "alice")
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "create_notebook", "arguments": {"path": f"refused-{case}.ipynb"}},
    }
    async with httpx2.AsyncClient(headers=headers, timeout=60, follow_redirects=False) as http:
        initialize = await http.post(url, content=json.dumps(INITIALIZE))
        stateless = await http.post(url, content=json.dumps(call), headers={"MCP-Protocol-Version": "2026-07-28"})
        stream = await http.get(url)
    for response in (initialize, stateless, stream):
        assert response.status_code in statuses, (response.status_code, response.text)
        assert "mcp-session-id" not in response.headers
        body = response.json()
        assert "result" not in body and "access:servers" in body["message"], body
    assert not (hub.users["alice"].root / f"refused-{case}.ipynb").exists()
    for mode in MODES:
        assert await sdk_refused(url, token, mode), f"the MCP SDK client connected in {mode} mode"
