"""MCP tools of the kernel group (spec module B): kernel lifecycle and execute_on_kernel."""

from __future__ import annotations

from mcp.server import MCPServer

from ..services import Services


def register(mcp: MCPServer, services: Services) -> None:
    """Register the kernel tools on ``mcp``."""
