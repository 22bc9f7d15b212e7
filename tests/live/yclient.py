"""A Y client of a notebook's collaboration room, connected the way JupyterLab connects.

JupyterLab's document provider (jupyter-collaboration's ``yprovider.ts``) asks
``PUT /api/collaboration/session/<path>`` for the notebook's file id and session, then opens the
websocket ``/api/collaboration/room/json:notebook:<file id>?sessionId=...`` and speaks the Y sync
protocol (step 1, step 2, updates) and the awareness protocol on it. ``LabClient`` does the same
with pycrdt: ``doc`` is its ``jupyter_ydoc.YNotebook``, ``awareness`` the states of everyone in the
room; ``type_into`` edits a cell as keystrokes in JupyterLab do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import quote

from jupyter_ydoc import YNotebook
from pycrdt import (
    Awareness,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
)
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

#: Largest websocket message accepted (the server's own limit, YDocWebSocketHandler.max_message_size).
MAX_MESSAGE_BYTES = 1024 * 1024 * 1024

#: The origin of this client's own changes (what a person types).
TYPING = "lab-user"


class LabClient:
    """One JupyterLab tab with a notebook open: a Y document synced with the room, and its awareness."""

    def __init__(self, ws: WebSocketClientConnection, room_id: str, user: dict[str, Any]) -> None:
        self.ws = ws
        self.room_id = room_id
        self.doc = YNotebook()
        self.awareness = Awareness(self.doc.ydoc)
        self.awareness.set_local_state({"user": user})
        self.synced = asyncio.Event()
        self.closed = False
        self._remote = False
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscription = self.doc.ydoc.observe(self._on_local_change)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    def _on_local_change(self, event: Any) -> None:
        if not self._remote:
            self._queue.put_nowait(create_update_message(event.update))

    async def _write(self) -> None:
        await self.ws.write_message(create_sync_message(self.doc.ydoc), binary=True)
        await self._send_awareness()
        while True:
            message = await self._queue.get()
            await self.ws.write_message(message, binary=True)

    async def _send_awareness(self) -> None:
        update = self.awareness.encode_awareness_update([self.awareness.client_id])
        await self.ws.write_message(create_awareness_message(update), binary=True)

    async def _read(self) -> None:
        while True:
            message = await self.ws.read_message()
            if message is None:
                self.closed = True
                return
            if not isinstance(message, bytes) or not message:
                continue
            if message[0] == YMessageType.SYNC:
                self._remote = True
                try:
                    reply = handle_sync_message(message[1:], self.doc.ydoc)
                finally:
                    self._remote = False
                if message[1] == YSyncMessageType.SYNC_STEP2:
                    self.synced.set()
                if reply is not None:
                    self._queue.put_nowait(reply)
            elif message[0] == YMessageType.AWARENESS:
                self.awareness.apply_awareness_update(read_message(message[1:]), "remote")

    # -- what a person does ---------------------------------------------------------------

    def index_of(self, cell_id: str) -> int:
        for i, ycell in enumerate(self.doc.ycells):
            if ycell.get("id") == cell_id:
                return i
        raise KeyError(cell_id)

    def type_into(self, cell_id: str, text: str) -> None:
        """Append ``text`` to the source of the cell ``cell_id``, as one keystroke in JupyterLab does."""
        with self.doc.ydoc.transaction(origin=TYPING):
            ytext = self.doc.ycells[self.index_of(cell_id)]["source"]
            ytext.insert(len(ytext), text)

    def insert_cell(self, index: int, source: str, cell_type: str = "code") -> str:
        """Insert a cell as JupyterLab's "insert cell above/below" does; returns its id."""
        cell: dict[str, Any] = {"cell_type": cell_type, "source": source, "metadata": {}}
        if cell_type == "code":
            cell.update(outputs=[], execution_count=None)
        ycell = self.doc.create_ycell(cell)
        with self.doc.ydoc.transaction(origin=TYPING):
            self.doc.ycells.insert(index, ycell)
        return str(ycell["id"])

    def sources(self) -> list[str]:
        return [str(c["source"]) for c in self.doc.ycells]

    def others(self) -> list[dict[str, Any]]:
        """The awareness states of the other collaborators in the room."""
        return [s for cid, s in self.awareness.states.items() if cid != self.awareness.client_id and s]

    async def wait_for(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "the document") -> Any:
        """Poll ``check()`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what} (last value: {value!r})")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self.doc.ydoc.unobserve(self._subscription)
        self.ws.close()


def lab_user(name: str = "person") -> dict[str, Any]:
    """A JupyterLab user identity (``User.IIdentity``) as it appears in awareness states."""
    return {
        "username": name,
        "name": name.title(),
        "display_name": name.title(),
        "initials": name[:1].upper(),
        "color": "var(--jp-collaborator-color1)",
        "avatar_url": None,
    }


@asynccontextmanager
async def open_room(
    server_url: str,
    token: str,
    room_id: str,
    *,
    query: str = "",
    user: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> AsyncIterator[LabClient]:
    """Connect to the collaboration room ``room_id`` and yield the synced client; disconnect at the end."""
    ws_url = server_url.replace("http://", "ws://", 1) + f"api/collaboration/room/{room_id}{query}"
    # A browser takes messages of any size; tornado's client stops at 10 MiB unless told otherwise.
    request = HTTPRequest(ws_url, headers={"Authorization": f"token {token}"})
    ws = await websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES)
    client = LabClient(ws, room_id, user or lab_user())
    try:
        reading = client._tasks[0]
        await asyncio.wait(
            {asyncio.ensure_future(client.synced.wait()), reading}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not client.synced.is_set():
            raise AssertionError(f"room {room_id} did not sync within {timeout} s (connection closed: {client.closed})")
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def open_in_lab(
    server_url: str, token: str, path: str, *, user: dict[str, Any] | None = None, timeout: float = 30.0
) -> AsyncIterator[LabClient]:
    """Open ``path`` as JupyterLab does and yield the synced client; disconnect at the end."""
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    response = await AsyncHTTPClient().fetch(
        HTTPRequest(
            f"{server_url}api/collaboration/session/{quote(path)}",
            method="PUT",
            headers=headers,
            body=json.dumps({"format": "json", "type": "notebook"}),
        )
    )
    session = json.loads(response.body)
    room_id = f"{session['format']}:{session['type']}:{session['fileId']}"
    async with open_room(
        server_url, token, room_id, query=f"?sessionId={session['sessionId']}", user=user, timeout=timeout
    ) as client:
        yield client
