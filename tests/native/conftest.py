"""Fixtures of the native MCP tests: notifications a client received, and a raw JSON-RPC session for what the
official client has no API for (tasks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from ..conftest import INITIALIZE, poll
from ..test_transport import ACCEPT, sse_messages


class Received:
    """The notifications a client received, as (method, params) pairs, for ``message_handler=``."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method is None:
            return
        params = getattr(message, "params", None)
        dumped = params.model_dump(by_alias=True, mode="json", exclude_none=True) if params is not None else {}
        self.items.append((method, dumped))

    def updates(self, uri: str | None = None) -> list[str]:
        return [p["uri"] for m, p in self.items if m == "notifications/resources/updated" and uri in (None, p["uri"])]

    def of(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.items if m == method]

    async def update_of(self, uri: str, count: int = 1, timeout: float = 20.0) -> None:
        async def check() -> bool:
            return len(self.updates(uri)) >= count

        await poll(check, timeout, f"{count} update(s) of {uri} (got {self.items})")


@pytest.fixture
def received() -> Received:
    return Received()


class RawSession:
    """A 2025-11-25 session spoken in raw JSON-RPC over HTTP (the official client has no task API)."""

    def __init__(self, http: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.http = http
        self.url = url
        self.headers = headers
        self.next_id = 100
        self.session_id: str | None = None
        self.version = "2025-11-25"

    async def open(self, capabilities: dict[str, Any] | None = None, version: str = "2025-11-25") -> dict[str, Any]:
        init = json.loads(json.dumps(INITIALIZE))
        init["params"]["capabilities"] = capabilities or {}
        init["params"]["protocolVersion"] = self.version = version
        response = await self.http.post(self.url, json=init, headers={"Accept": ACCEPT, **self.headers})
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self.http.post(self.url, json=note, headers=self.session_headers())
        return sse_messages(response.text)[0]["result"]

    def session_headers(self) -> dict[str, str]:
        assert self.session_id is not None
        return {
            "Accept": ACCEPT,
            "Mcp-Session-Id": self.session_id,
            "MCP-Protocol-Version": self.version,
            **self.headers,
        }

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON-RPC response (with ``result`` or ``error``) to one request."""
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        response = await self.http.post(self.url, json=message, headers=self.session_headers())
        assert response.status_code == 200, response.text
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            replies = [m for m in sse_messages(response.text) if m.get("id") == self.next_id]
            return replies[-1]
        return response.json()

    async def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = await self.request(method, params)
        assert "result" in reply, reply
        return reply["result"]

    async def close(self) -> None:
        if self.session_id is not None:
            await self.http.delete(self.url, headers=self.session_headers())


@pytest.fixture
def raw_session(mcp_url: str, auth_headers: dict[str, str]) -> Callable[..., Any]:
    """``async with raw_session() as s``: an initialized raw 2025-11-25 session (``headers`` to be another user)."""

    @asynccontextmanager
    async def open_session(
        headers: dict[str, str] | None = None, capabilities: dict[str, Any] | None = None
    ) -> AsyncIterator[RawSession]:
        async with httpx2.AsyncClient(timeout=120) as http:
            session = RawSession(http, mcp_url, auth_headers if headers is None else headers)
            await session.open(capabilities)
            try:
                yield session
            finally:
                await session.close()

    return open_session


async def wait_task(session: RawSession, task_id: str, statuses: tuple[str, ...], timeout: float = 60.0) -> dict:
    """Poll ``tasks/get`` until the task's status is one of ``statuses``; return the task."""

    async def check() -> dict[str, Any] | None:
        task = await session.result("tasks/get", {"taskId": task_id})
        return task if task["status"] in statuses else None

    return await poll(check, timeout, f"task {task_id} to be {statuses}", interval=0.2)


__all__ = ["RawSession", "Received", "asyncio", "wait_task"]
