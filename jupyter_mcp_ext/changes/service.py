"""Agent changes (service layer): records what each MCP tool call changed in each notebook, lists the
records, keeps them, and reverts them through the notebook service (its write lock, compare-and-swap,
or one transaction on the live document)."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode

from ..caller import current_caller
from ..events import CHANGE_EVENT_SCHEMA_ID, register_schemas
from ..exceptions import ChangeConflict, ChangeNotFound, Conflict, InvalidArgument, NotANotebook, NotebookNotFound
from ..notebooks.cells import cell_source, plain
from ..notebooks.edits import working_copy
from . import diff
from .models import Author, Change
from .store import ChangeStore

if TYPE_CHECKING:
    from ..notebooks.service import NotebookService

#: Records of calls still writing (a run's outputs, cell by cell) kept open in memory, per (call, notebook).
OPEN_RECORDS = 256
#: Who a revert made in JupyterLab is attributed to.
LAB_CLIENT = "JupyterLab"

#: While a revert runs: who makes it and which records it reverts (the records it writes say so).
_acting: ContextVar[tuple[Author, list[str]] | None] = ContextVar("jupyter_mcp_ext_reverting", default=None)


class _DeleteInstead(Exception):
    """Raised inside a revert's edit when the revert ends in moving a created notebook to the trash."""


def new_change_id() -> str:
    return "chg_" + secrets.token_hex(6)


def author_of_call() -> Author | None:
    """The current MCP tool call's caller as the author of a change; None outside a tool call."""
    caller = current_caller()
    if caller.tool is None or caller.call_id is None:
        return None
    return Author(
        client=caller.client, session=caller.session, user=caller.user, tool=caller.tool, call_id=caller.call_id
    )


