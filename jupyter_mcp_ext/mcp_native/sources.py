"""Where the changes of notebooks and jobs come from, for ``Subscriptions``.

- MCP edits and reverts: ``NotebookEdits.observers``; job outputs: ``NotebookEdits.replaced``.
- Every save, delete, rename and copy through the ContentsManager (JupyterLab's saves, a room's
  autosave, other extensions): Jupyter Server's contents events on its event bus.
- Typing in a notebook open in JupyterLab: the room's Y document, observed while somebody follows
  the notebook (rooms are looked for every ``ROOM_POLL`` seconds, as they open and close).
- Jobs: the extension's job events (status, progress, message).

The event-bus listeners are added only while somebody follows a resource of their kind: Jupyter
Server emits a contents event for every read, and an event with a listener costs a validation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ..events import JOB_EVENT_SCHEMA_ID
from ..notebooks.paths import normalize_api_path
from ..services import Services
from .subscriptions import Key, Subscriptions

log = logging.getLogger(__name__)

CONTENTS_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_server/contents_service/v1"
#: Seconds between two looks for the collaboration rooms of followed notebooks.
ROOM_POLL = 1.0


class ChangeSources:
    """Feeds ``subscriptions`` from the notebook service, the server's event bus and the live documents."""

    def __init__(self, services: Services, subscriptions: Subscriptions, event_logger: Any) -> None:
        self.services = services
        self.subscriptions = subscriptions
        self.event_logger = event_logger
        self._listening: set[str] = set()
        #: api_path -> (ydoc, its subscription)
        self._observed: dict[str, tuple[Any, Any]] = {}
        self._poller: asyncio.Task[None] | None = None
        edits = services.notebooks.edits
        edits.observers.append(self._edited)
        edits.replaced.append(self._replaced)
        subscriptions.on_watch.append(self._watch_changed)

    # -- the notebook service -------------------------------------------------------------------

    def _edited(self, api_path: str, before: Any, after: Any) -> None:
        self.subscriptions.changed(("notebook", api_path))

    def _replaced(self, api_path: str) -> None:
        self.subscriptions.changed(("notebook", api_path))

    # -- the event bus ----------------------------------------------------------------------------

    def _watch_changed(self, key: Key, watched: bool) -> None:
        kind = key[0]
        schema = CONTENTS_EVENT_SCHEMA_ID if kind == "notebook" else JOB_EVENT_SCHEMA_ID
        listener = self._on_contents_event if kind == "notebook" else self._on_job_event
        anyone = bool(self.subscriptions.watched(kind))
        if self.event_logger is not None:
            if anyone and schema not in self._listening:
                self.event_logger.add_listener(schema_id=schema, listener=listener)
                self._listening.add(schema)
            elif not anyone and schema in self._listening:
                self.event_logger.remove_listener(schema_id=schema, listener=listener)
                self._listening.discard(schema)
        if kind == "notebook":
            live = self.services.notebooks.live
            if watched and live is not None and live.enabled:
                self._look_for_room(key[1])
                if self._poller is None or self._poller.done():
                    self._poller = asyncio.ensure_future(self._poll_rooms())
            else:
                self._stop_observing(key[1])

    async def _on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        action = data.get("action")
        if action not in ("save", "delete", "rename", "copy"):
            return
        for field, gone in (("path", action == "delete"), ("source_path", action == "rename")):
            path = data.get(field)
            if not isinstance(path, str):
                continue
            try:
                api_path = normalize_api_path(path, self.services.notebooks.contents_manager, argument=field)
            except Exception:
                continue
            self.subscriptions.changed(("notebook", api_path), gone=gone)

    async def _on_job_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        job_id = data.get("job_id")
        if isinstance(job_id, str):
            self.subscriptions.changed(("job", job_id), gone=data.get("action") == "deleted")

    # -- live documents ---------------------------------------------------------------------------

    def _look_for_room(self, api_path: str) -> None:
        live = self.services.notebooks.live
        room = live.room(api_path) if live is not None else None
        ydoc = getattr(room, "ydoc", None)
        observed = self._observed.get(api_path)
        if observed is not None and observed[0] is ydoc:
            return
        self._stop_observing(api_path)
        if ydoc is None:
            return
        key: Key = ("notebook", api_path)
        try:
            subscription = ydoc.observe(lambda event: self.subscriptions.changed(key))
        except Exception:
            log.debug("Cannot follow the document of %s", api_path, exc_info=True)
            return
        self._observed[api_path] = (ydoc, subscription)

    def _stop_observing(self, api_path: str) -> None:
        observed = self._observed.pop(api_path, None)
        if observed is not None:
            with contextlib.suppress(Exception):
                observed[0].unobserve(observed[1])

    async def _poll_rooms(self) -> None:
        while True:
            paths = [name for kind, name in self.subscriptions.watched("notebook")]
            if not paths:
                return
            for api_path in paths:
                self._look_for_room(api_path)
            await asyncio.sleep(ROOM_POLL)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        for api_path in list(self._observed):
            self._stop_observing(api_path)
        if self.event_logger is not None:
            for schema, listener in (
                (CONTENTS_EVENT_SCHEMA_ID, self._on_contents_event),
                (JOB_EVENT_SCHEMA_ID, self._on_job_event),
            ):
                if schema in self._listening:
                    self.event_logger.remove_listener(schema_id=schema, listener=listener)
            self._listening.clear()


__all__ = ["CONTENTS_EVENT_SCHEMA_ID", "ChangeSources"]
