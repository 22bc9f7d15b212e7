"""Fixtures and helpers of the kernel tool tests: real ipykernel kernels driven over MCP HTTP."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from ..conftest import poll, result_json


def with_config(server: dict[str, Any] | None = None, **traits: Any) -> Callable[[Any], Any]:
    """Run the decorated test on a server whose MCPExtensionApp has these traits set (and whose
    ServerApp has the ``server`` traits)."""

    def mark(test: Any) -> Any:
        test.mcp_config = (server or {}, traits)
        return test

    return mark


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: Any) -> dict[str, Any]:
    server, traits = getattr(request.function, "mcp_config", ({}, {}))
    return {
        **jp_server_config,
        "ServerApp": {**jp_server_config.get("ServerApp", {}), **server},
        "MCPExtensionApp": {**jp_server_config.get("MCPExtensionApp", {}), **traits},
    }


@pytest.fixture(autouse=True)
def stop_kernels_after_test(jp_serverapp: Any, jp_asyncio_loop: Any):
    """Every test leaves no kernel behind (killed at once: a graceful shutdown only costs time here)."""
    yield
    km = jp_serverapp.kernel_manager
    jp_asyncio_loop.run_until_complete(km.shutdown_all(now=True))


async def start_kernel(client: Any, kernel_name: str = "python3") -> str:
    """Start a kernel through the MCP tool; returns its kernel_id."""
    return result_json(await client.call_tool("start_kernel", {"kernel_name": kernel_name}))["kernel_id"]


async def run_code(client: Any, kernel_id: str, code: str, **arguments: Any) -> Any:
    """Call execute_on_kernel(mode="code"); returns the raw CallToolResult."""
    return await client.call_tool(
        "execute_on_kernel", {"kernel_id": kernel_id, "mode": "code", "code": code, **arguments}
    )


def images_of(result: Any) -> list[Any]:
    """The image content blocks of a tool result."""
    return [block for block in result.content if block.type == "image"]


def stream_text(data: dict[str, Any], name: str = "stdout") -> str:
    """All text of the ``name`` streams of a code / notebook_cell result."""
    return "".join(o["text"] for o in data["outputs"] if o["output_type"] == "stream" and o["name"] == name)


def running_marker(path: Any) -> str:
    """Kernel code that creates the file ``path`` (absolute: a kernel's cwd may not be the server
    root), so that the test sees the code run."""
    return f"open({str(path)!r}, 'w').close()\n"


async def wait_for_file(path: Any, timeout: float = 20.0) -> None:
    """Poll until ``path`` exists (created by code running in a kernel, see ``running_marker``)."""

    async def exists() -> bool:
        return path.exists()

    await poll(exists, timeout=timeout)


async def execution_state(client: Any, kernel_id: str) -> str:
    """The kernel's execution_state as list_kernels reports it ("idle", "busy", ...)."""
    data = result_json(await client.call_tool("list_kernels", {"kernel_id": kernel_id}))
    return data["execution_state"]


async def wait_for_state(client: Any, kernel_id: str, state: str, timeout: float = 20.0) -> None:
    """Poll list_kernels until the kernel's execution_state is ``state``."""

    async def reached() -> bool:
        return await execution_state(client, kernel_id) == state

    await poll(reached, timeout=timeout)


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30), noise: bool = False) -> bytes:
    """A valid PNG made with the standard library (optionally incompressible, to reach a given size)."""
    import os

    rows = []
    for _ in range(height):
        pixels = os.urandom(width * 3) if noise else bytes(rgb) * width
        rows.append(b"\x00" + pixels)
    raw = b"".join(rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


#: Kernel-side code that defines ``png(w, h, noise=False)`` returning PNG bytes (same as png_bytes).
PNG_HELPER = """
import os, struct, zlib
def png(width, height, noise=False):
    raw = b"".join(b"\\x00" + (os.urandom(width * 3) if noise else bytes((200, 30, 30)) * width) for _ in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
"""


def decoded_png_size(block: Any) -> tuple[int, int]:
    """(width, height) of an MCP image block holding a PNG."""
    head = base64.b64decode(block.data)[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])
