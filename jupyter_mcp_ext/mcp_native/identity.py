"""Who is behind an MCP request that is not a tool call (a resource read, a subscription, a task), and what
the server's Authorizer lets them do — asked as the tools ask it (``tools._authorize``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from ..transport import SCOPE_HANDLER_KEY, session_principal

#: The Authorizer permission each resource kind needs to be read (``read_cells`` and
#: ``manage_async_job(operation="status")`` ask the same).
READ_PERMISSION = {"notebook": ("read", "contents"), "cell": ("read", "contents"), "job": ("read", "kernels")}


@dataclass(frozen=True)
class Reader:
    """The identity of one MCP request: its principal (``transport.session_principal``: the Jupyter user,
    or the token's digest) and the tornado handler that authenticated it (None for a client in the
    server's own process, which is not checked, as for tools)."""

    principal: str
    handler: Any = None

    async def may(self, action: str, resource: str) -> bool:
        """Whether the server's Authorizer lets this identity ``action`` ``resource`` (e.g. read contents)."""
        handler = self.handler
        if handler is None:
            return True
        try:
            allowed = handler.authorizer.is_authorized(handler, handler.current_user, action, resource)
            if inspect.isawaitable(allowed):
                allowed = await allowed
        except Exception:
            return False
        return bool(allowed)

    async def may_read(self, kind: str) -> bool:
        """Whether this identity may read resources of ``kind`` ("notebook", "job")."""
        action, resource = READ_PERMISSION.get(kind, ("read", "contents"))
        return await self.may(action, resource)

    async def require(self, action: str, resource: str, what: str) -> None:
        """Raise a JSON-RPC error (invalid params, naming ``what``) unless the Authorizer allows it."""
        if not await self.may(action, resource):
            user = getattr(getattr(self.handler, "current_user", None), "username", None) or self.principal
            raise MCPError(
                INVALID_PARAMS,
                f"Not allowed: this server's Authorizer does not let user {user!r} {action} {resource}, which "
                f"{what} needs.",
            )


#: The identity of a request made inside the server's process (no HTTP request behind it).
IN_PROCESS = Reader("in-process")


def handler_of(request_context: Any) -> Any:
    """The tornado handler behind an SDK request context (``ServerRequestContext``), or None."""
    request = getattr(request_context, "request", None)
    scope = getattr(request, "scope", None)
    return scope.get(SCOPE_HANDLER_KEY) if isinstance(scope, dict) else None


def reader_of(request_context: Any) -> Reader:
    """The ``Reader`` of an SDK request context (a ``ServerRequestContext``)."""
    handler = handler_of(request_context)
    if handler is None:
        return IN_PROCESS
    return Reader(session_principal(handler), handler)


def reader_of_context(ctx: Any) -> Reader:
    """The ``Reader`` of an ``MCPServer`` ``Context`` (what a resource or tool function receives)."""
    try:
        request_context = ctx.request_context
    except (AttributeError, ValueError):
        return IN_PROCESS
    return reader_of(request_context)


__all__ = ["IN_PROCESS", "READ_PERMISSION", "Reader", "handler_of", "reader_of", "reader_of_context"]
