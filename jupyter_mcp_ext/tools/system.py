"""MCP tools about the system and the Jupyter server (tool layer): system_info, start/stop_jupyter_server."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from typing import Annotated, Any

import jupyter_server
from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir, jupyter_runtime_dir
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from .. import __version__
from ..exceptions import PermissionDenied
from ..services import Services
from . import tool_call


def _memory_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def server_info(services: Services) -> dict[str, Any]:
    """What the running Jupyter server is: URL, version, root_dir, base_url, extensions, MCP path."""
    serverapp = services.app.serverapp
    assert serverapp is not None, "the extension is loaded by a running server"
    extensions = sorted(
        name for name, ext in serverapp.extension_manager.extensions.items() if getattr(ext, "enabled", False)
    )
    return {
        "url": serverapp.connection_url,
        "version": jupyter_server.__version__,
        "root_dir": getattr(serverapp, "root_dir", None),
        "base_url": serverapp.base_url,
        "mcp_path": services.app.mcp_path,
        "extensions": extensions,
        "jupyter_mcp_ext_version": __version__,
        "pid": os.getpid(),
    }


def register(mcp: MCPServer, services: Services) -> None:
    """Register the system tools on ``mcp``."""

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    @tool_call()
    async def system_info(ctx: Context) -> dict[str, Any]:
        """Describe the machine and Jupyter server these tools run in, to know what the code you run will find:
        Python, Jupyter versions and directories, OS, CPUs, memory, the conda or virtual environment, and what
        runs notebook jobs (job_executor: local processes, or a Dask cluster and its workers)."""
        return {
            "python": {"version": platform.python_version(), "executable": sys.executable, "platform": sys.platform},
            "jupyter": {
                "version": jupyter_server.__version__,
                "data_dir": jupyter_data_dir(),
                "runtime_dir": jupyter_runtime_dir(),
                "config_dir": jupyter_config_dir(),
            },
            "system": {
                "os": platform.platform(),
                "architecture": platform.machine(),
                "cpu_count": os.cpu_count(),
                "memory_total": _memory_total(),
            },
            "environment": {
                "conda_env": os.environ.get("CONDA_DEFAULT_ENV"),
                "virtual_env": os.environ.get("VIRTUAL_ENV") or (sys.prefix if sys.prefix != sys.base_prefix else None),
            },
            "server": server_info(services),
            "job_executor": await services.jobs.executor_status() if services.jobs is not None else None,
            "success": True,
        }

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False))
    @tool_call()
    async def start_jupyter_server(
        ctx: Context,
        env_path: Annotated[
            str | None,
            Field(description="Ignored: the server already runs, in its own environment."),
        ] = None,
    ) -> dict[str, Any]:
        """Report the Jupyter server these tools run in (nothing is started: you are connected to it): its URL,
        version, root_dir and extensions."""
        info = server_info(services)
        note = "The Jupyter server is already running: these tools are served by it. Nothing was started."
        if env_path:
            note += f" env_path {env_path!r} selects nothing: the server runs in {sys.prefix!r}."
        return {"status": "running", "already_running": True, "server": info, "message": note, "success": True}

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False))
    @tool_call(("write", "server"))  # what Jupyter's own POST /api/shutdown asks the Authorizer for
    async def stop_jupyter_server(ctx: Context) -> dict[str, Any]:
        """Shut down the Jupyter server these tools run in, with its kernels: no tool answers until someone
        starts it again. Refused unless the operator allowed it (MCPExtensionApp.allow_server_shutdown)."""
        app = services.app
        if not app.allow_server_shutdown:
            raise PermissionDenied(
                "stop_jupyter_server is disabled on this server: the server hosts these tools and stays up. "
                "Its operator can allow it with --MCPExtensionApp.allow_server_shutdown=True."
            )
        serverapp = app.serverapp
        assert serverapp is not None, "the extension is loaded by a running server"
        # Reply first, then stop (kernels and extensions are cleaned up as for /api/shutdown):
        # the server hosting this response is the one going away.
        asyncio.get_running_loop().call_later(0.5, serverapp.stop)
        return {"status": "stopping", "message": "The Jupyter server is shutting down.", "success": True}
