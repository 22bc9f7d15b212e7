"""MCP sessions belong to the Jupyter identity that opened them, and a server that is stopping
answers 503 without a traceback."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from ..test_transport import ACCEPT, INITIALIZE, open_legacy_session

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


class TwoUsers(IdentityProvider):
    """An IdentityProvider with real users, as JupyterHub's is: each token is one named user."""

    async def get_user_token(self, handler: Any) -> User | None:
        name = TOKENS.get(self.get_token(handler) or "")
        return User(username=name) if name else None

    async def get_user(self, handler: Any) -> User | None:
        user = await self.get_user_token(handler)
        if user is not None:
            handler._token_authenticated = True
        return user


def as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.mark.parametrize(
    "jp_server_config", [{"ServerApp": {"identity_provider_class": TwoUsers}}], indirect=True, ids=["two-users"]
)
async def test_another_identity_cannot_use_or_delete_a_session_and_gets_404(mcp_url):
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, mcp_url, headers=as_user("alice-token"))
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}

        stolen_delete = await http.delete(mcp_url, headers={**headers, **as_user("bob-token")})
        stolen_call = await http.post(mcp_url, json=ping, headers={**headers, **as_user("bob-token")})
        own_call = await http.post(mcp_url, json=ping, headers={**headers, **as_user("alice-token")})
        own_delete = await http.delete(mcp_url, headers={**headers, **as_user("alice-token")})
        after = await http.post(mcp_url, json=ping, headers={**headers, **as_user("alice-token")})

    assert (stolen_delete.status_code, stolen_call.status_code) == (404, 404)
    assert "Session not found" in stolen_call.text
    assert own_call.status_code == 200 and own_delete.status_code == 200
    assert after.status_code == 404, "alice's own DELETE ended it"


async def test_a_token_session_keeps_working_across_requests_without_a_cookie(mcp_url, auth_headers):
    """Jupyter's own IdentityProvider gives each cookie-less token request a new random user: the
    session is bound to the token, so its owner's later requests still reach it."""
    async with httpx2.AsyncClient(timeout=30, headers=auth_headers) as http:
        session = await open_legacy_session(http, mcp_url)
        http.cookies.clear()
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        response = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers)
    assert response.status_code == 200, response.text


async def test_requests_while_the_server_stops_get_503_quietly(jp_serverapp, mcp_url, auth_headers, caplog):
    app = jp_serverapp.web_app.settings["jupyter_mcp_ext_app"]
    async with httpx2.AsyncClient(timeout=30, headers=auth_headers) as http:
        session = await open_legacy_session(http, mcp_url)
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            await app.stop_extension()  # what the server does first when it shuts down
            fresh = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT})
            headers = {"Accept": ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
            existing = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers)

    assert (fresh.status_code, existing.status_code) == (503, 503)
    assert "not running" in fresh.json()["message"]
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
