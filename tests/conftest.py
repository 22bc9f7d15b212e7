"""Shared fixtures: a real Jupyter server with the extension, and real MCP clients over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import nbformat
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKEN = "mcp-test-token"

#: Every tool a server offers by default (no read_only, allowed_tools or denied_tools, no legacy names).
TOOLS = frozenset(
    {
        "read_notebook", "write_notebook", "create_notebook", "add_cell", "remove_cell", "update_cell", "read_cells",
        "inspect_notebook", "list_notebook_files",
        "list_kernels", "start_kernel", "stop_kernel", "interrupt_kernel", "restart_kernel", "execute_on_kernel",
        "list_variables",
        "execute_notebook", "manage_async_job", "manage_schedule",
        "system_info", "start_jupyter_server", "stop_jupyter_server",
        "get_active_notebook",
    }
)  # fmt: skip

#: The two protocol generations the SDK speaks: the initialize handshake and stateless 2026-07-28.
MODES = ["legacy", "2026-07-28"]
#: The JSON-RPC ``initialize`` request, as the first POST of any MCP client, for tests that speak raw HTTP.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mcp_ext": True},
            "allow_root": True,
        },
        "IdentityProvider": {"token": TOKEN},
    }


@pytest.fixture
def server_url(jp_serverapp: Any, http_server: Any, http_server_port: Any, jp_base_url: str) -> str:
    """The base URL of the running test server (pytest-jupyter's ``http_server`` listens on a free port)."""
    return f"http://127.0.0.1:{http_server_port[1]}{jp_base_url}"


@pytest.fixture
def mcp_url(server_url: str) -> str:
    return f"{server_url}mcp"


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return {"Authorization": f"token {TOKEN}"}


@pytest.fixture
def mcp_client(mcp_url: str, auth_headers: dict[str, str]) -> Callable[..., Any]:
    """Factory: ``async with mcp_client(mode="legacy") as client`` connects the real SDK client over HTTP."""

    @asynccontextmanager
    async def connect(
        mode: str = "legacy", headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(headers=auth_headers if headers is None else headers, timeout=120)
        async with http:
            transport = streamable_http_client(mcp_url, http_client=http)
            async with Client(transport, mode=mode, **kwargs) as client:
                yield client

    return connect


def result_json(result: Any) -> dict[str, Any]:
    """The tool result's JSON object (structured content, else the first text block)."""
    assert not result.is_error, result.content[0].text if result.content else result
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def listed_cells(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells of a ``read_cells(mode="list")`` result as objects: its rows keyed by its ``columns`` (a trailing
    column a row leaves out is null), or its objects as they are (``list_format="objects"``)."""
    columns = data.get("columns")
    if columns is None:
        return data["cells"]
    return [dict(zip(columns, row + [None] * (len(columns) - len(row)), strict=True)) for row in data["cells"]]


def error_text(result: Any) -> str:
    """The text of a tool error result; fails if the call did not fail."""
    assert result.is_error, f"expected a tool error, got {result}"
    return result.content[0].text


@pytest.fixture
def make_notebook(jp_root_dir: Any) -> Callable[..., str]:
    """Write a notebook of ``cells`` (source strings, or (cell_type, source) pairs) under the root."""

    def make(
        path: str = "nb.ipynb", cells: list[Any] | None = None, kernel: str | None = "python3", minor: int = 5
    ) -> str:
        nb = nbformat.v4.new_notebook()
        nb.nbformat_minor = minor
        for item in cells or []:
            cell_type, source = item if isinstance(item, tuple) else ("code", item)
            factory = {
                "code": nbformat.v4.new_code_cell,
                "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell,
            }[cell_type]
            cell = factory(source)
            if minor < 5:
                cell.pop("id", None)
            nb.cells.append(cell)
        if kernel:
            nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
        target = jp_root_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
        return path

    return make


#: Real notebooks from other projects' test suites (see tests/data/README.md for their sources).
DATA_DIR = __import__("pathlib").Path(__file__).parent / "data"


@pytest.fixture
def data_notebook(jp_root_dir: Any) -> Callable[..., str]:
    """Copy ``tests/data/<name>`` under the server root (as ``dest``, default the same name); return its API path."""
    import shutil

    def copy(name: str, dest: str | None = None) -> str:
        target = jp_root_dir / (dest or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA_DIR / name, target)
        return dest or name

    return copy


@pytest.fixture
def contents_api(server_url: str, auth_headers: dict[str, str]) -> Callable[..., Any]:
    """Factory of an ``httpx2.AsyncClient`` on the server's base URL with the token, for Jupyter's own REST API."""

    def make(**kwargs: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=server_url, headers=auth_headers, timeout=60, **kwargs)

    return make


async def poll(
    check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition", *, interval: float = 0.05
) -> Any:
    """Await ``check()`` until it returns something truthy and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last value: {value!r})")
        await asyncio.sleep(interval)
