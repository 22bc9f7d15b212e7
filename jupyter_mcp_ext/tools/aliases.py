"""Deprecated aliases: the spec's older tool names, mapped onto the consolidated tools.

Registered only when ``MCPExtensionApp.enable_legacy_tool_names`` is set, so that the default
tool list stays short for the model's context.
"""

from __future__ import annotations

from mcp.server import MCPServer

from ..services import Services


def register(mcp: MCPServer, services: Services) -> None:
    """Register the deprecated aliases on ``mcp``."""
