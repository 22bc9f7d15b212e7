"""The MCP tools (tool layer): thin functions that translate arguments in and result shapes out.

One module per tool group of the spec (notebooks, kernels, jobs, system). Each exposes
``register(mcp, services)``; ``server.build_mcp_server`` calls them all.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.types import CLIENT_INFO_META_KEY

from ..caller import SESSION_ID_CHARS, Caller, set_caller
from ..exceptions import MCPExtError
from ..logs import LOGGER_NAME
from ..metrics import MCP_TOOL_CALL_DURATION_SECONDS, MCP_TOOL_CALLS_TOTAL
from ..transport import SCOPE_HANDLER_KEY

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: One INFO line per tool call goes to this logger (part of the server's log).
call_log = logging.getLogger(f"{LOGGER_NAME}.tools")

#: The arguments a call's log line shows: what it acted on, never code, sources, outputs or parameters.
LOGGED_ARGUMENTS = ("path", "notebook_path", "kernel_id", "job_id", "kernel_name", "mode", "operation")


def _request_context(ctx: Any) -> Any:
    """The SDK's request context of a tool call (one read: the Context's property is not free), or None."""
    try:
        return ctx.request_context
    except (AttributeError, ValueError):
        return None


def _handler_of(request_context: Any) -> Any:
    """The tornado handler serving the request of ``request_context``, or None for an in-process client."""
    request = getattr(request_context, "request", None)
    return getattr(request, "scope", {}).get(SCOPE_HANDLER_KEY) if request is not None else None


def _request_handler(ctx: Any) -> Any:
    """The tornado handler serving this MCP request, or None for an in-process client."""
    return _handler_of(_request_context(ctx))


def _user_name(handler: Any) -> str | None:
    """The Jupyter user's name behind ``handler``, None when the identity provider knows no name."""
    user = getattr(handler, "current_user", None) if handler is not None else None
    # Token requests to a plain server get a random "Anonymous ..." user: no one to name.
    if user is None or str(getattr(user, "name", "")).startswith("Anonymous "):
        return None
    return str(getattr(user, "username", None) or user)


def _caller(request_context: Any, tool: str) -> tuple[Caller, Any]:
    """The caller of a call of ``tool``, and the tornado handler serving it (None for an in-process client)."""
    handler = _handler_of(request_context)
    session = handler.request.headers.get(MCP_SESSION_ID_HEADER) if handler is not None else None
    caller = Caller(
        _client_name(request_context),
        session[:SESSION_ID_CHARS] if session else None,
        _user_name(handler),
        tool,
        secrets.token_hex(8),
    )
    return caller, handler


def _shown(value: Any) -> str:
    text = str(value)[:200]
    return text if text and all(c.isalnum() or c in "-_./:@" for c in text) else repr(text)


def _emits(logger: logging.Logger, level: int) -> bool:
    """Whether a record of ``level`` logged to ``logger`` reaches a handler that writes it.

    ``Logger.isEnabledFor`` is not enough: traitlets applications (Jupyter Server) set their
    logger to DEBUG and filter in the handler, at ``--log-level`` (INFO by default).
    """
    if not logger.isEnabledFor(level):
        return False
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return level >= logging.lastResort.level if logging.lastResort else False


def _log_call(
    name: str, kwargs: dict[str, Any], caller: Caller, outcome: str, error: str | None, seconds: float
) -> None:
    if not _emits(call_log, logging.INFO):
        return
    fields = [f"tool={name}"]
    fields += [f"{k}={_shown(kwargs[k])}" for k in LOGGED_ARGUMENTS if kwargs.get(k) is not None]
    fields.append(f"outcome={outcome}")
    if error:
        fields.append(f"error={error}")
    fields.append(f"duration_ms={seconds * 1000:.1f}")
    if "ctx" in kwargs:
        fields.append(f"client={_shown(caller.client or '-')}")
        if caller.user is not None:
            fields.append(f"user={_shown(caller.user)}")
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


def _root_dir(handler: Any) -> str | None:
    """The server root of the request behind a tool call, if it came over HTTP."""
    return getattr(handler.settings.get("contents_manager"), "root_dir", None) if handler is not None else None


