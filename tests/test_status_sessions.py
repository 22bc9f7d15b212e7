"""The status counts the MCP clients connected now: a session left open by a client that quit without deleting it
(a health check, a crashed client) stops counting once it has been quiet for a while, though the SDK still holds it
until its idle timeout; a client with its stream open counts as long as it is connected."""

from __future__ import annotations

import asyncio
import time

import httpx2

from jupyter_mcp_ext import handlers

from .test_transport import open_legacy_session


async def status(http: httpx2.AsyncClient, server_url: str) -> dict[str, int]:
    body = (await http.get(f"{server_url}jupyter-mcp-ext/status")).json()
    return {k: body[k] for k in ("active_sessions", "open_sessions")}


async def wait_for(http: httpx2.AsyncClient, server_url: str, expected: dict[str, int]) -> None:
    deadline = time.monotonic() + 10
    while (now := await status(http, server_url)) != expected:
        assert time.monotonic() < deadline, f"status {now}, expected {expected}"
        await asyncio.sleep(0.05)


async def test_a_session_its_client_left_without_deleting_stops_counting_as_connected(
    server_url, mcp_url, auth_headers, monkeypatch
):
    monkeypatch.setattr(handlers, "ACTIVE_SESSION_SECONDS", 0.5)
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        assert await status(http, server_url) == {"active_sessions": 0, "open_sessions": 0}
        await open_legacy_session(http, mcp_url)  # and never deleted, as `claude mcp list` leaves it
        assert await status(http, server_url) == {"active_sessions": 1, "open_sessions": 1}
        await wait_for(http, server_url, {"active_sessions": 0, "open_sessions": 1})


async def test_a_client_with_its_stream_open_counts_while_it_is_connected(
    server_url, auth_headers, mcp_client, monkeypatch
):
    monkeypatch.setattr(handlers, "ACTIVE_SESSION_SECONDS", 0.5)
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        async with mcp_client(mode="legacy") as client:
            await client.list_tools()
            await asyncio.sleep(1.0)  # quiet for longer than the window: the GET stream holds it
            assert await status(http, server_url) == {"active_sessions": 1, "open_sessions": 1}
        await wait_for(http, server_url, {"active_sessions": 0, "open_sessions": 0})
