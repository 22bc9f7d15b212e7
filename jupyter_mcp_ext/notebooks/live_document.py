"""The shared document of one open notebook (service layer), read as nbformat and edited cell by cell.

``LiveNotebook`` wraps the ``jupyter_ydoc.YNotebook`` of a jupyter-collaboration room: it reads the
document as an nbformat notebook (cells converted once and kept until the document changes them:
converting a 5,000-cell, 20 MB document costs about 0.2 s), and applies an edit as one Y transaction of
cell-level changes (cells inserted, deleted, or updated field by field: source as a text diff,
outputs by appending to streams), so that what others type elsewhere in the notebook is kept.
``LiveDocuments`` (``live.py``) finds the rooms.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import nbformat
from nbformat import NotebookNode

from .cells import first_difference, plain

#: The origin of the Y transactions this extension makes (JupyterLab's undo stack skips them).
ORIGIN = "jupyter_mcp_ext"

#: Seconds to wait for the save of a room that nobody has open any more.
SAVE_TIMEOUT = 60.0
#: Seconds between checks while waiting for a room.
READY_POLL = 0.01

#: Convert the whole document again when more than 1/WHOLE_READ_FRACTION of its cells changed:
#: cell by cell costs over twice as much per cell (pycrdt finds an array's item by walking the
#: array from its start, and each read opens a transaction of its own).
WHOLE_READ_FRACTION = 3

#: The order of a cell's fields in what the service returns (nbformat's own order).
CELL_KEY_ORDER = ("id", "cell_type", "source", "metadata", "outputs", "execution_count", "attachments")


def _number(text: str) -> int | float:
    # Y documents hold numbers as JavaScript numbers (floats); nbformat wants integers where they
    # are whole (execution_count, nbformat_minor), as jupyter_ydoc's own reader makes them
    # (``cast_all``, on every value). The document's JSON already writes most whole numbers as
    # integers; this catches the rest (``1e+20``).
    value = float(text)
    return int(value) if value.is_integer() else value


def _new_node(items: Any) -> NotebookNode:
    # NotebookNode without its __init__, which gives every node an instance dict of its own for
    # ``_allownew`` (a class attribute too): half the objects for the cyclic garbage collector to
    # visit on a big read.
    node = NotebookNode.__new__(NotebookNode)
    dict.update(node, items)
    return node


def _node(fields: dict[str, Any]) -> NotebookNode:
    # Keys sorted, as in the file the room saves (nbformat writes sorted keys); a Y map's own order
    # is arbitrary and may change from one read to the next.
    return _new_node(sorted(fields.items()))


def _from_y(shared: Any) -> Any:
    """A Y map or array (and all it holds) as nbformat values: dicts as ``NotebookNode`` with sorted
    keys, whole numbers as ``int``, text as ``str``.

    The document writes itself as JSON in one call (pycrdt's ``str()``, in Rust) and ``json`` parses
    it in C: 5-7 times as fast as ``to_py()``, ``cast_all`` and ``nbformat.from_dict`` (which
    visit every value in Python, and index the array one cell at a time). What comes out
    differently: a float of exactly 2**63 (pycrdt writes 2**63 - 1), and NaN and infinities, which
    JSON cannot hold (None here; ``cast_all`` fails on them, and so does the room's save).
    """
    return json.loads(str(shared), object_hook=_node, parse_float=_number)


def _nbformat_cell(cell: NotebookNode) -> NotebookNode:
    """A converted Y cell as nbformat has it: without the document's ``execution_state``, without
    the empty ``attachments`` of a Markdown or raw cell, keys in ``CELL_KEY_ORDER`` first."""
    cell.pop("execution_state", None)
    if cell.get("cell_type") in ("raw", "markdown") and "attachments" in cell and not cell["attachments"]:
        del cell["attachments"]
    ordered = _new_node([(k, cell[k]) for k in CELL_KEY_ORDER if k in cell])
    if len(ordered) < len(cell):
        ordered.update((k, v) for k, v in cell.items() if k not in ordered)
    return ordered


class LiveNotebook:
    """The Y document of one notebook's room, read as nbformat and edited cell by cell.

    Keeps the document's cells converted to ``NotebookNode`` and follows the document's changes
    (``observe_deep`` on its cells and metadata) to convert again only the cells that changed.
    The returned notebooks share those nodes: treat them as read-only (``NotebookService.edit``'s
    rule: replace a cell to change it).
    """

    def __init__(self, room: Any, log: logging.Logger) -> None:
        self.room = room
        self.document = room._document
        self.ydoc = room.ydoc
        self.log = log
        self._cells: list[NotebookNode | None] | None = None
        self._meta: dict[str, Any] | None = None
        #: Bumped by every change of the document; the views below are valid for one version.
        self._version = 0
        self._views: dict[bool, tuple[int, NotebookNode]] = {}
        ycells, ymeta = self.document.ycells, self.document._ymeta
        self._subscriptions = [
            (ycells, ycells.observe_deep(self._on_cells)),
            (ymeta, ymeta.observe_deep(self._on_meta)),
        ]

    def close(self) -> None:
        """Stop following the document."""
        for shared, subscription in self._subscriptions:
            try:
                shared.unobserve(subscription)
            except Exception:
                pass
        self._subscriptions = []
        self._cells = None

    # -- following the document -------------------------------------------------------------

    def _on_cells(self, events: list[Any]) -> None:
        self._version += 1
        cells = self._cells
        if cells is None:
            return
        try:
            nested: list[int] = []
            for event in events:
                path = list(event.path)
                if not path:
                    position = 0
                    for op in event.delta:
                        if "retain" in op:
                            position += op["retain"]
                        elif "delete" in op:
                            del cells[position : position + op["delete"]]
                        elif "insert" in op:
                            count = len(op["insert"])
                            cells[position:position] = [None] * count
                            position += count
                else:
                    nested.append(path[0])
            # Paths of nested changes are positions in the document after the transaction.
            for index in nested:
                if isinstance(index, int) and 0 <= index < len(cells):
                    cells[index] = None
        except Exception:
            self.log.debug("Could not follow a change of %s; converting it again", self.room.room_id, exc_info=True)
            self._cells = None

    def _on_meta(self, events: list[Any]) -> None:
        self._version += 1
        self._meta = None

    # -- reading ----------------------------------------------------------------------------

    def busy(self) -> bool:
        """Whether the room is loading, reloading or saving state into the document right now
        (a transaction of its own is open across awaits): edits must wait."""
        room = self.room
        lock = getattr(room, "_update_lock", None)
        return bool(getattr(self.ydoc, "_txn", None) is not None or (lock is not None and lock.locked()))

    def _metadata(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = _from_y(self.document._ymeta) or {}
        return self._meta

    def cells(self) -> list[NotebookNode]:
        """The document's cells as nbformat nodes (ids included whatever the nbformat version)."""
        ycells = self.document.ycells
        count = len(ycells)
        cells = self._cells
        if cells is None or len(cells) != count or cells.count(None) > count // WHOLE_READ_FRACTION:
            # The first read, or much of it changed (a reload from disk): the whole document at once.
            cells = self._cells = [_nbformat_cell(c) for c in _from_y(ycells)]
            return cells  # type: ignore[return-value]
        i = -1
        while True:  # list.index finds the few stale cells at C speed
            try:
                i = cells.index(None, i + 1)
            except ValueError:
                return cells  # type: ignore[return-value]
            cells[i] = _nbformat_cell(_from_y(ycells[i]))

    def notebook(self, *, keep_ids: bool = False) -> NotebookNode:
        """The document as an nbformat 4 notebook, as the room would save it now.

        An nbformat 4.0-4.4 notebook has no cell ids (the document keeps some anyway); with
        ``keep_ids`` they are kept, for edits that upgrade the notebook to 4.5. The same object is
        returned until the document changes: do not change it.
        """
        view = self._views.get(keep_ids)
        if view is not None and view[0] == self._version and self._cells is not None:
            return view[1]
        meta = self._metadata()
        major = int(meta.get("nbformat", 4) or 4)
        minor = int(meta.get("nbformat_minor", 5) or 0)
        cells: list[NotebookNode] = list(self.cells())
        if not keep_ids and major == 4 and minor <= 4:
            cells = [NotebookNode({k: v for k, v in c.items() if k != "id"}) for c in cells]
        nb = NotebookNode(
            cells=cells,
            metadata=nbformat.from_dict(copy.deepcopy(meta.get("metadata") or {})),
            nbformat=major,
            nbformat_minor=minor,
        )
        self._views[keep_ids] = (self._version, nb)
        return nb

    # -- editing ----------------------------------------------------------------------------

    def apply(self, old: NotebookNode, new: NotebookNode) -> None:
        """Change the document from ``old`` (what ``notebook(keep_ids=True)`` returned, with no await
        since) to ``new``, in one transaction.

        Cells of ``new`` that are cells of ``old`` (the same objects) are left alone; a new object
        with the id of a cell of ``old`` that is gone updates that cell field by field; any other
        cell is inserted, and the cells of ``old`` that ``new`` lacks are deleted.
        """
        old_all: list[Any] = old.get("cells") or []
        new_all: list[Any] = new.get("cells") or []
        # Cells before the first and after the last difference are the same objects: leave them out
        # (an edit of a 5,000-cell notebook then costs what its few changed cells cost).
        shorter = min(len(old_all), len(new_all))
        lo = first_difference(old_all, new_all, shorter)
        hi = min(first_difference(reversed(old_all), reversed(new_all), shorter), shorter - lo)
        old_cells, new_cells = old_all[lo : len(old_all) - hi], new_all[lo : len(new_all) - hi]
        by_object = {id(c): i for i, c in enumerate(old_cells)}
        kept_objects = {id(c) for c in new_cells} & set(by_object)
        by_id: dict[str, int] = {}
        for i, c in enumerate(old_cells):
            if c.get("id") and id(c) not in kept_objects:
                by_id.setdefault(c["id"], i)
        # plan: for each new cell, the old index it keeps or updates (None: insert it)
        plan: list[tuple[int | None, bool]] = []
        used: set[int] = set()
        last = -1
        for cell in new_cells:
            at = by_object.get(id(cell))
            update = False
            if at is None or at in used:
                at = by_id.get(cell.get("id")) if cell.get("id") else None
                update = True
            if at is not None and (at in used or at <= last):
                at = None  # moved cells are deleted and inserted again
            if at is not None:
                used.add(at)
                last = at
            plan.append((at, update))
        ycells = self.document.ycells
        with self.ydoc.transaction(origin=ORIGIN):
            for i in sorted(set(range(len(old_cells))) - used, reverse=True):
                del ycells[lo + i]
            for position, (cell, (at, update)) in enumerate(zip(new_cells, plan, strict=True)):
                if at is None:
                    ycells.insert(lo + position, self.document.create_ycell(plain(cell)))
                elif update:
                    self._update_cell(lo + position, old_cells[at], cell)
            self._update_meta(old, new)

    def _update_cell(self, position: int, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        from pycrdt import Array, Map, Text

        ycell = self.document.ycells[position]
        if old.get("cell_type") != new.get("cell_type"):
            self.document.set_cell(position, value=plain(new))
            return
        for key in set(old) | set(new):
            if key in old and key not in new:
                del ycell[key]
                continue
            value = new[key]
            if key in old and old[key] == value:
                continue
            current = ycell.get(key)
            if key == "source" and isinstance(current, Text):
                self.document.set_cell(position, source=value if isinstance(value, str) else "".join(value))
            elif key == "metadata" and isinstance(current, Map):
                _update_map(current, old.get(key) or {}, value or {})
            elif key == "outputs" and isinstance(current, Array):
                sync_outputs(current, list(old.get(key) or []), list(value or []))
            elif key == "source":
                ycell[key] = Text(value if isinstance(value, str) else "".join(value))
            elif key == "metadata":
                ycell[key] = Map(plain(value))
            elif key == "outputs":
                ycell[key] = Array(self.document._create_youtputs(plain(value)))
            else:
                ycell[key] = plain(value)

    def _update_meta(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        from pycrdt import Map

        ymeta = self.document._ymeta
        for key in ("nbformat", "nbformat_minor"):
            if new.get(key) is not None and new.get(key) != old.get(key):
                ymeta[key] = float(new[key])
        if new.get("metadata") != old.get("metadata"):
            current = ymeta.get("metadata")
            if isinstance(current, Map):
                _update_map(current, old.get("metadata") or {}, new.get("metadata") or {})
            else:
                ymeta["metadata"] = Map(plain(new.get("metadata") or {}))

    # -- saving -----------------------------------------------------------------------------

    async def settle(self) -> None:
        """After an edit: when nobody has the notebook open any more, save the room now, so that the
        edit is on disk before the room is dropped from memory (its clean-up cancels a pending
        autosave). Otherwise the room's own autosave writes it, as it writes what people type."""
        room = self.room
        if room.clients:
            return
        save = getattr(room, "_save_to_disc", None)
        if save is None:
            return
        deadline = time.monotonic() + SAVE_TIMEOUT
        while True:
            task = save()
            if task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    self.log.warning("Saving %s is taking long; the room goes on saving it", self.document.path)
                return
            if time.monotonic() > deadline:  # the room is reloading its file: its save comes after
                return
            await asyncio.sleep(READY_POLL)


def _update_map(ymap: Any, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key in set(old) - set(new):
        if key in ymap:
            del ymap[key]
    for key, value in new.items():
        if key not in old or old[key] != value:
            ymap[key] = plain(value)


def sync_outputs(youtputs: Any, old: list[Any], new: list[Any]) -> None:
    """Change a cell's Y outputs from ``old`` (what they hold) to ``new`` with the fewest changes:
    a stream whose text grew gets the new text appended (as JupyterLab appends stream output),
    a changed output is replaced, outputs are added at the end or removed from it."""
    from pycrdt import Text

    common = min(len(old), len(new))
    for i in range(common):
        before, after = old[i], new[i]
        if before == after:
            continue
        ytext = None
        try:
            ytext = youtputs[i].get("text")
        except Exception:
            ytext = None
        if (
            isinstance(ytext, Text)
            and before.get("output_type") == after.get("output_type") == "stream"
            and before.get("name") == after.get("name")
        ):
            old_text, new_text = _text(before.get("text")), _text(after.get("text"))
            if new_text.startswith(old_text):
                ytext += new_text[len(old_text) :]
                continue
        youtputs[i] = _youtput(after)
    if len(old) > len(new):
        del youtputs[len(new) : len(old)]
    for output in new[common:]:
        youtputs.append(_youtput(output))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _youtput(output: Mapping[str, Any]) -> Any:
    from pycrdt import Map, Text

    value = plain(output)
    if value.get("output_type") == "stream":
        value["text"] = Text(_text(value.get("text")))
    return Map(value)


__all__ = ["CELL_KEY_ORDER", "ORIGIN", "LiveNotebook", "sync_outputs"]
