"""Presence: a client working on a live notebook appears among its collaborators in JupyterLab.

JupyterLab shows who else has a notebook open from the room's awareness states (each
``{"user": {"name", "display_name", "initials", "color", ...}}``; jupyter-collaboration's
toolbar icons and collaborators panel). Each MCP client that reads or edits a live notebook gets
an awareness client of its own in that room, named after it (the MCP ``clientInfo`` name): its
state is sent to the room's clients, renewed before JupyterLab's 30 s awareness timeout, sent
at once to a tab that joins, and withdrawn after ``idle_timeout`` seconds without a call.

Awareness is the collaboration protocol's own presence channel; pycrdt's room only broadcasts
its single server state, so the states of several clients are encoded and sent here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

#: Who the current call works for (a display name), set by the tool layer; None: nobody to show.
editor: ContextVar[str | None] = ContextVar("jupyter_mcp_ext_editor", default=None)

#: Seconds between renewals of a state (JupyterLab drops states not renewed for 30 s).
RENEW_INTERVAL = 10.0
#: Seconds between checks of the rooms (new tabs, idle clients, rooms gone).
TICK = 0.5


@contextlib.contextmanager
def editing_as(name: str | None) -> Iterator[None]:
    """Attribute the notebook reads and edits made inside the block to ``name``."""
    token = editor.set(name)
    try:
        yield
    finally:
        editor.reset(token)


def identity(name: str) -> dict[str, Any]:
    """A JupyterLab user identity (``User.IIdentity``) for a client called ``name``."""
    words = re.findall(r"[A-Za-z0-9]+", name) or ["A", "I"]
    initials = ("".join(w[0] for w in words[:2]) if len(words) > 1 else words[0][:2]).upper()
    slug = "-".join(w.lower() for w in words)[:40]
    color = 1 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 7
    return {
        "username": f"mcp-{slug}",
        "name": name,
        "display_name": name,
        "initials": initials,
        "color": f"var(--jp-collaborator-color{color})",
        "avatar_url": None,
    }


@dataclass
class _Collaborator:
    room: Any
    name: str
    awareness: Any
    last_used: float
    last_sent: float = 0.0
    clients: set[int] = field(default_factory=set)

    @property
    def client_id(self) -> int:
        return int(self.awareness.client_id)


class Presence:
    """The awareness states of the MCP clients in the collaboration rooms.

    Parameters
    ----------
    idle_timeout : float
        Seconds after a client's last read or edit of a notebook before it leaves the notebook's
        collaborators; 0 means clients never appear.
    """

    def __init__(self, log: logging.Logger | None = None, *, idle_timeout: float = 60.0) -> None:
        self.log = log or logging.getLogger(__name__)
        self.idle_timeout = idle_timeout
        self._collaborators: dict[tuple[str, str], _Collaborator] = {}
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[Any]] = set()

    def touch(self, room: Any) -> None:
        """Show the current ``editor`` in ``room`` (or keep showing it): called on each read or edit."""
        name = editor.get()
        if not name or self.idle_timeout <= 0:
            return
        key = (room.room_id, name)
        collaborator = self._collaborators.get(key)
        now = time.monotonic()
        if collaborator is not None and collaborator.room is not room:
            self._collaborators.pop(key, None)
            collaborator = None
        if collaborator is None:
            from pycrdt import Awareness, Doc

            awareness = Awareness(Doc(client_id=random.getrandbits(32)))
            awareness.set_local_state({"user": identity(name)})
            collaborator = self._collaborators[key] = _Collaborator(room, name, awareness, now)
            self._send(collaborator)
        collaborator.last_used = now
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="jupyter_mcp_ext.presence")

    def collaborators(self, room: Any) -> list[dict[str, Any]]:
        """The awareness states shown in ``room`` now."""
        return [c.awareness.get_local_state() for c in self._collaborators.values() if c.room is room]

    def _send(self, collaborator: _Collaborator) -> None:
        from pycrdt import create_awareness_message

        room = collaborator.room
        update = collaborator.awareness.encode_awareness_update([collaborator.client_id])
        try:
            room.awareness.apply_awareness_update(update, self)
        except Exception:
            self.log.debug("Could not record presence in room %s", room.room_id, exc_info=True)
        message = create_awareness_message(update)
        for client in list(room.clients):
            task = asyncio.ensure_future(client.send(message))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        collaborator.last_sent = time.monotonic()
        collaborator.clients = {id(c) for c in room.clients}

    def _leave(self, collaborator: _Collaborator) -> None:
        collaborator.awareness.set_local_state(None)
        self._send(collaborator)

    async def _watch(self) -> None:
        while self._collaborators:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            for key, collaborator in list(self._collaborators.items()):
                room = collaborator.room
                try:
                    if getattr(room, "_task_group", None) is None:  # the room was dropped
                        del self._collaborators[key]
                    elif now - collaborator.last_used > self.idle_timeout:
                        del self._collaborators[key]
                        self._leave(collaborator)
                    elif (
                        now - collaborator.last_sent >= RENEW_INTERVAL
                        or {id(c) for c in room.clients} - collaborator.clients
                    ):
                        self._send(collaborator)
                except Exception:
                    self.log.debug("Presence in room %s failed", getattr(room, "room_id", "?"), exc_info=True)

    async def stop(self) -> None:
        """Withdraw every state (on server shutdown)."""
        for collaborator in list(self._collaborators.values()):
            with contextlib.suppress(Exception):
                self._leave(collaborator)
        self._collaborators.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=2)


__all__ = ["Presence", "editing_as", "editor", "identity"]
