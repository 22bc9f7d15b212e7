"""Each tool call tells the services who it works for: the MCP client, its session, the Jupyter user."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx2
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context
from mcp.types import Implementation

from jupyter_mcp_ext.caller import NOBODY, Caller, calling_as, current_caller
from jupyter_mcp_ext.notebooks.presence import editing_as, editor
from jupyter_mcp_ext.tools import tool_call

from .conftest import MODES, TOKEN, result_json


class NamedUser(IdentityProvider):
    """An IdentityProvider that knows the token's user by name, as JupyterHub's does."""

    async def get_user(self, handler: Any) -> User | None:
        if self.get_token(handler) != TOKEN:
            return None
        handler._token_authenticated = True
        return User(username="alice")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The suite's server config, with the ServerApp settings a test passes with ``indirect=True``."""
    extra = getattr(request, "param", {})
    return {**jp_server_config, "ServerApp": {**jp_server_config["ServerApp"], **extra}}


@pytest.fixture
def callers_seen(jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Caller, str | None]]:
    """The caller (and presence's editor name) the kernel service sees each time list_kernels asks it for kernelspecs."""
    kernels = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].kernels
    original = kernels.kernelspecs
    seen: list[tuple[Caller, str | None]] = []

    async def kernelspecs() -> Any:
        seen.append((current_caller(), editor.get()))
        return await original()

    monkeypatch.setattr(kernels, "kernelspecs", kernelspecs)
    return seen


async def call_list_kernels(mcp_url: str, mode: str) -> str | None:
    """list_kernels over HTTP as client "lab-agent"; returns the Mcp-Session-Id the server gave (None if none)."""
    session_ids: set[str] = set()

    async def note_session(response: httpx2.Response) -> None:
        if "mcp-session-id" in response.headers:
            session_ids.add(response.headers["mcp-session-id"])

    http = httpx2.AsyncClient(
        headers={"Authorization": f"token {TOKEN}"}, timeout=60, event_hooks={"response": [note_session]}
    )
    transport = streamable_http_client(mcp_url, http_client=http)
    async with http, Client(transport, mode=mode, client_info=Implementation(name="lab-agent", version="1")) as client:
        result_json(await client.call_tool("list_kernels", {}))
    assert len(session_ids) <= 1
    return next(iter(session_ids), None)


@pytest.mark.parametrize("jp_server_config", [{"identity_provider_class": NamedUser}], indirect=True, ids=["named"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_call_names_its_client_session_and_user_to_the_services(mcp_url, callers_seen, mode):
    session_id = await call_list_kernels(mcp_url, mode)
    [(caller, editor_name)] = callers_seen
    assert caller.client == "lab-agent" and caller.user == "alice"
    if mode == "legacy":
        assert session_id and caller.session == session_id[:8]
    else:
        assert session_id is None and caller.session is None, "2026-07-28 requests have no session"
    assert editor_name == "lab-agent", "presence shows the client's name"


async def test_the_anonymous_user_of_a_plain_token_is_no_user_name(mcp_url, callers_seen):
    await call_list_kernels(mcp_url, "legacy")
    [(caller, _)] = callers_seen
    assert caller.client == "lab-agent" and caller.user is None


async def test_two_sessions_of_one_client_are_told_apart(mcp_url, callers_seen):
    first = await call_list_kernels(mcp_url, "legacy")
    second = await call_list_kernels(mcp_url, "legacy")
    assert first != second
    assert [caller.session for caller, _ in callers_seen] == [first[:8], second[:8]]  # type: ignore[index]


async def test_concurrent_calls_each_see_their_own_caller():
    seen: dict[str, Caller] = {}

    @tool_call()
    async def probe(ctx: Context, tag: str) -> None:
        await asyncio.sleep(0.01)
        seen[tag] = current_caller()

    with calling_as(Caller(client="outer")):
        await asyncio.gather(probe(ctx=None, tag="a"), probe(ctx=None, tag="b"))
        assert current_caller().client == "outer", "a call does not change its caller's context"
    # An in-process call without a request works for nobody, and each call is a call of its own.
    assert [(c.client, c.session, c.user, c.tool) for c in seen.values()] == [(None, None, None, "probe")] * 2
    assert seen["a"].call_id and seen["b"].call_id and seen["a"].call_id != seen["b"].call_id


def test_the_preamble_keeps_the_tools_signature_and_refuses_what_cannot_be_a_tool():
    async def read(ctx: Context, path: str, index: int | None = None) -> dict[str, Any]:
        return {}

    assert inspect.signature(tool_call(("read", "contents"))(read)) == inspect.signature(read)
    with pytest.raises(TypeError, match="must be async"):
        tool_call()(lambda ctx: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="must take ctx"):

        async def no_ctx(path: str) -> None: ...

        tool_call()(no_ctx)


def test_presence_editor_is_the_current_callers_client():
    with calling_as(Caller(client="claude-code", session="1a2b3c4d", user="alice")):
        assert editor.get() == "claude-code"
        with editing_as("codex"):
            assert editor.get() == "codex"
            assert current_caller() == Caller(client="codex", session="1a2b3c4d", user="alice")
        assert editor.get() == "claude-code"
    assert editor.get() is None and current_caller() is NOBODY