def tool_call(*permissions: tuple[str, str]) -> Callable[[F], F]:
    """The preamble every MCP tool shares, as jupyter_server's ``@authorized`` is every handler's.

    Before the tool's body runs: the current ``caller.Caller`` is set (client, session, Jupyter
    user; services read it with ``caller.current_caller()``, presence through
    ``notebooks.presence.editor``), and the server's Authorizer is asked for each of
    ``permissions`` (``authorize``). Around it: the services' exceptions become MCP tool errors
    (``isError: true``) with their message; any other exception is logged with its traceback and
    reaches the client as a sentence saying what failed (``unexpected_error``), not as the SDK's
    bare "Error executing tool <name>". The call is counted in ``mcp_tool_calls_total``, timed in
    ``mcp_tool_call_duration_seconds``, and logged in one INFO line (tool, what it acted on
    (``LOGGED_ARGUMENTS``), outcome, duration, MCP client name and Jupyter user), written once the
    response is out.

    Parameters
    ----------
    *permissions : tuple of (str, str)
        ``(action, resource)`` pairs the user must be granted, asked in order, e.g.
        ``("read", "contents")``. A permission that depends on the arguments (a mode, an operation)
        is asked in the tool's body with ``authorize``.

    The tool must be a coroutine function with a ``ctx: Context`` parameter; ``functools.wraps``
    keeps its signature, from which the SDK builds the input schema.
    """

    def decorate(fn: F) -> F:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"{fn.__name__} must be async")
        if "ctx" not in inspect.signature(fn).parameters:
            raise TypeError(f"{fn.__name__} must take ctx: Context (the preamble reads the request from it)")
        name = fn.__name__
        duration = MCP_TOOL_CALL_DURATION_SECONDS.labels(name)
        counted = {outcome: MCP_TOOL_CALLS_TOTAL.labels(name, outcome) for outcome in ("ok", "error", "cancelled")}

        async def run(caller: Caller, handler: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            set_caller(caller)  # this task's context: it ends with the call
            if handler is not None:
                for action, resource in permissions:
                    await _authorize(handler, action, resource)
            return await fn(*args, **kwargs)

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            outcome = "error"
            error: str | None = None
            started = time.perf_counter()
            caller, handler = _caller(_request_context(kwargs.get("ctx")), name)
            try:
                # Its own task: AnyIO ties the worker threads of ``to_thread`` (the ContentsManager
                # runs file I/O in them) to the root task of the caller's task tree, and a tool runs
                # inside the SDK's task group, whose task lives as long as the server. A server
                # stopped without its cleanup (SIGINT without a terminal, as JupyterHub's spawner
                # sends) then waits forever on those idle threads. In a task of its own, the call is
                # their root: they end with it, as they do for Jupyter's REST handlers. Cancellation
                # still reaches the call (cancelling a task cancels the task it awaits).
                result = await asyncio.ensure_future(run(caller, handler, args, kwargs))
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
                raise ToolError(unexpected_error(name, e, _root_dir(handler))) from e
            finally:
                elapsed = time.perf_counter() - started
                duration.observe(elapsed)
                counted[outcome].inc()
                if error is None and outcome == "error":
                    error = "unexpected"
                line = functools.partial(_log_call, name, kwargs, caller, outcome, error, elapsed)
                # Over HTTP the line is written once the response is out, as Jupyter's request log is.
                after_response = getattr(handler, "after_response", None)
                if after_response is not None:
                    after_response(line)
                else:
                    line()

        return wrapper  # type: ignore[return-value]

    return decorate


#: ``tool_call()``: the preamble without permissions, for a tool that asks them in its body.
tool_errors = tool_call()


async def authorize(ctx: Any, action: str, resource: str) -> None:
    """Ask the server's Authorizer whether the user behind this MCP request may ``action`` ``resource``.

    ``action`` is ``"read"``, ``"write"`` or ``"execute"``; ``resource`` one of Jupyter Server's
    resource names (``"contents"``, ``"kernels"``, ``"kernelspecs"``, ``"sessions"``), so that an
    Authorizer written for JupyterLab restricts the MCP tools the same way. Follows
    ``jupyter_server.auth.authorizer.Authorizer.is_authorized``.

    Raises ToolError when the Authorizer says no. A call without an HTTP request behind it
    (an in-process client) is not checked: it never passed through the server.
    """
    handler = _request_handler(ctx)
    if handler is not None:
        await _authorize(handler, action, resource)


async def _authorize(handler: Any, action: str, resource: str) -> None:
    user = handler.current_user
    allowed = handler.authorizer.is_authorized(handler, user, action, resource)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if not allowed:
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
    return _client_name(_request_context(ctx))


def _client_name(request_context: Any) -> str | None:
    if request_context is None:
        return None
    params = getattr(getattr(request_context, "session", None), "client_params", None)
    info: Any = getattr(params, "client_info", None)
    if info is None:
        meta = getattr(request_context, "meta", None)
        info = meta.get(CLIENT_INFO_META_KEY) if isinstance(meta, dict) else None
    name = info.get("name") if isinstance(info, dict) else getattr(info, "name", None)
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip()[:200]
