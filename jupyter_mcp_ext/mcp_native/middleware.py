"""The MCP server's middleware (``MCPServer(middleware=...)``): what of tasks, subscriptions and Apps must be
decided on the whole message, before or after the SDK's own handling.

- ``initialize`` (2025-11-25): the server's ``tasks`` capability, which the SDK does not emit.
- ``tools/list``: ``execution.taskSupport`` on the tools that run as tasks (2025-11-25), and the MCP App
  of a tool (``_meta.ui``) for clients that declared Apps support; others see the list as before.
- ``tools/call`` with ``task`` (2025-11-25): answered at once with the task (``tasks.TaskService``).
- ``resources/read``: a URI that is none of this server's is told so, with the valid forms.
- ``subscriptions/listen`` (2026-07-28): the URIs checked before the stream opens (they exist, the
  identity may read them), followed while the stream lasts, and the identity kept for delivery.
- every request of a handshake session: the session noted for log notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .identity import reader_of
from .log_messages import LogMessages
from .subscriptions import Key, Subscriptions, listen_reader
from .tasks import CAPABILITY, TASK_TOOLS, TASKS_VERSION, TaskService, check_task_call
from .uris import parse

log = logging.getLogger(__name__)


class NativeMiddleware:
    """A ``ServerMiddleware``: see the module's docstring.

    Parameters
    ----------
    subscriptions, tasks, messages
        The services it hands messages to.
    tool_names : callable
        The names of the tools the server offers now (some may be withheld by configuration).
    app_of_tool : dict
        Tool name -> the ``_meta.ui`` of its MCP App (``apps.py``).
    """

    def __init__(
        self,
        subscriptions: Subscriptions,
        tasks: TaskService | None,
        messages: LogMessages,
        tool_names: Callable[[], set[str]],
        app_of_tool: dict[str, dict[str, Any]],
    ) -> None:
        self.subscriptions = subscriptions
        self.tasks = tasks
        self.messages = messages
        self.tool_names = tool_names
        self.app_of_tool = app_of_tool

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = ctx.method
        version = ctx.protocol_version
        legacy = version not in MODERN_PROTOCOL_VERSIONS
        if legacy and ctx.request_id is not None and method != "initialize":
            self.messages.seen(ctx)
        if method == "tools/call":
            params = ctx.params or {}
            if "task" in params and version == TASKS_VERSION and self.tasks is not None:
                check_task_call(params.get("name"), self.tool_names())
                return await self.tasks.create(ctx, dict(params), call_next)
            return await call_next(ctx)
        if method == "subscriptions/listen":
            return await self._listen(ctx, call_next)
        if method == "resources/read":
            target = parse((ctx.params or {}).get("uri"))
            if target.kind not in self.subscriptions.kinds and target.kind != "ui":
                raise MCPError(
                    INVALID_PARAMS,
                    f"uri {(ctx.params or {}).get('uri')!r}: this server's operator does not offer {target.kind} "
                    "resources (the tools that read them are withheld).",
                )
            return await call_next(ctx)
        result = await call_next(ctx)
        if method == "initialize" and isinstance(result, dict) and self.tasks is not None:
            if result.get("protocolVersion") == TASKS_VERSION:
                result.setdefault("capabilities", {})["tasks"] = CAPABILITY
        elif method == "tools/list" and isinstance(result, dict):
            self._annotate_tools(ctx, result, version)
        return result

    def _annotate_tools(self, ctx: Any, result: dict[str, Any], version: str) -> None:
        apps = bool(self.app_of_tool) and client_supports_apps(ctx)
        tasks = version == TASKS_VERSION and self.tasks is not None
        if not apps and not tasks:
            return
        for tool in result.get("tools") or []:
            name = tool.get("name")
            if tasks and name in TASK_TOOLS:
                tool["execution"] = {"taskSupport": TASK_TOOLS[name]}
            if apps and name in self.app_of_tool:
                tool["_meta"] = {**(tool.get("_meta") or {}), "ui": self.app_of_tool[name]}

    async def _listen(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        notifications = params.get("notifications")
        uris = notifications.get("resourceSubscriptions") if isinstance(notifications, dict) else None
        reader = reader_of(ctx)
        followed: list[tuple[str, Key]] = []
        if uris is not None and not isinstance(uris, list):
            raise MCPError(INVALID_PARAMS, "notifications.resourceSubscriptions must be a list of resource URIs.")
        for i, uri in enumerate(uris or []):
            key = await self.subscriptions.resolve(uri, reader, argument=f"notifications.resourceSubscriptions[{i}]")
            followed.append((uri, key))
        token = listen_reader.set(reader)
        for uri, key in followed:
            self.subscriptions.watch(uri, key)
        try:
            return await call_next(ctx)
        finally:
            for uri, key in followed:
                self.subscriptions.unwatch(uri, key)
            listen_reader.reset(token)


__all__ = ["NativeMiddleware"]
