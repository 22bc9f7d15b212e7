"""The MCP tools: thin functions that translate arguments in and result shapes out.

One module per tool group of the spec (notebooks, kernels, jobs, system). Each exposes
``register(mcp, services)``; ``server.build_mcp_server`` calls them all.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from ..caller import Caller, current_caller
from ..exceptions import MCPExtError
from ..logs import LOGGER_NAME
from ..metrics import MCP_TOOL_CALL_DURATION_SECONDS, MCP_TOOL_CALLS_TOTAL

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: One INFO line per tool call goes to this logger (part of the server's log).
call_log = logging.getLogger(f"{LOGGER_NAME}.tools")

#: The arguments a call's log line shows: what it acted on, never code, sources, outputs or parameters.
LOGGED_ARGUMENTS = ("path", "notebook_path", "kernel_id", "job_id", "kernel_name", "mode", "operation")


def _request_handler(ctx: Any) -> Any:
    """The tornado handler serving this MCP request, or None for an in-process client."""
    from ..transport import SCOPE_HANDLER_KEY

    try:
        request = ctx.request_context.request
    except (AttributeError, LookupError, ValueError):
        return None
    return getattr(request, "scope", {}).get(SCOPE_HANDLER_KEY) if request is not None else None


def _shown(value: Any) -> str:
    text = str(value)[:200]
    return text if text and all(c.isalnum() or c in "-_./:@" for c in text) else repr(text)


def _log_call(name: str, kwargs: dict[str, Any], outcome: str, error: str | None, seconds: float) -> None:
    if not call_log.isEnabledFor(logging.INFO):
        return
    ctx = next((v for v in kwargs.values() if isinstance(v, Context)), None)
    fields = [f"tool={name}"]
    fields += [f"{k}={_shown(kwargs[k])}" for k in LOGGED_ARGUMENTS if kwargs.get(k) is not None]
    fields.append(f"outcome={outcome}")
    if error:
        fields.append(f"error={error}")
    fields.append(f"duration_ms={seconds * 1000:.1f}")
    if ctx is not None:
        fields.append(f"client={_shown(client_name(ctx) or '-')}")
        handler = _request_handler(ctx)
        user = getattr(handler, "current_user", None) if handler is not None else None
        # Token requests to a plain server get a new random "Anonymous ..." user each: no one to name.
        if user is not None and not str(getattr(user, "name", "")).startswith("Anonymous "):
            fields.append(f"user={_shown(getattr(user, 'username', None) or user)}")
    call_log.info("MCP %s", " ".join(fields))


#: Longest part of an unexpected exception's message that a tool error repeats.
MAX_UNEXPECTED_CHARS = 500


def unexpected_error(name: str, error: BaseException, root_dir: str | None) -> str:
    """The tool error for an exception no service raised on purpose: what failed, in a sentence
    with the exception's own message (without the server's root directory, cut to a few hundred
    characters); the traceback goes to the server's log."""
    message = str(error) or repr(error)
    for root in {root_dir.rstrip(os.sep), os.path.realpath(root_dir)} if root_dir else ():
        message = message.replace(root + os.sep, "").replace(root, "<server root>")
    if len(message) > MAX_UNEXPECTED_CHARS:
        message = message[:MAX_UNEXPECTED_CHARS] + f"... ({len(message):,} characters)"
    return f"{name} failed unexpectedly: {type(error).__name__}: {message}. The server's log has the details."


def _root_dir(kwargs: dict[str, Any]) -> str | None:
    """The server root of the request behind a tool call, if it came over HTTP."""
    ctx = next((v for v in kwargs.values() if isinstance(v, Context)), None)
    handler = _request_handler(ctx) if ctx is not None else None
    return getattr(handler.settings.get("contents_manager"), "root_dir", None) if handler is not None else None


