"""The MCP tools: thin functions that translate arguments in and result shapes out.

One module per tool group of the spec (notebooks, kernels, jobs, system). Each exposes
``register(mcp, services)``; ``server.build_mcp_server`` calls them all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from ..exceptions import MCPExtError

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def tool_errors(fn: F) -> F:
    """Turn the services' exceptions into MCP tool errors (``isError: true``) with their message.

    Anything else propagates and the SDK reports it as an unexpected error (logged with its
    traceback, shown to the client only as "Error executing tool <name>").
    """
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{fn.__name__} must be async")

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except MCPExtError as e:
            raise ToolError(str(e)) from e

    return wrapper  # type: ignore[return-value]


async def authorize(ctx: Any, action: str, resource: str) -> None:
    """Ask the server's Authorizer whether the user behind this MCP request may ``action`` ``resource``.

    ``action`` is ``"read"``, ``"write"`` or ``"execute"``; ``resource`` one of Jupyter Server's
    resource names (``"contents"``, ``"kernels"``, ``"kernelspecs"``, ``"sessions"``), so that an
    Authorizer written for JupyterLab restricts the MCP tools the same way. Follows
    ``jupyter_server.auth.authorizer.Authorizer.is_authorized``.

    Raises ToolError when the Authorizer says no. A call without an HTTP request behind it
    (an in-process client) is not checked: it never passed through the server.
    """
    from jupyter_core.utils import ensure_async

    from ..transport import SCOPE_HANDLER_KEY

    try:
        request = ctx.request_context.request
    except (AttributeError, ValueError):
        return
    handler = getattr(request, "scope", {}).get(SCOPE_HANDLER_KEY) if request is not None else None
    if handler is None:
        return
    user = handler.current_user
    if not await ensure_async(handler.authorizer.is_authorized(handler, user, action, resource)):
        raise ToolError(
            f"Not allowed: this server's Authorizer does not let user {getattr(user, 'username', user)!r} "
            f"{action} {resource}."
        )
