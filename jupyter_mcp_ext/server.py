"""Builds the ``mcp.server.MCPServer`` and registers the tool groups on it."""

from __future__ import annotations

import logging
from typing import Any

from mcp.server import MCPServer

from . import __version__
from .services import Services

INSTRUCTIONS = """\
Tools for the Jupyter server you are connected to: its notebooks (paths are relative to the \
server's root directory), its kernels (the same ones JupyterLab shows) and Papermill jobs. \
Read a notebook with read_cells(mode="list") first, then read or edit single cells. Run code \
with execute_on_kernel; run a whole notebook as a parameterized job with execute_notebook."""


def _new_mcp_server(**kwargs: Any) -> MCPServer:
    # MCPServer() calls logging.basicConfig(), which installs a Rich handler at INFO on the root
    # logger when it has none: inside Jupyter Server that would reroute every library's logging.
    # A placeholder handler makes basicConfig a no-op; the root logger stays as Jupyter set it.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        return MCPServer(**kwargs)
    finally:
        root.removeHandler(placeholder)


def build_mcp_server(services: Services) -> MCPServer:
    """Create the MCP server with every tool group registered.

    Tool groups come from ``jupyter_mcp_ext.tools``: notebooks and system always; kernels and
    jobs when their services exist. Deprecated aliases (the spec's older tool names) are added
    only when ``MCPExtensionApp.enable_legacy_tool_names`` is set.
    """
    from .tools import aliases, jobs, kernels, notebooks, system

    mcp = _new_mcp_server(name="jupyter-mcp-ext", version=__version__, instructions=INSTRUCTIONS)
    notebooks.register(mcp, services)
    system.register(mcp, services)
    if services.kernels is not None:
        kernels.register(mcp, services)
    if services.jobs is not None:
        jobs.register(mcp, services)
    if services.app.enable_legacy_tool_names:
        aliases.register(mcp, services)
    return mcp
