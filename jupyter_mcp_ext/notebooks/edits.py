"""Notebook edits (service layer): a change applied where the notebook lives — its room's live document,
or its file under the path's write lock with compare-and-swap — and whole-notebook writes."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nbformat import NotebookNode

from ..exceptions import Conflict, InvalidArgument, NotANotebook, NotebookNotFound
from .cells import SeenCellIds, cell_source
from .live import LiveDocuments, LiveNotebook
from .paths import shown
from .store import Fingerprint, NotebookStore

T = TypeVar("T")

#: Times an edit is re-applied when the file keeps changing on disk between its read and its save.
EDIT_ATTEMPTS = 3


def typed_digest(nb: Any) -> str:
    """A digest of what people type in a notebook: its cells' types and sources, in order."""
    digest = hashlib.sha256()
    for cell in nb.get("cells") or []:
        digest.update(json.dumps([cell.get("cell_type"), cell_source(cell)]).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Written:
    """What a writer of whole notebooks (a job's output) last wrote to a path: the file's fingerprint
    when it wrote the file (None when it wrote a live document), and ``typed_digest`` of what it
    wrote. A file it wrote is compared by fingerprint; a live document, or a file saved by the room
    of the document it wrote, by that digest (a room turns the notebook into a Y document and
    back, so only what people type is compared)."""

    fingerprint: Fingerprint | None
    typed: str


def working_copy(current: NotebookNode) -> NotebookNode:
    """What an edit changes: a copy of ``current`` whose ``cells`` list and ``metadata`` dict are
    new (the cells themselves are shared: an edit replaces a cell, never mutates it)."""
    nb = NotebookNode({k: v for k, v in current.items() if k != "cells"})
    nb["cells"] = list(current.get("cells", []))
    nb["metadata"] = copy.copy(current.get("metadata", {}))
    return nb


class NotebookEdits:
    """Writes notebooks where they live: while a jupyter-collaboration room holds a notebook, in its
    live document (one transaction of cell changes, ``LiveNotebook.apply``; the room's autosave
    writes the file, which is never written behind it); else in its file, through the store, under
    the path's write lock, with a compare-and-swap right before the save.

    Parameters
    ----------
    store : NotebookStore
        The notebook files, their cache and their locks.
    live : LiveDocuments, optional
        The rooms' shared documents; None writes files only.
    ids : SeenCellIds
        Told of every notebook written, so that a vanished cell id can be reported with where it was.

    Attributes
    ----------
    observers : list
        Called as ``observer(api_path, before, after)`` right after each write of ``edit`` and ``write``
        (not ``replace``: a job's output), with the notebook as it was (None: the write created it) and
        as it is; what they raise is theirs to handle (the write is done).
    before_writers : list
        Called as ``hook(api_path, cells, indices)`` by writers that change a live document directly
        (a run's outputs streamed into it), before they change cells ``indices`` of ``cells``.
    replaced : list
        Called as ``hook(api_path)`` right after each write of ``replace`` (a job's output), for those
        who follow a notebook's changes (resource subscriptions) rather than record them.
    """

    def __init__(
        self,
        store: NotebookStore,
        live: LiveDocuments | None,
        ids: SeenCellIds,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.live = live
        self.ids = ids
        self.log = log or logging.getLogger(__name__)
        self.observers: list[Callable[[str, NotebookNode | None, NotebookNode], None]] = []
        self.before_writers: list[Callable[[str, list[Any], list[int]], None]] = []
        self.replaced: list[Callable[[str], None]] = []

    def written(self, api_path: str, before: NotebookNode | None, after: NotebookNode) -> None:
        """Tell the observers of a write (see ``observers``)."""
        for observer in self.observers:
            observer(api_path, before, after)

    def writing(self, api_path: str, cells: list[Any], indices: list[int]) -> None:
        """Tell the ``before_writers`` that cells ``indices`` of ``cells`` are about to change."""
        for hook in self.before_writers:
            hook(api_path, cells, indices)

    async def edit(self, api_path: str, change: Callable[[NotebookNode], T], *, argument: str = "path") -> T:
        """Apply ``change`` to a copy of the notebook at ``api_path`` (normalized) and save it.

        ``change`` receives a copy whose ``cells`` list (not the cells) is new; it must replace
        (not mutate) any cell it changes. What it returns is returned. If it raises, or the save
        fails, nothing is written.

        Compare-and-swap: right before the save the file is checked against what was read (by
        content hash). If it changed on disk meanwhile, ``change`` runs again on the new content:
        its addressing (a cell index, a cell id) is resolved against the notebook as it is then,
        as if the call had come after that change. After ``EDIT_ATTEMPTS`` changes in a row it
        raises Conflict and writes nothing.
        """
        return await self.in_document_or_file(api_path, change, lambda: self._edit_file(api_path, change, argument))

    async def in_document_or_file(
        self,
        api_path: str,
        change: Callable[[NotebookNode], T],
        on_file: Callable[[], Awaitable[T]],
        *,
        observed: bool = True,
    ) -> T:
        """Write a notebook where it lives: when a collaboration room holds it, ``change`` runs on
        its live document (``_edit_live``, told to the observers unless not ``observed``); else
        ``on_file()`` runs under the path's write lock. A room that opens while the lock is awaited
        is written instead: the file behind a room is the room's to save."""
        while True:
            live = await self.live.get(api_path) if self.live is not None else None
            if live is not None:
                return await self._edit_live(api_path, live, change, observed)
            async with self.store.locks.write(api_path):
                if self.live is not None and self.live.room(api_path) is not None:
                    continue  # a room opened while this write waited: write into its document
                return await on_file()

    async def _edit_file(self, api_path: str, change: Callable[[NotebookNode], T], argument: str) -> T:
        """``edit`` on the file: read, change, compare and swap (hold the path's write lock)."""
        store = self.store
        for _ in range(EDIT_ATTEMPTS):
            current, read = await store.read(api_path, argument=argument)
            nb = working_copy(current)
            result = change(nb)
            if await store.unchanged_since(api_path, read, current, argument):
                await store.save(api_path, nb, argument=argument)
                self.ids.remember(api_path, nb)
                self.written(api_path, current, nb)
                return result
            self.log.warning("%s changed on disk while an edit was being made; applying the edit again", api_path)
        raise Conflict(
            f"{argument} {shown(api_path)}: the notebook changed on disk {EDIT_ATTEMPTS} times while this edit was "
            "being saved (another program is writing it); nothing was written. Read it again and retry."
        )

    async def _edit_live(
        self, api_path: str, live: LiveNotebook, change: Callable[[NotebookNode], T], observed: bool
    ) -> T:
        # No await from the snapshot to the end of apply(): nobody's change can come in between.
        current = live.notebook(keep_ids=True)
        nb = working_copy(current)
        result = change(nb)
        live.apply(current, nb)
        self.ids.remember(api_path, nb)
        if observed:
            self.written(api_path, current, nb)
        if self.live is not None:
            self.live.touch(live)
        await live.settle()
        return result

    async def write(
        self, api_path: str, build: Callable[[NotebookNode | None], NotebookNode], *, with_current: bool
    ) -> NotebookNode:
        """Replace (or create) the notebook at ``api_path`` with ``build(current)``, the notebook to write
        given what is there (``current``: the file's notebook, or the live document's; None when there
        is no notebook yet, or when ``with_current`` is false and the file is not read).

        On the file, ``build`` runs under the path's write lock, right before the save; if the file
        changes before the save (compare-and-swap) it runs again on the new content, and after
        ``EDIT_ATTEMPTS`` changes in a row raises Conflict and writes nothing. Missing folders are
        created, for a notebook that ``build`` accepted only.
        """
        store = self.store

        def into_document(current: NotebookNode) -> NotebookNode:
            nb = build(current)
            current.clear()
            current.update(nb)
            return nb

        async def into_file() -> NotebookNode:
            for _ in range(EDIT_ATTEMPTS):
                current: NotebookNode | None = None
                read: Fingerprint | None = None
                if with_current or self.observers:
                    try:
                        current, read = await store.read(api_path)
                    except (NotebookNotFound, NotANotebook):
                        pass
                nb = build(current)
                # Folders only for a valid notebook: a refused write leaves nothing behind.
                await store.ensure_parent(api_path)
                if await store.dir_exists(api_path):
                    raise InvalidArgument(f"path {shown(api_path)} is a directory; give the path of a notebook file.")
                if current is None or read is None or await store.unchanged_since(api_path, read, current, "path"):
                    await store.save(api_path, nb)
                    self.written(api_path, current, nb)
                    return nb
                self.log.warning("%s changed on disk while it was being written; writing it again", api_path)
            raise Conflict(
                f"path {shown(api_path)}: the notebook changed on disk {EDIT_ATTEMPTS} times while write_notebook "
                "was saving it (another program is writing it); nothing was written. Read it again and retry."
            )

        return await self.in_document_or_file(api_path, into_document, into_file)

    async def replace(
        self, api_path: str, nb: NotebookNode, *, expected: Written | None, argument: str = "output_path"
    ) -> Written:
        """Write a whole notebook that the server produced (a job's output) at ``api_path`` (normalized).

        With ``expected`` (what this writer wrote last), the notebook must still hold that, or be
        gone: if anyone else changed it meanwhile, raises Conflict and writes nothing. Returns what
        was written, for the next call.

        A notebook open in a collaboration room is written into its live document (one
        transaction, as ``edit``): writing the file would make the room reload it and drop what
        people typed since its last save. There, "changed" means a cell's type or source differs
        from what this writer wrote: what a person typed is kept, unsaved or not. Raises
        LiveDocumentBusy when the room stays busy loading its file.
        """
        store = self.store
        changed = f"{argument} {shown(api_path)} was changed by another writer; nothing was written."

        def into_document(current: NotebookNode) -> Written:
            # On the document as it is now, with no await before it is changed.
            if expected is not None and typed_digest(current) != expected.typed:
                raise Conflict(changed)
            current.clear()
            current.update(nb)
            return Written(None, typed_digest(nb))

        async def into_file() -> Written:
            if expected is not None:
                try:
                    if expected.fingerprint is not None:
                        _, now = await store.fingerprint(api_path, argument=argument)
                        same = now.same_content(expected.fingerprint)
                    else:  # saved by the room of the document this writer wrote last
                        current, _ = await store.read(api_path, argument=argument)
                        same = typed_digest(current) == expected.typed
                except NotebookNotFound:
                    same = True
                except NotANotebook:
                    same = False
                if not same:
                    raise Conflict(changed)
            await store.ensure_parent(api_path)
            return Written(await store.save(api_path, nb, argument=argument), typed_digest(nb))

        written = await self.in_document_or_file(api_path, into_document, into_file, observed=False)
        for hook in self.replaced:
            hook(api_path)
        return written


__all__ = ["EDIT_ATTEMPTS", "NotebookEdits", "Written", "typed_digest", "working_copy"]