def _caller(tool: str, kwargs: dict[str, Any]) -> Caller:
    """Who a tool call works for: its MCP client, a short id of its session, its Jupyter user."""
    ctx = next((v for v in kwargs.values() if isinstance(v, Context)), None)
    if ctx is None:
        return Caller(None, None, None, tool)
    handler = _request_handler(ctx)
    session = user = None
    if handler is not None:
        session_id = handler.request.headers.get("Mcp-Session-Id")
        if session_id:
            session = hashlib.sha256(session_id.encode()).hexdigest()[:8]
        current = getattr(handler, "current_user", None)
        name = getattr(current, "username", None) if current is not None else None
        if name and not str(getattr(current, "name", "")).startswith("Anonymous "):
            user = str(name)
    return Caller(client_name(ctx), session, user, tool)


def tool_errors(fn: F) -> F:
    """Turn the services' exceptions into MCP tool errors (``isError: true``) with their message.

    Also counts the call in ``mcp_tool_calls_total``, times it in ``mcp_tool_call_duration_seconds``,
    and logs one INFO line: tool, what it acted on (``LOGGED_ARGUMENTS``), outcome, duration, MCP
    client name and Jupyter user. Any other exception is logged with its traceback and reaches the
    client as a sentence saying what failed (``unexpected_error``), not as the SDK's bare
    "Error executing tool <name>".
    """
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{fn.__name__} must be async")

    name = fn.__name__
    duration = MCP_TOOL_CALL_DURATION_SECONDS.labels(name)

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        outcome = "error"
        error: str | None = None
        started = time.perf_counter()
        current_caller.set(_caller(name, kwargs))
        try:
            # Its own task: AnyIO ties the worker threads of ``to_thread`` (the ContentsManager runs
            # file I/O in them) to the root task of the caller's task tree, and a tool runs inside
            # the SDK's task group, whose task lives as long as the server. A server stopped
            # without its cleanup (SIGINT without a terminal, as JupyterHub's spawner sends) then
            # waits forever on those idle threads. In a task of its own, the call is their root:
            # they end with it, as they do for Jupyter's REST handlers. Cancellation still
            # reaches the call (cancelling a task cancels the task it awaits).
            result = await asyncio.ensure_future(fn(*args, **kwargs))
            outcome = "ok"
            return result
        except MCPExtError as e:
            error = type(e).__name__
            raise ToolError(str(e)) from e
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except ToolError:
            raise
        except Exception as e:
            call_log.exception("Tool %s failed unexpectedly", name)
            raise ToolError(unexpected_error(name, e, _root_dir(kwargs))) from e
        finally:
            elapsed = time.perf_counter() - started
            duration.observe(elapsed)
            MCP_TOOL_CALLS_TOTAL.labels(name, outcome).inc()
            _log_call(name, kwargs, outcome, error or ("unexpected" if outcome == "error" else None), elapsed)

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

    handler = _request_handler(ctx)
    if handler is None:
        return
    user = handler.current_user
    if not await ensure_async(handler.authorizer.is_authorized(handler, user, action, resource)):
        raise ToolError(
            f"Not allowed: this server's Authorizer does not let user {getattr(user, 'username', user)!r} "
            f"{action} {resource}."
        )


def client_name(ctx: Any) -> str | None:
    """The MCP client's name (``clientInfo.name``) behind this tool call, or None when it sent none.

    Handshake protocol versions send it once, in ``initialize`` (the SDK keeps it on the session as
    ``client_params``); the stateless 2026-07-28 protocol may send it with each request, in the
    request's ``_meta`` under ``io.modelcontextprotocol/clientInfo``. Both are looked at.
    """
    try:
        request_context = ctx.request_context
    except (AttributeError, ValueError):
        return None
    params = getattr(getattr(request_context, "session", None), "client_params", None)
    info: Any = getattr(params, "client_info", None)
    if info is None:
        from mcp.types import CLIENT_INFO_META_KEY

        meta = getattr(request_context, "meta", None)
        info = meta.get(CLIENT_INFO_META_KEY) if isinstance(meta, dict) else None
    name = info.get("name") if isinstance(info, dict) else getattr(info, "name", None)
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip()[:200]
