"""MCP tools of the execution group (spec module C): execute_notebook and manage_async_job."""

from __future__ import annotations

from mcp.server import MCPServer

from ..services import Services


def register(mcp: MCPServer, services: Services) -> None:
    """Register the job tools on ``mcp``."""
