"""The seams with the MCP SDK (mcp 2.3) that its public surface does not offer: every use of an SDK
internal in this package is here, each with why, so that an SDK release that offers the piece replaces
one function.

- ``add_request_handler``: a handler for a spec method that ``MCPServer`` does not route or routes
  with a fixed behaviour (``resources/subscribe``, ``resources/unsubscribe``, ``logging/setLevel``,
  our ``resources/list``). The low-level ``Server.add_request_handler`` is public, and the SDK's own
  docs name it as the way to serve ``logging/setLevel``; only the way to it from ``MCPServer``
  (``_lowlevel_server``) is private. Registering there also makes the SDK derive the capabilities
  (``resources.subscribe``, ``logging``) for the handshake protocol versions.
- ``tool_names``: the tools the server offers after the operator's selection (``MCPServer`` lists tools only
  as the ``tools/list`` wire result; the rest of this extension reads ``_tool_manager`` too).
- ``on_session_end``: run cleanup when a 2025-11-25 session ends (DELETE, idle timeout, shutdown).
  The SDK's ``Connection.exit_stack`` is public and meant for this ("push cleanup from handlers or
  middleware"), but a request handler only sees the per-request ``ServerSession``, whose connection
  is private (``_connection``).

Everything else this package does goes through public (or documented provisional) API:
``MCPServer(middleware=..., subscriptions=..., extensions=...)``, ``ServerSession.send_notification``,
``mcp.server.apps``, ``mcp.server.extension.MethodBinding``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def add_request_handler(mcp: Any, method: str, params_type: type, handler: Callable[..., Any]) -> None:
    """Serve ``method`` with ``handler(ctx, params)`` on ``mcp`` (an ``MCPServer``), replacing the SDK's."""
    mcp._lowlevel_server.add_request_handler(method, params_type, handler)


def tool_names(mcp: Any) -> set[str]:
    """The names of the tools registered on ``mcp`` (an ``MCPServer``) now."""
    return {tool.name for tool in mcp._tool_manager.list_tools()}


def on_session_end(session: Any, callback: Callable[[], None]) -> bool:
    """Call ``callback`` once the handshake session behind ``session`` (a request's ``ServerSession``)
    ends. Returns False when the SDK gives no way to know (then the caller keeps its state until the
    session's id is reused or the server stops)."""
    connection = getattr(session, "_connection", None)
    exit_stack = getattr(connection, "exit_stack", None)
    if exit_stack is None:
        log.warning("This MCP SDK does not expose a session's end; subscriptions stay until the server stops")
        return False
    exit_stack.callback(callback)
    return True


def connection_key(session: Any) -> int:
    """A key telling the sessions (connections) of ``ServerSession`` objects apart, stable for a session."""
    return id(getattr(session, "_connection", session))


__all__ = ["add_request_handler", "connection_key", "on_session_end", "tool_names"]
