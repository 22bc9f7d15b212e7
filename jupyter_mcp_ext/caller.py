"""Who the current MCP tool call works for (infrastructure): set once per call by the tool layer, read by
services that attribute what they do (presence in a live notebook, the record of agent changes)."""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .changes.models import Author


@dataclass(frozen=True)
class Caller:
    """The MCP client behind a tool call (``clientInfo.name``), a short id of its session (never the
    token), the Jupyter user (None for the default identity provider's random anonymous users), the
    tool, and an id unique to the call."""

    client: str | None
    session: str | None
    user: str | None
    tool: str
    call_id: str = field(default_factory=lambda: secrets.token_hex(8))


#: The current tool call's caller; None outside MCP tool calls.
current_caller: ContextVar[Caller | None] = ContextVar("jupyter_mcp_ext_caller", default=None)


def current_author() -> Author | None:
    """The current caller as the change record's ``Author``, or None outside MCP tool calls."""
    caller = current_caller.get()
    if caller is None:
        return None
    from .changes.models import Author

    return Author(
        client=caller.client, session=caller.session, user=caller.user, tool=caller.tool, call_id=caller.call_id
    )


__all__ = ["Caller", "current_author", "current_caller"]
