"""MCP tool of the person's context (tool layer): get_active_notebook, the notebook and cell focused in JupyterLab."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations

from ..lab.service import LabContext
from ..services import Services
from . import tool_call

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


def register(mcp: MCPServer, services: Services) -> None:
    """Register get_active_notebook on ``mcp`` (the service is ``services.lab``)."""
    lab: LabContext = services.lab

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "contents"))
    async def get_active_notebook(ctx: Context) -> dict[str, Any]:
        """The notebook and cell the person has focused in JupyterLab ("this cell", "my notebook"): path,
        cell_index, cell_id, cell_type, selected_cells, text_selection (line, column from 0), kernel_id, the other
        open_notebooks, focused_at, seconds_since_focus. status "active", else "no_notebook", "no_lab" or "off"
        (sharing turned off) with a message."""
        return {**lab.current(), "success": True}
