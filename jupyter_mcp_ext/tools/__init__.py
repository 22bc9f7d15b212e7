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
