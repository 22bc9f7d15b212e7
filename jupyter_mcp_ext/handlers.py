"""REST handlers of the extension's status and client snippets (REST layer), for the Lab panel and scripts."""

from __future__ import annotations

import json
from typing import Any

import anyio
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from . import __version__
from .transport import AUTH_RESOURCE, ExplainedRefusalsHandler

#: Seconds after its last request that an MCP session still counts as a connected client.
ACTIVE_SESSION_SECONDS = 120


def session_counts(manager: Any, active_seconds: float = ACTIVE_SESSION_SECONDS) -> tuple[int, int]:
    """How many MCP sessions are connected now, and how many the SDK's session manager holds.

    The manager keeps a session until its client deletes it or it has been idle for
    ``MCPExtensionApp.session_idle_timeout`` (30 minutes by default); many clients never delete
    theirs (a health check, a client that quit), so that count is not who is connected. A session
    counts as connected while a request of it is in flight (an open GET stream included) or when
    its last request ended less than ``active_seconds`` ago: what its transport's idle deadline says
    (the SDK's ``StreamableHTTPServerTransport``, mcp 2.x). Without an idle timeout the SDK keeps
    no such record, and every session held counts. Stateless (2026-07-28) requests hold no session.
    """
    sessions = list((getattr(manager, "_server_instances", None) or {}).values())
    connected = 0
    now = anyio.current_time()
    for transport in sessions:
        scope = getattr(transport, "idle_scope", None)
        timeout = getattr(transport, "_idle_timeout", None)
        if scope is None or timeout is None or getattr(transport, "_requests_in_flight", 0) > 0:
            connected += 1
        elif scope.deadline - timeout > now - active_seconds:
            connected += 1
    return connected, len(sessions)


class StatusHandler(ExplainedRefusalsHandler):
    """``GET <base_url>jupyter-mcp-ext/status``: version, MCP path, the tools offered and withheld,
    sessions (``active_sessions``: connected now, see ``session_counts``; ``open_sessions``: all
    held), kernels, jobs."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.settings["jupyter_mcp_ext_app"]
        services = app.services
        tools = sorted(t.name for t in await app.mcp.list_tools())
        manager = self.settings.get("jupyter_mcp_ext_session_manager")
        active_sessions, open_sessions = session_counts(manager, ACTIVE_SESSION_SECONDS)
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
            "active_sessions": active_sessions,
            "open_sessions": open_sessions,
            "active_session_seconds": ACTIVE_SESSION_SECONDS,
            "kernels": len(self.kernel_manager.list_kernel_ids()),
            "root_dir": getattr(self.contents_manager, "root_dir", None),
        }
        if services.jobs is not None and hasattr(services.jobs, "counts"):
            status["jobs"] = await services.jobs.counts()
            status["job_executor"] = await services.jobs.executor_status()
        self.finish(json.dumps(status))


class ConnectHandler(ExplainedRefusalsHandler):
    """``GET <base_url>jupyter-mcp-ext/connect?url=<endpoint>[&with_token=1]``: client configuration snippets.

    The same snippets as ``jupyter mcp-ext connect`` (``cli.CLIENTS``), for the endpoint URL the
    browser sees (``url``; default the server's own). They hold a ``<token>`` placeholder unless
    ``with_token=1`` asks for the server's token, which the Authorizer must let the user
    ``write`` ``server`` for (the permission behind Jupyter's own shutdown API): the token
    grants everything on this server.
    """

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from .cli import CLIENTS, Endpoint

        app = self.settings["jupyter_mcp_ext_app"]
        url = self.get_argument("url", "") or app.serverapp.connection_url.rstrip("/") + "/" + app.mcp_path
        if not url.startswith(("http://", "https://")):
            raise web.HTTPError(400, f"url must be an http(s) URL of the MCP endpoint, got {url!r}.")
        token = getattr(self.identity_provider, "token", "") or ""
        with_token = self.get_argument("with_token", "") in ("1", "true")
        if with_token:
            if not token:
                raise web.HTTPError(404, "This server has no token of its own to copy (password or JupyterHub login).")
            allowed = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "write", "server"))
            if not allowed:
                raise web.HTTPError(
                    403,
                    "The server's Authorizer does not let this user write 'server', so the token "
                    "is not shown; the snippets without it work with a token the operator gives.",
                )
        endpoint = Endpoint(url=url, authorization=f"token {token}" if with_token else None, server_url=url)
        clients = [
            {"id": key, "title": client.title, "where": client.where, "snippet": client.render(endpoint, "jupyter")}
            for key, client in CLIENTS.items()
        ]
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"url": url, "token_available": bool(token), "clients": clients}))
