"""Presence (service layer): a client working on a live notebook appears among its collaborators in Lab.

JupyterLab learns who else is there from awareness states (``{"user": {"name", "display_name",
"initials", "color", ...}}``): jupyter-collaboration's "Online Collaborators" panel lists the
states of its global awareness room with the documents each person has open, and a notebook's
own room carries the states of the people in that notebook. Each MCP client that reads or edits a
live notebook gets awareness clients of its own in both, named after it (the MCP ``clientInfo``
name): sent to the rooms' clients, renewed before JupyterLab's 30 s awareness timeout, sent at
once to a tab that joins, and withdrawn after ``idle_timeout`` seconds without a call.

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
from dataclasses import dataclass, field
from typing import Any

from ..caller import ClientNameVar

#: Who the current call works for (a display name): the MCP client of the current ``caller.Caller``,
#: which the tools' preamble sets; None: nobody to show.
editor = ClientNameVar()

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
class _Shown:
    """One awareness client of ours in one room: its state, and when it was last sent there."""

    room: Any
    awareness: Any
    last_sent: float = 0.0
    clients: set[int] = field(default_factory=set)

    @property
    def client_id(self) -> int:
        return int(self.awareness.client_id)


@dataclass
class _Agent:
    """An MCP client shown in the rooms of the notebooks it works on, and in JupyterLab's global awareness."""

    name: str
    #: room id -> (its state in that notebook's room, last read or edit)
    notebooks: dict[str, tuple[_Shown, float]] = field(default_factory=dict)
    #: the notebooks' paths, most recently used last
    paths: dict[str, str] = field(default_factory=dict)
    everywhere: _Shown | None = None


def _new_awareness(state: dict[str, Any]) -> Any:
    from pycrdt import Awareness, Doc

    awareness = Awareness(Doc(client_id=random.getrandbits(32)))
    awareness.set_local_state(state)
    return awareness


class Presence:
    """The awareness states of the MCP clients in the collaboration rooms.

    Each client shows in the room of each live notebook it reads or edits (its ``user``), and in
    JupyterLab's global awareness room (``JupyterLab:globalAwareness``, where jupyter-collaboration's
    "Online Collaborators" panel lists people with the documents they have open: ``documents`` and
    ``current``).

    Parameters
    ----------
    global_room
        Returns the global awareness room when one exists (JupyterLab opens it), else None.
    idle_timeout : float
        Seconds after a client's last read or edit of a notebook before it leaves the notebook's
        collaborators; 0 means clients never appear.
    """

    def __init__(
        self,
        log: logging.Logger | None = None,
        *,
        idle_timeout: float = 60.0,
        global_room: Any = None,
    ) -> None:
        self.log = log or logging.getLogger(__name__)
        self.idle_timeout = idle_timeout
        self.global_room = global_room or (lambda: None)
        self._agents: dict[str, _Agent] = {}
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[Any]] = set()

    def touch(self, room: Any, path: str) -> None:
        """Show the current ``editor`` in ``room``, the room of the notebook at ``path`` (or keep
        showing it): called on each read or edit of a live notebook."""
        name = editor.get()
        if not name or self.idle_timeout <= 0:
            return
        now = time.monotonic()
        agent = self._agents.setdefault(name, _Agent(name))
        shown, _ = agent.notebooks.get(room.room_id, (None, 0.0))
        if shown is not None and shown.room is not room:  # the room was dropped and opened again
            shown = None
        if shown is None:
            shown = _Shown(room, _new_awareness({"user": identity(name)}))
            self._send(shown)
        agent.notebooks[room.room_id] = (shown, now)
        agent.paths.pop(room.room_id, None)
        agent.paths[room.room_id] = path
        self._show_everywhere(agent)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="jupyter_mcp_ext.presence")

    def _global_state(self, agent: _Agent) -> dict[str, Any]:
        paths = list(agent.paths.values())
        return {"user": identity(agent.name), "current": f"notebook:{paths[-1]}" if paths else None, "documents": paths}

    def _show_everywhere(self, agent: _Agent) -> None:
        room = self.global_room()
        shown = agent.everywhere
        if shown is not None and shown.room is not room:
            agent.everywhere = shown = None
        if room is None:
            return
        state = self._global_state(agent)
        if shown is None:
            agent.everywhere = _Shown(room, _new_awareness(state))
            self._send(agent.everywhere)
        elif shown.awareness.get_local_state() != state:
            shown.awareness.set_local_state(state)
            self._send(shown)

    def collaborators(self, room: Any) -> list[dict[str, Any]]:
        """The awareness states of MCP clients shown in ``room`` now."""
        return [
            shown.awareness.get_local_state()
            for agent in self._agents.values()
            for shown, _ in agent.notebooks.values()
            if shown.room is room
        ]

    def _send(self, shown: _Shown) -> None:
        from pycrdt import create_awareness_message

        room = shown.room
        update = shown.awareness.encode_awareness_update([shown.client_id])
        try:
            room.awareness.apply_awareness_update(update, self)
        except Exception:
            self.log.debug("Could not record presence in room %s", getattr(room, "room_id", "?"), exc_info=True)
        message = create_awareness_message(update)
        for client in list(room.clients):
            task = asyncio.ensure_future(client.send(message))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        shown.last_sent = time.monotonic()
        shown.clients = {id(c) for c in room.clients}

    def _leave(self, shown: _Shown) -> None:
        shown.awareness.set_local_state(None)
        self._send(shown)

    def _renew(self, shown: _Shown, now: float) -> None:
        if now - shown.last_sent >= RENEW_INTERVAL or {id(c) for c in shown.room.clients} - shown.clients:
            self._send(shown)

    async def _watch(self) -> None:
        while self._agents:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            for name, agent in list(self._agents.items()):
                try:
                    for room_id, (shown, used) in list(agent.notebooks.items()):
                        if getattr(shown.room, "_task_group", None) is None:  # the room was dropped
                            del agent.notebooks[room_id]
                            agent.paths.pop(room_id, None)
                        elif now - used > self.idle_timeout:
                            del agent.notebooks[room_id]
                            agent.paths.pop(room_id, None)
                            self._leave(shown)
                        else:
                            self._renew(shown, now)
                    if not agent.notebooks:
                        del self._agents[name]
                        if agent.everywhere is not None:
                            self._leave(agent.everywhere)
                        continue
                    self._show_everywhere(agent)
                    if agent.everywhere is not None:
                        self._renew(agent.everywhere, now)
                except Exception:
                    self.log.debug("Presence of %s failed", name, exc_info=True)

    async def stop(self) -> None:
        """Withdraw every state (on server shutdown)."""
        for agent in self._agents.values():
            for shown in [s for s, _ in agent.notebooks.values()] + ([agent.everywhere] if agent.everywhere else []):
                with contextlib.suppress(Exception):
                    self._leave(shown)
        self._agents.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=2)


__all__ = ["Presence", "editing_as", "editor", "identity"]
