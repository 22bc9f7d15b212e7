"""Builds the ``mcp.server.MCPServer`` and registers the tool groups on it."""

from __future__ import annotations

import logging
from typing import Any

from mcp.server import MCPServer

from . import __version__
from .config import ConfigurationError
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
    """Create the MCP server with the tools the operator offers.

    Tool groups come from ``jupyter_mcp_ext.tools``: notebooks and system always; kernels and
    jobs when their services exist. ``select_tools`` then removes what ``read_only``,
    ``allowed_tools`` and ``denied_tools`` withhold. Deprecated aliases (the spec's older tool
    names) are added only when ``MCPExtensionApp.enable_legacy_tool_names`` is set, and only for
    the tools offered.

    Raises ConfigurationError when ``allowed_tools`` or ``denied_tools`` names a tool that does not exist.
    """
    from .tools import aliases, jobs, kernels, notebooks, system

    mcp = _new_mcp_server(name="jupyter-mcp-ext", version=__version__, instructions=INSTRUCTIONS)
    notebooks.register(mcp, services)
    system.register(mcp, services)
    if services.kernels is not None:
        kernels.register(mcp, services)
    if services.jobs is not None:
        jobs.register(mcp, services)
    app = services.app
    withheld = select_tools(mcp, read_only=app.read_only, allowed=app.allowed_tools, denied=app.denied_tools)
    services.extra["withheld_tools"] = withheld
    if app.enable_legacy_tool_names:
        aliases.register(mcp, services)
    return mcp


def changes_nothing(tool: Any) -> bool:
    """Whether a registered tool is one that ``read_only`` offers: its annotations say it is read-only.

    The annotations are the tools' own declaration to clients (``readOnlyHint``), so one statement
    serves both; a tool without annotations counts as changing something.
    """
    annotations = getattr(tool, "annotations", None)
    return bool(annotations is not None and annotations.read_only_hint)


def select_tools(mcp: MCPServer, *, read_only: bool, allowed: list[str] | None, denied: list[str]) -> list[str]:
    """Remove the tools the operator does not offer; return the names of those withheld.

    Raises ConfigurationError naming any name in ``allowed`` / ``denied`` that is not a tool, with the valid names.
    """
    from .tools.aliases import ALIASES

    tools = {tool.name: tool for tool in mcp._tool_manager.list_tools()}
    problems = []
    for setting, names in (("allowed_tools", allowed or []), ("denied_tools", denied)):
        for name in names:
            if name in tools:
                continue
            if name in ALIASES:
                hint = f"it is a deprecated alias of {ALIASES[name][0]}, which is the name to give"
            else:
                hint = "valid names: " + ", ".join(sorted(tools))
            problems.append(f"MCPExtensionApp.{setting} names {name!r}, which is not a tool of this server: {hint}.")
    if problems:
        raise ConfigurationError(problems)
    withheld = [
        name
        for name, tool in tools.items()
        if (read_only and not changes_nothing(tool)) or (allowed is not None and name not in allowed) or name in denied
    ]
    for name in withheld:
        mcp.remove_tool(name)
    return sorted(withheld)
