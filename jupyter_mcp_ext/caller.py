"""Who the current tool call works for (infrastructure): MCP client, session, Jupyter user, tool, call id.

The tools' preamble (``tools.tool_call``) sets it once per call, before the tool runs; a service reads
it with ``current_caller()`` (a record of changes, presence in a live notebook, a job's starter). The
value lives in a context variable: each tool call runs in a task of its own, so it holds for
everything the call awaits, and for no other call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a tool call works for.

    Parameters
    ----------
    client : str or None
        The MCP client's name (its ``clientInfo.name``, e.g. ``"claude-code"``); None when it sent none.
    session : str or None
        A short id telling two sessions of one client apart: the first ``SESSION_ID_CHARS`` characters of
        the ``Mcp-Session-Id`` of a 2025-11-25 (handshake) session. None in the stateless 2026-07-28
        protocol, which has no session, and for a client in the server's own process. Never a token.
    user : str or None
        The Jupyter user's name as the server's identity provider knows it; None when it knows no name
        (the default identity provider makes an anonymous user for each token-authenticated client).
    tool : str or None
        The tool being called; None outside a tool call.
    call_id : str or None
        An id unique to the call (what the record of agent changes folds one call's writes under).
    """

    client: str | None = None
    session: str | None = None
    user: str | None = None
    tool: str | None = None
    call_id: str | None = None


#: Nobody: outside a tool call (a request of JupyterLab, a background task).
NOBODY = Caller()

#: Characters of the Mcp-Session-Id kept as ``Caller.session`` (the SDK's ids are 32 random hex digits).
SESSION_ID_CHARS = 8

_current: ContextVar[Caller] = ContextVar("jupyter_mcp_ext_caller", default=NOBODY)


def current_caller() -> Caller:
    """Who the current tool call works for; ``NOBODY`` outside a tool call."""
    return _current.get()


def set_caller(caller: Caller) -> Token[Caller]:
    """Make ``caller`` the current one in this context (a tool call's own task: it ends with the call)."""
    return _current.set(caller)


@contextlib.contextmanager
def calling_as(caller: Caller) -> Iterator[None]:
    """Attribute what runs inside the block (this task only) to ``caller``."""
    token = _current.set(caller)
    try:
        yield
    finally:
        _current.reset(token)


class ClientNameVar:
    """The current caller's client name, with the interface of a ``ContextVar[str | None]``
    (``get``, ``set``, ``reset``): setting it replaces the client of the current caller."""

    def get(self, default: str | None = None) -> str | None:
        client = _current.get().client
        return default if client is None else client

    def set(self, name: str | None) -> Token[Caller]:
        return _current.set(replace(_current.get(), client=name))

    def reset(self, token: Token[Caller]) -> None:
        _current.reset(token)


__all__ = [
    "NOBODY",
    "SESSION_ID_CHARS",
    "Caller",
    "ClientNameVar",
    "calling_as",
    "current_caller",
    "set_caller",
]