class ChangeService:
    """The changes MCP clients make to notebooks, for a person to review and undo.

    Every write of the notebook service made for an MCP tool call (``author()`` says who, or None for
    anything else) is recorded: one record per call and notebook, holding the cells it touched before and
    after (``diff.touched``), never a copy of the whole notebook. Reverts go through the notebook service
    like any edit and are recorded too, attributed to the person in JupyterLab, so that they can be
    reverted in turn.

    Parameters
    ----------
    notebooks : NotebookService
        Reads and edits notebooks (file or live document); this service observes its writes.
    db_path : str
        The SQLite file of the records (0600, in a 0700 directory).
    max_bytes, max_age : int, float
        The store's bounds (bytes of records, seconds); 0 means none.
    author
        Who the current call works for, or None when it is not an MCP tool call.
    file_ids
        Returns jupyter-server-fileid's manager when it runs (records follow renames by file id), else None.
    event_logger : jupyter_events.EventLogger, optional
        The server's ``event_logger``: each record made or grown, revert and keep is announced on it
        (``events/change.yaml``), so that JupyterLab's review follows without polling.
    """

    def __init__(
        self,
        *,
        notebooks: NotebookService,
        db_path: str,
        max_bytes: int = 0,
        max_age: float = 0,
        author: Callable[[], Author | None],
        file_ids: Callable[[], Any] = lambda: None,
        event_logger: Any = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.notebooks = notebooks
        self.db_path = db_path
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.author = author
        self.file_ids = file_ids
        self.log = log or logging.getLogger(__name__)
        self.event_logger = event_logger
        if event_logger is not None:
            register_schemas(event_logger)
        self._store: ChangeStore | None = None
        self._open: OrderedDict[tuple[str, str], Change] = OrderedDict()
        notebooks.edits.observers.append(self.observe)
        notebooks.edits.before_writers.append(self.note_before)

    @classmethod
    def from_app(cls, app: Any, services: Any) -> ChangeService:
        """Build the service from the extension app's traits (``changes_*``) and the notebook service."""
        settings = app.serverapp.web_app.settings
        return cls(
            notebooks=services.notebooks,
            db_path=app.changes_db_path,
            max_bytes=app.changes_max_bytes,
            max_age=app.changes_max_age_days * 86400,
            author=author_of_call,
            file_ids=lambda: settings.get("file_id_manager"),
            event_logger=getattr(app.serverapp, "event_logger", None),
            log=app.log,
        )

    @property
    def store(self) -> ChangeStore:
        """The records' database, opened on first use."""
        if self._store is None:
            self._store = ChangeStore(self.db_path, max_bytes=self.max_bytes, max_age=self.max_age)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- recording -------------------------------------------------------------------------

    def _who(self) -> tuple[Author, list[str]] | None:
        acting = _acting.get()
        if acting is not None:
            return acting
        author = self.author()
        return (author, []) if author is not None else None

    def _file_id(self, api_path: str) -> str | None:
        manager = self.file_ids()
        if manager is None:
            return None
        try:
            file_id = manager.index(api_path)
        except Exception:
            self.log.debug("No file id for %s", api_path, exc_info=True)
            return None
        return str(file_id) if file_id else None

    def _record(self, api_path: str, who: tuple[Author, list[str]], kind: str = "edit") -> Change:
        author, reverts = who
        key = (author.call_id, api_path)
        change = self._open.get(key)
        if change is None:
            change = Change(
                id=new_change_id(),
                path=api_path,
                file_id=self._file_id(api_path),
                kind=kind,  # type: ignore[arg-type]
                client=author.client,
                session=author.session,
                user=author.user,
                tool=author.tool,
                call_id=author.call_id,
                time=time.time(),
                reverts=list(reverts),
            )
            self._open[key] = change
            while len(self._open) > OPEN_RECORDS:
                self._open.popitem(last=False)
        self._open.move_to_end(key)
        return change

    def observe(self, api_path: str, before: NotebookNode | None, after: NotebookNode) -> None:
        """Record a write of the notebook service (called by ``NotebookEdits`` right after it wrote, with
        the notebook as it was and as it is; ``before`` None: the write created the notebook)."""
        who = self._who()
        if who is None:
            return
        try:
            befores, afters = diff.touched(before, after)
            new_metadata = before is not None and before.get("metadata") != after.get("metadata")
            noted = (who[0].call_id, api_path) in self._open  # cells noted before a direct write
            if not befores and not afters and not new_metadata and before is not None and not noted:
                return
            change = self._record(api_path, who, "create" if before is None else "edit")
            if before is None:
                change.nbformat = [int(after.get("nbformat", 4)), int(after.get("nbformat_minor", 5))]
                change.metadata_after = plain(after.get("metadata") or {})
            elif new_metadata:
                if change.metadata_before is None:
                    change.metadata_before = plain(before.get("metadata") or {})
                change.metadata_after = plain(after.get("metadata") or {})
            diff.merge(change, befores, afters)
            diff.refresh(change, after)
            if change.kind == "edit" and not change.before and not change.after and change.metadata_after is None:
                self.store.delete(change.id)  # the call undid what it had done: nothing is left changed
                return
            change.summary = diff.summarize(change)
            self.store.save(change)
            self._announce("recorded", change)
        except Exception:
            # A record that cannot be made must not fail the edit the person's agent asked for.
            self.log.exception("Could not record the change to %s", api_path)

    def note_before(self, api_path: str, cells: list[Any], indices: list[int]) -> None:
        """Record what cells ``indices`` of ``cells`` (the notebook now) are like before a write that does
        not go through the notebook service (a run's outputs streamed into the live document)."""
        who = self._who()
        if who is None:
            return
        try:
            change = self._record(api_path, who)
            diff.note_before(change, [diff.cell_state(cells, i) for i in indices])
        except Exception:
            self.log.exception("Could not record the change to %s", api_path)

    def _announce(self, action: str, change: Change) -> None:
        """Emit the change event (``events/change.yaml``); a failing event handler fails nothing."""
        if self.event_logger is None:
            return
        public = change.public()
        data = {
            "action": action,
            **{k: public[k] for k in ("id", "path", "client", "session", "tool", "time", "cells")},
        }
        data.update(reverted=change.reverted or action == "reverted", kept=change.kept or action == "kept")
        try:
            self.event_logger.emit(schema_id=CHANGE_EVENT_SCHEMA_ID, data=data)
        except Exception:
            self.log.exception("Could not emit the %s event of change %s", action, change.id)

    # -- reading ---------------------------------------------------------------------------

    def _current_path(self, change: Change) -> str:
        """Where the notebook of ``change`` is now: its file id's path when it was renamed, else its path."""
        manager = self.file_ids()
        if change.file_id and manager is not None:
            with contextlib.suppress(Exception):
                path = manager.get_path(change.file_id)
                if path:
                    return str(path)
        return change.path

    async def of_notebook(self, path: str, *, pending: bool = False, limit: int = 0) -> list[Change]:
        """The changes of the notebook at ``path`` (an API path), newest first, under its path now:
        with ``pending``, only those still to review (not kept, not reverted, not reverts themselves);
        at most ``limit`` (0: all).

        Raises InvalidArgument for a path that is not a notebook path, PathError outside the root."""
        api_path = self.notebooks.api_path(path)
        file_id = None
        manager = self.file_ids()
        if manager is not None:
            with contextlib.suppress(Exception):
                file_id = manager.get_id(api_path)
        changes = [
            c.model_copy(update={"path": api_path})
            for c in self.store.of_notebook(api_path, str(file_id) if file_id else None)
            if self._current_path(c) == api_path and not (pending and (c.kept or c.reverted or c.tool == "revert"))
        ]
        return changes[:limit] if limit else changes

    def get(self, change_id: Any) -> Change:
        """The change with ``change_id``, under its notebook's path now. Raises ChangeNotFound, or
        InvalidArgument for an id that is not one."""
        if not isinstance(change_id, str) or not change_id.startswith("chg_") or len(change_id) > 40:
            raise InvalidArgument(
                f"change id {str(change_id)[:60]!r} is not a change id: ids look like 'chg_1a2b3c4d5e6f', as "
                "GET /jupyter-mcp-ext/changes?path=<notebook> lists them."
            )
        change = self.store.get(change_id)
        if change is None:
            raise ChangeNotFound(
                f"change {change_id!r} is not known: it never existed, or it was dropped from the record "
                "(older than MCPExtensionApp.changes_max_age_days, or beyond changes_max_bytes)."
            )
        return change.model_copy(update={"path": self._current_path(change)})

    def keep(self, change_id: str) -> Change:
        """Take a change out of the review (``kept``); its record stays. Raises ChangeNotFound."""
        change = self.get(change_id)
        stored = self.store.get(change_id)
        assert stored is not None
        stored.kept = True
        self.store.save(stored)
        self._announce("kept", change)
        return change.model_copy(update={"kept": True})

    # -- reverting -------------------------------------------------------------------------

    async def revert(self, ids: list[Any], *, user: str | None = None) -> dict[str, Any]:
        """Revert the changes ``ids``, newest first, all or nothing: ``{"reverted": [ids], "changes":
        [the records of the reverts], "cells": [keys restored, removed or put back]}``.

        Each notebook's reverts are one edit through the notebook service (its write lock and
        compare-and-swap, or one transaction on its live document). Raises ChangeNotFound,
        InvalidArgument (no ids, an id twice), Conflict (already reverted; the notebook deleted or
        replaced by a non-notebook), or ChangeConflict naming the cells a person changed since; then
        nothing was changed.
        """
        if not isinstance(ids, list) or not ids:
            raise InvalidArgument('ids must be a non-empty list of change ids, e.g. {"ids": ["chg_1a2b3c4d5e6f"]}.')
        if len(set(map(str, ids))) != len(ids):
            raise InvalidArgument("ids names a change more than once.")
        changes = [self.get(i) for i in ids]
        for change in changes:
            if change.reverted:
                raise Conflict(
                    f"change {change.id} is already reverted (by {change.reverted_by}); revert that revert to "
                    "bring the change back."
                )
        by_path: dict[str, list[Change]] = {}
        for change in sorted(changes, key=lambda c: (c.time, c.id), reverse=True):
            by_path.setdefault(change.path, []).append(change)
        for path, group in by_path.items():  # everything checked before anything is changed
            await self._check(path, group)
        reverts: list[Change] = []
        cells: list[str] = []
        for path, group in by_path.items():
            record, done = await self._revert_notebook(path, group, user)
            reverts.append(record)
            cells += done
        return {"reverted": [c.id for c in changes], "changes": reverts, "cells": cells}

    async def _current(self, path: str) -> NotebookNode | None:
        """The notebook at ``path`` now; None when there is no file there. Raises Conflict when the file is
        no notebook any more."""
        try:
            _, nb = await self.notebooks.get(path)
        except NotebookNotFound:
            return None
        except NotANotebook as e:
            raise Conflict(f"The notebook {path!r} of these changes is no longer a readable notebook: {e}") from e
        return nb

    async def _check(self, path: str, group: list[Change]) -> None:
        nb = await self._current(path)
        if nb is None:
            if [c.kind for c in group] == ["delete"]:
                return
            raise Conflict(
                f"The notebook {path!r} of change {group[0].id} no longer exists (deleted or moved where its "
                "changes cannot follow); nothing was changed."
            )
        with contextlib.suppress(_DeleteInstead):
            _plan(working_copy(nb), group)

    async def _revert_notebook(self, path: str, group: list[Change], user: str | None) -> tuple[Change, list[str]]:
        author = Author(client=LAB_CLIENT, user=user, tool="revert", call_id=secrets.token_hex(8))
        with acting_as(author, [c.id for c in group]):
            if [c.kind for c in group] == ["delete"]:
                done = await self._recreate(path, group[0])
            else:
                try:
                    _, done = await self.notebooks.edit(path, lambda nb: _plan(nb, group))
                except _DeleteInstead:
                    done = await self._trash(path)
        record = self._open.get((author.call_id, path)) or self._store_record(path, author, group)
        for change in group:
            stored = self.store.get(change.id)
            if stored is not None:
                stored.reverted, stored.reverted_by = True, record.id
                self.store.save(stored)
                self._announce("reverted", change)
            for earlier_id in change.reverts:  # reverting a revert brings those changes back
                earlier = self.store.get(earlier_id)
                if earlier is not None and earlier.reverted_by == change.id:
                    earlier.reverted, earlier.reverted_by = False, None
                    self.store.save(earlier)
        return record, done

    def _store_record(self, path: str, author: Author, group: list[Change]) -> Change:
        """The record of a revert that changed no cell (all its cells were already as before)."""
        change = self._record(path, (author, [c.id for c in group]))
        change.summary = "reverted: no cell needed changing"
        self.store.save(change)
        return change

    async def _trash(self, path: str) -> list[str]:
        """Move a notebook that a reverted create made to the trash, as Jupyter's delete does; recorded as a
        ``delete`` holding the notebook, so that reverting it brings the notebook back."""
        nb = await self._current(path)
        if nb is None:
            return []
        who = _acting.get()
        assert who is not None
        change = self._record(path, who, "delete")
        change.nbformat = [int(nb.get("nbformat", 4)), int(nb.get("nbformat_minor", 5))]
        change.metadata_before = plain(nb.get("metadata") or {})
        change.before = [diff.cell_state(nb["cells"], i) for i in range(len(nb["cells"]))]
        change.summary = diff.summarize(change)
        await self.notebooks.delete(path)
        self.store.save(change)
        self._announce("recorded", change)
        return [s.key for s in change.before] or [path]

    async def _recreate(self, path: str, deleted: Change) -> list[str]:
        """Revert a ``delete``: write the notebook it moved to the trash back at its path."""
        if await self.notebooks.exists(path):
            raise Conflict(f"{path!r} exists again, so the notebook moved to the trash cannot be put back there.")
        major, minor = deleted.nbformat or [4, 5]
        nb = nbformat.v4.new_notebook(nbformat=major, nbformat_minor=minor)
        nb.metadata = nbformat.from_dict(deleted.metadata_before or {})
        nb.cells = [nbformat.from_dict(plain(s.cell)) for s in sorted(deleted.before, key=lambda s: s.index)]
        await self.notebooks.write(path, nb)
        return [s.key for s in deleted.before] or [path]


def _plan(nb: NotebookNode, group: list[Change]) -> list[str]:
    """Revert ``group`` (one notebook's changes, newest first) on ``nb``, a working copy; raises
    ChangeConflict if any cannot be, and ``_DeleteInstead`` when the oldest is a create whose notebook
    is left as it created it (it then goes to the trash instead)."""
    done: list[str] = []
    for change in group:
        if change.kind == "create":
            left = [(c.get("cell_type"), cell_source(c)) for c in nb.get("cells") or []]
            made = [(s.cell.get("cell_type"), cell_source(s.cell)) for s in sorted(change.after, key=lambda s: s.index)]
            if left != made:
                made_keys = {s.key for s in change.after}
                differing = [c.get("id") or f"#{i}" for i, c in enumerate(nb.get("cells") or [])]
                raise ChangeConflict(
                    f"change {change.id} created {change.path!r}, and its cells changed since; it can only be "
                    "reverted (moved to the trash) as it was created. Revert the later changes first, or keep it.",
                    cells=[k for k in differing if k not in made_keys] or differing,
                )
            raise _DeleteInstead()
        if change.kind == "delete":
            raise Conflict(f"change {change.id} moved {change.path!r} to the trash; revert it on its own.")
        done += diff.revert(nb, change)
    return done


@contextlib.contextmanager
def acting_as(author: Author, reverts: list[str]) -> Iterator[None]:
    """Attribute the notebook writes made inside the block to ``author`` (a revert of ``reverts``)."""
    token = _acting.set((author, reverts))
    try:
        yield
    finally:
        _acting.reset(token)


__all__ = ["LAB_CLIENT", "ChangeService", "acting_as", "author_of_call", "new_change_id"]
