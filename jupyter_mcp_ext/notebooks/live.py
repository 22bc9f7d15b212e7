"""Live notebooks (service layer): the shared documents of notebooks open in JupyterLab's collaboration.

With ``jupyter-collaboration`` installed, a notebook open in JupyterLab lives in a room of its
server extension ``jupyter_server_ydoc``: a Y document (``jupyter_ydoc.YNotebook`` on a
``pycrdt.Doc``) that every open tab edits, and that the room saves to the file itself (its
autosave, ``YDocExtension.document_save_delay`` after the last change). Writing the file
behind such a room makes the room reload it, dropping what people typed since its last save:
so while a room holds a notebook, the notebook service reads and edits that document instead.

- ``LiveDocuments`` (here) finds the document of a path without creating a room (the file-id
  service gives the room id), and waits while a room is still loading or reloading its file.
- ``LiveNotebook`` (``live_document.py``) reads the document as an nbformat notebook and applies
  an edit as one transaction of cell-level changes.

The collaboration packages are imported lazily: without them every lookup answers None.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..exceptions import Conflict
from .live_document import ORIGIN, READY_POLL, LiveNotebook, sync_outputs
from .presence import Presence

#: Seconds a lookup waits for a room that is loading or reloading its file.
READY_TIMEOUT = 30.0

#: The room in which JupyterLab shares who is online and which documents they have open.
GLOBAL_AWARENESS_ROOM = "JupyterLab:globalAwareness"


class LiveDocumentBusy(Conflict):
    """The notebook's collaboration room is still loading or reloading its file."""


class LiveDocuments:
    """The live documents of notebooks open in JupyterLab with real-time collaboration.

    Parameters
    ----------
    settings
        The server's tornado settings (``ServerApp.web_app.settings``), where the collaboration
        extension registers itself (``"jupyter_server_ydoc"``) and the file-id service
        (``"file_id_manager"``). Read at each lookup: those extensions may load after this one.
    max_followed : int
        Most documents followed at once (their converted cells kept); the least recently used go.
    presence : Presence, optional
        Shows the clients that read or edit a live notebook among its collaborators.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        log: logging.Logger | None = None,
        *,
        max_followed: int = 16,
        presence: Presence | None = None,
    ):
        self.settings = settings
        self.log = log or logging.getLogger(__name__)
        self.max_followed = max_followed
        self.presence = presence
        self._followed: OrderedDict[str, LiveNotebook] = OrderedDict()

    def touch(self, live: LiveNotebook) -> None:
        """Note that the current call reads or edits ``live`` (see ``presence.editor``)."""
        if self.presence is not None:
            try:
                self.presence.touch(live.room, live.document.path or "")
            except Exception:
                self.log.debug("Presence in %s failed", live.room.room_id, exc_info=True)

    @property
    def enabled(self) -> bool:
        """Whether the collaboration extension runs in this server."""
        return self._server() is not None

    def _server(self) -> Any:
        extension = self.settings.get("jupyter_server_ydoc")
        return getattr(extension, "ywebsocket_server", None) if extension is not None else None

    def global_awareness_room(self) -> Any:
        """JupyterLab's global awareness room (who is online, with which documents), if a tab opened it."""
        server = self._server()
        return server.rooms.get(GLOBAL_AWARENESS_ROOM) if server is not None else None

    def room(self, api_path: str) -> Any:
        """The collaboration room holding the notebook at ``api_path``, ready or not; None if no room
        has it (nobody opened it, or the room was dropped). Never creates a room or a file id."""
        server = self._server()
        if server is None:
            return None
        file_id_manager = self.settings.get("file_id_manager")
        if file_id_manager is None:
            return None
        try:
            file_id = file_id_manager.get_id(api_path)
        except Exception:
            self.log.debug("No file id for %s", api_path, exc_info=True)
            return None
        if not file_id:
            return None
        from jupyter_server_ydoc.utils import encode_file_path, room_id_from_encoded_path

        room_id = room_id_from_encoded_path(encode_file_path("json", "notebook", file_id))
        return server.rooms.get(room_id)

    def _ready(self, room: Any) -> bool:
        from jupyter_server_ydoc.rooms import DocumentRoom
        from jupyter_ydoc import YNotebook

        if not isinstance(room, DocumentRoom) or not isinstance(getattr(room, "_document", None), YNotebook):
            return False
        if not room.ready or getattr(room, "_task_group", None) is None:
            return False
        loaded = getattr(room, "_document_progressively_loaded", None)
        if getattr(room, "_document_load_progressively", False) and loaded is not None and not loaded.done():
            return False
        return True

    def _follow(self, room: Any) -> LiveNotebook:
        key = room.room_id
        server = self._server()
        for gone in [k for k, v in self._followed.items() if server is None or server.rooms.get(k) is not v.room]:
            if gone != key:  # a room dropped from memory: let its document go
                self._followed.pop(gone).close()
        live = self._followed.get(key)
        if live is not None and live.room is not room:
            live.close()
            live = None
        if live is None:
            live = self._followed[key] = LiveNotebook(room, self.log)
        self._followed.move_to_end(key)
        while len(self._followed) > self.max_followed:
            _, dropped = self._followed.popitem(last=False)
            dropped.close()
        return live

    def find(self, api_path: str) -> LiveNotebook | None:
        """The live document of ``api_path`` if its room is ready and idle now, else None."""
        room = self.room(api_path)
        if room is None or not self._ready(room):
            return None
        live = self._follow(room)
        return None if live.busy() else live

    async def get(self, api_path: str, *, timeout: float = READY_TIMEOUT) -> LiveNotebook | None:
        """The live document of ``api_path``, or None when no room holds the notebook.

        Waits while the room loads or reloads its file. It returns without giving the event loop
        a turn after its last check: what the caller does next without awaiting happens on the
        document as checked. Raises LiveDocumentBusy after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            room = self.room(api_path)
            if room is None:
                return None
            if self._ready(room):
                live = self._follow(room)
                if not live.busy():
                    return live
            if time.monotonic() > deadline:
                raise LiveDocumentBusy(
                    f"path {api_path!r} is open in JupyterLab and its shared document has been loading or reloading "
                    f"for over {timeout:g} s; try again in a moment."
                )
            await asyncio.sleep(READY_POLL)

    async def close(self) -> None:
        """Stop following every document and withdraw the presence states (on server shutdown)."""
        while self._followed:
            _, live = self._followed.popitem()
            live.close()
        if self.presence is not None:
            await self.presence.stop()


__all__ = ["GLOBAL_AWARENESS_ROOM", "ORIGIN", "LiveDocumentBusy", "LiveDocuments", "LiveNotebook", "sync_outputs"]
