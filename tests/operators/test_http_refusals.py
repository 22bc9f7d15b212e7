"""Refusals at the HTTP level say what to do: the token and where to find it, the Host/Origin setting, the permission."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from jupyter_server.auth import passwd
from jupyter_server.auth.authorizer import Authorizer
from mcp.shared.exceptions import MCPError

from ..conftest import MODES, poll
from ..test_transport import ACCEPT, INITIALIZE, browser_session


def assert_explained(response: httpx2.Response, status: int, *phrases: str) -> str:
    """The refusal has ``status``, Jupyter's JSON fields, a JSON-RPC error, and says every phrase."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["message"] == body["message"]
    for phrase in phrases:
        assert phrase in body["message"], body["message"]
    return body["message"]


async def test_no_token_gets_401_saying_how_to_send_the_token_and_where_to_find_it(mcp_url):
    async with httpx2.AsyncClient(timeout=30) as http:
        post = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT})
        get = await http.get(mcp_url, headers={"Accept": "text/event-stream"})
    for response in (post, get):
        assert_explained(
            response,
            401,
            "needs its token",
            "'Authorization: token <token>'",
            "'Authorization: Bearer <token>'",
            "`jupyter server list`",
            "`jupyter mcp-ext connect`",
        )
        assert response.headers["www-authenticate"].startswith('Bearer realm="jupyter_server"')
    assert post.json()["id"] == INITIALIZE["id"], "the JSON-RPC error answers the request's id"


@pytest.mark.parametrize("scheme", ["token", "Bearer"])
async def test_a_wrong_token_gets_401_that_says_so(mcp_url, scheme):
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(
            mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT, "Authorization": f"{scheme} not-the-token"}
        )
    assert_explained(response, 401, "The token sent is not valid for this Jupyter server", "`jupyter server list`")
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge and "error_description=" in challenge


@pytest.mark.parametrize("mode", MODES)
async def test_the_mcp_sdk_client_raises_the_hint_as_its_error_message(mcp_client, mode):
    with pytest.raises(BaseException) as caught:
        async with mcp_client(mode=mode, headers={"Authorization": "token wrong"}) as client:
            await client.list_tools()
    errors = [caught.value]
    while errors and not isinstance(errors[0], MCPError):
        first = errors.pop(0)
        errors += list(getattr(first, "exceptions", []))
    assert errors, f"no MCPError in {caught.value!r}"
    assert "The token sent is not valid" in str(errors[0]) and "jupyter server list" in str(errors[0])


async def test_a_password_server_says_mcp_clients_need_a_token_as_well(jupyter_server_process):
    # pytest-jupyter always gives its server a token: this one runs as a person starts it.
    process, url = jupyter_server_process(
        "--PasswordIdentityProvider.token=", f"--PasswordIdentityProvider.hashed_password={passwd('a-password')}"
    )
    async with httpx2.AsyncClient(timeout=30) as http:
        await poll(lambda: serving(http, url, process), timeout=60, what="the server to answer")
        response = await http.post(f"{url}mcp", json=INITIALIZE, headers={"Accept": ACCEPT})
        api = await http.get(f"{url}api/contents")
    assert_explained(response, 401, "has no token", "password login", "--IdentityProvider.token=<token>")
    assert api.status_code == 403, "Jupyter's own authentication still decides for the rest of the server"


async def serving(http: httpx2.AsyncClient, url: str, process: Any) -> bool:
    assert process.poll() is None, "the server exited while starting"
    try:
        return (await http.get(f"{url}api")).status_code == 200
    except httpx2.TransportError:
        return False


@pytest.mark.parametrize(
    "jp_server_config", [{"ServerApp": {"allow_remote_access": False, "local_hostnames": ["localhost"]}}], indirect=True
)
async def test_a_refused_host_names_the_settings_that_allow_it(mcp_url, auth_headers, server_url):
    port = server_url.split(":")[2].split("/")[0]
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        response = await http.post(
            mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT, "Host": f"lab.example.org:{port}"}
        )
    assert_explained(
        response,
        403,
        "Host 'lab.example.org'",
        "ServerApp.local_hostnames",
        "--ServerApp.local_hostnames=lab.example.org",
        "ServerApp.allow_remote_access=True",
    )


async def test_a_refused_origin_names_the_settings_that_allow_it(server_url):
    async with httpx2.AsyncClient(base_url=server_url, timeout=30) as http:
        xsrf = await browser_session(http)
        response = await http.post(
            "mcp", json=INITIALIZE, headers={**xsrf, "Accept": ACCEPT, "Origin": "https://tool.example.org"}
        )
    assert_explained(
        response,
        403,
        "Origin 'https://tool.example.org'",
        "--ServerApp.allow_origin=https://tool.example.org",
        "ServerApp.allow_origin_pat",
    )


class NoMCPWrites(Authorizer):
    """Lets a user read the MCP endpoint (GET) but not post to it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "mcp" and action == "write")


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": NoMCPWrites}}], indirect=True)
async def test_an_authorizer_refusal_names_the_permission(mcp_url, auth_headers):
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        response = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT})
    assert_explained(
        response, 403, "Authorizer does not let user", "action 'write' on resource 'mcp'", "ServerApp.authorizer_class"
    )
