"""REST handler of the extension's status, for the JupyterLab panel and for scripts."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from tornado import web

from . import __version__
from .transport import AUTH_RESOURCE, ExplainedRefusalsHandler


class StatusHandler(ExplainedRefusalsHandler):
    """``GET <base_url>jupyter-mcp-ext/status``: version, MCP path, the tools offered and withheld,
    sessions, kernels, jobs."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.settings["jupyter_mcp_ext_app"]
        services = app.services
        tools = sorted(t.name for t in await app.mcp.list_tools())
        manager = self.settings.get("jupyter_mcp_ext_session_manager")
        status = {
            "version": __version__,
            "mcp_path": self.base_url.rstrip("/") + "/" + app.mcp_path,
            "tools": tools,
            "tool_count": len(tools),
            # What the operator withholds (MCPExtensionApp.read_only / allowed_tools / denied_tools).
            "read_only": app.read_only,
            "withheld_tools": services.extra.get("withheld_tools", []),
            "protocol_versions": ["2025-11-25", "2026-07-28"],
            "running": manager is not None,
            "active_sessions": len(getattr(manager, "_server_instances", {}) or {}),
            "kernels": len(self.kernel_manager.list_kernel_ids()),
            "root_dir": getattr(self.contents_manager, "root_dir", None),
        }
        if services.jobs is not None and hasattr(services.jobs, "counts"):
            status["jobs"] = await services.jobs.counts()
        self.finish(json.dumps(status))
