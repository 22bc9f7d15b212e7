"""The notebook service (service layer): what the MCP tools and REST handlers ask of notebooks —
reads, cell edits, whole-notebook writes, new notebooks, listings — over the store (files), the
rooms' live documents and the edit protocol that chooses between them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import nbformat
from jupyter_core.utils import ensure_async
from nbformat import NotebookNode

from ..exceptions import CellIndexError, Conflict, InvalidArgument
from .cells import SeenCellIds, cell_source, check_index, ensure_cell_ids, new_cell, replace_once, resolve_cell
from .edits import NotebookEdits, Written
from .kernelspecs import kernelspec_metadata, language_info
from .listing import list_notebook_files
from .live import LiveDocuments
from .paths import check_new_file_name, normalize_api_path, shown
from .store import NotebookStore
from .validation import validated_notebook, validation_report

T = TypeVar("T")


class NotebookService:
    """Reads and edits notebooks: their live document while JupyterLab has them open with real-time
    collaboration (``live``), else through the server's ContentsManager (``store``).

    Every path is an API path relative to the server root, confined by ``normalize_api_path``
    and by the ContentsManager itself (root, hidden files, checkpoints, custom managers).

    One writer at a time: reads hold the path's read lock and edits its write lock (``locks``, the
    ``PathLocks`` that also guard the ContentsManager's own ``get`` / ``save``, so that JupyterLab's
    saves through ``/api/contents`` take turns with these edits). An edit is read-modify-write under
    the write lock, with a compare-and-swap right before the save (``NotebookEdits``): if the file's
    content changed since the edit read it, the edit is applied again to the new content, and after
    ``EDIT_ATTEMPTS`` changes in a row it fails with ``Conflict``; the file is never overwritten with
    what was read. Parsed notebooks are cached per path (``NotebookStore``).

    Parameters
    ----------
    contents_manager
        The server's ContentsManager (sync or async API; both are awaited via ``ensure_async``).
    kernel_spec_manager
        The server's KernelSpecManager, for ``create_notebook``'s kernelspec.
    max_source_chars : int
        Largest accepted cell ``source``, in characters; 0 means no limit.
    cache_max_notebooks, cache_max_bytes : int
        The parse cache's bounds (see ``NotebookStore``).
    live : LiveDocuments, optional
        The shared documents of jupyter-collaboration's rooms. While a room holds a notebook, reads
        return the document (what people typed and did not save yet included) and edits change it
        in one transaction each; the room saves it (its autosave), and the file is never written
        behind it. Results have the same shape from both back ends.
    """

    def __init__(
        self,
        contents_manager: Any,
        kernel_spec_manager: Any,
        *,
        max_source_chars: int = 0,
        cache_max_notebooks: int = 32,
        cache_max_bytes: int = 256 * 1024 * 1024,
        log: logging.Logger | None = None,
        live: LiveDocuments | None = None,
    ) -> None:
        self.contents_manager = contents_manager
        self.kernel_spec_manager = kernel_spec_manager
        self.live = live
        self.max_source_chars = max_source_chars
        self.log = log or logging.getLogger(__name__)
        self.ids = SeenCellIds(cache_max_notebooks)
        # A notebook dropped from the parse cache keeps only where its cell ids were: its cell lists,
        # remembered for cell_id lookups, would keep it in memory.
        self.store = NotebookStore(
            contents_manager,
            cache_max_notebooks=cache_max_notebooks,
            cache_max_bytes=cache_max_bytes,
            log=self.log,
            on_dropped=self.ids.index,
        )
        self.locks = self.store.locks
        self.edits = NotebookEdits(self.store, live, self.ids, self.log)

    # -- paths and locks -------------------------------------------------------------------

    def api_path(self, path: str, *, argument: str = "path", new_file: bool = False) -> str:
        """Normalize and confine a notebook path (see ``normalize_api_path``); requires ``.ipynb``.

        With ``new_file`` (a path the call may create), names with control characters, line
        breaks or bidirectional-text controls are refused (``check_new_file_name``).
        """
        api_path = normalize_api_path(path, self.contents_manager, argument=argument)
        if not api_path.endswith(".ipynb"):
            raise InvalidArgument(f"{argument} {shown(path)} is not a notebook path: notebook files end in '.ipynb'.")
        if new_file:
            check_new_file_name(api_path, argument=argument)
        return api_path

    def locked(self, api_path: str) -> Any:
        """``async with service.locked(api_path)``: hold the write lock of one notebook path (see ``locks``)."""
        return self.locks.write(api_path)

    # -- reading and writing ---------------------------------------------------------------

    async def get(self, path: str, *, argument: str = "path") -> tuple[str, NotebookNode]:
        """Read a notebook; return ``(api_path, notebook)``.

        The returned NotebookNode is shared with the cache: treat it as read-only.

        Raises NotebookNotFound, NotANotebook, PathError or InvalidArgument.
        """
        api_path = self.api_path(path, argument=argument)
        live = await self.live.get(api_path) if self.live is not None else None
        if live is not None:
            self.live.touch(live)  # type: ignore[union-attr]
            nb = live.notebook()
        else:
            async with self.locks.read(api_path):
                nb, _ = await self.store.read(api_path, argument=argument)
        self.ids.remember(api_path, nb)
        return api_path, nb

    async def edit(self, path: str, change: Callable[[NotebookNode], T], *, argument: str = "path") -> tuple[str, T]:
        """Apply ``change`` to a copy of the notebook at ``path`` and save it where the notebook lives
        (``NotebookEdits.edit``); returns the API path and what ``change`` returned. Every edit of this
        service (``add_cell``, ``update_cell``, ``remove_cell``, the kernel service's outputs by cell
        id) is written that way."""
        api_path = self.api_path(path, argument=argument)
        return api_path, await self.edits.edit(api_path, change, argument=argument)

    async def replace(
        self, path: str, nb: NotebookNode, *, expected: Written | None, argument: str = "output_path"
    ) -> Written:
        """Write a whole notebook that the server produced (a job's output) where the notebook lives,
        unless someone else changed it since ``expected`` (``NotebookEdits.replace``)."""
        api_path = self.api_path(path, argument=argument, new_file=True)
        return await self.edits.replace(api_path, nb, expected=expected, argument=argument)

    def cache_memory(self) -> int:
        """Estimated bytes held by the parsed-notebook cache now (see ``estimate_memory``)."""
        return self.store.cache_memory()

    # -- cells -----------------------------------------------------------------------------

    def locate(self, api_path: str, cells: list[Any], *, index: Any = None, cell_id: Any = None, **kwargs: Any) -> int:
        """The index of the cell addressed by ``index`` or ``cell_id`` among ``cells`` of the notebook at
        ``api_path`` (see ``cells.resolve_cell``; a vanished id is reported with the cells around where
        it was when this service last saw the notebook)."""
        try:
            return resolve_cell(cells, index=index, cell_id=cell_id, **kwargs)
        except CellIndexError:
            if cell_id is None:
                raise
        return resolve_cell(cells, index=index, cell_id=cell_id, last_seen=self.ids.index(api_path), **kwargs)

    def check_source(self, source: Any, *, argument: str = "source") -> str:
        """Validate a cell source argument; returns it as a string."""
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise InvalidArgument(f"{argument} must be a string (the cell's text), got {type(source).__name__}.")
        if self.max_source_chars and len(source) > self.max_source_chars:
            raise InvalidArgument(
                f"{argument} is {len(source):,} characters; the limit is {self.max_source_chars:,} "
                "(MCPExtensionApp.max_source_chars)."
            )
        return source

    async def add_cell(
        self,
        path: str,
        cell_type: str,
        source: str,
        metadata: dict[str, Any] | None = None,
        index: int | None = None,
        cell_id: str | None = None,
    ) -> tuple[str, int, int, NotebookNode]:
        """Insert a cell before ``index``, or right after the cell whose id is ``cell_id`` (append when
        neither); return (api_path, index, cell_count, cell). Gives the notebook's cells ids first
        (``ensure_cell_ids``), so the new cell has one."""
        source = self.check_source(source)
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidArgument('metadata must be a JSON object (a dict), e.g. {"tags": ["parameters"]}.')
        if index is not None and cell_id is not None:
            raise InvalidArgument(
                "give either index (insert before that position) or cell_id (insert right after that cell), not both."
            )
        api_path = self.api_path(path)

        def change(nb: NotebookNode) -> tuple[int, int, NotebookNode]:
            cells = nb["cells"]
            if cell_id is not None:
                at = self.locate(api_path, cells, cell_id=cell_id) + 1
            else:
                at = len(cells) if index is None else check_index(index, len(cells), allow_end=True)
            ensure_cell_ids(nb)
            cell = new_cell(cell_type, source, metadata, nb.get("nbformat_minor", 0))
            cells.insert(at, cell)
            return at, len(cells), cell

        at, count, cell = await self.edits.edit(api_path, change)
        return api_path, at, count, cell

    async def remove_cell(
        self, path: str, index: int | None = None, cell_id: str | None = None
    ) -> tuple[str, int, int, NotebookNode]:
        """Remove the cell at ``index`` or with id ``cell_id``; return (api_path, its index, remaining
        cell_count, removed cell)."""
        api_path = self.api_path(path)

        def change(nb: NotebookNode) -> tuple[int, int, NotebookNode]:
            cells = nb["cells"]
            at = self.locate(api_path, cells, index=index, cell_id=cell_id)
            ensure_cell_ids(nb)
            removed = cells.pop(at)
            return at, len(cells), removed

        at, count, removed = await self.edits.edit(api_path, change)
        return api_path, at, count, removed

    async def update_cell(
        self,
        path: str,
        index: int | None,
        source: str | None = None,
        cell_id: str | None = None,
        *,
        old_text: str | None = None,
        new_text: str | None = None,
        clear_outputs: bool = False,
    ) -> tuple[str, int, NotebookNode]:
        """Change the cell at ``index`` or with id ``cell_id``, keeping its id, type and metadata:
        replace its whole source (``source``), or the one occurrence of ``old_text`` in it by
        ``new_text``; with ``clear_outputs``, a code cell's outputs and execution_count are cleared
        too. Returns (api_path, its index, the updated cell).

        The piece is looked up in the source as it is when the edit is applied (under the lock).
        Raises InvalidArgument if both forms or neither are given, or if ``old_text`` does not
        occur exactly once (saying how often it does and where); CellIndexError.
        """
        if source is not None and (old_text is not None or new_text is not None):
            raise InvalidArgument(
                "update_cell takes source (the whole new text) or old_text and new_text (one piece replaced), not both."
            )
        if (old_text is None) != (new_text is None):
            missing, given = ("new_text", "old_text") if new_text is None else ("old_text", "new_text")
            raise InvalidArgument(
                f"{missing} is missing: {given} was given, and old_text and new_text go together "
                "(new_text='' deletes old_text)."
            )
        if source is None and old_text is None and not clear_outputs:
            raise InvalidArgument(
                "update_cell needs source (the cell's whole new text), or old_text and new_text (one exact piece "
                "of the source and what replaces it)."
            )
        if old_text == "":
            raise InvalidArgument(
                "old_text is empty: give the exact piece of the source to replace (it must occur once)."
            )
        if source is not None:
            source = self.check_source(source)
        if new_text is not None:
            self.check_source(new_text, argument="new_text")
        api_path = self.api_path(path)

        def change(nb: NotebookNode) -> tuple[int, NotebookNode]:
            cells = nb["cells"]
            i = self.locate(api_path, cells, index=index, cell_id=cell_id)
            ensure_cell_ids(nb)
            cell = NotebookNode(cells[i])
            if old_text is not None and new_text is not None:
                cell["source"] = self.check_source(replace_once(cell_source(cell), old_text, new_text, i))
            elif source is not None:
                cell["source"] = source
            if clear_outputs and cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
            cells[i] = cell
            return i, cell

        i, cell = await self.edits.edit(api_path, change)
        return api_path, i, cell

    async def write(
        self, path: str, content: Any, *, protect: Callable[[Any, NotebookNode | None], Any] | None = None
    ) -> tuple[str, NotebookNode]:
        """Replace (or create) the notebook at ``path`` with ``content``, validated by nbformat first.

        ``content`` is an nbformat 4 notebook as a dict or a JSON string. Missing nbformat 4.5
        cell ids are added (nbformat's ``normalize``). Raises InvalidArgument naming the first
        validation errors if the notebook is not valid; nothing is written then.

        ``protect(content, current)``, if given, returns the content to write given what the file
        holds (``current``, None when there is no notebook there yet). It runs under the path's
        write lock, on the file as it is right before the save, so that what it keeps from the file
        (the write tool's outputs, see ``tools.shaping.protect_write``) cannot be lost to a save
        that lands between its read and this write. If the file changes before the save (compare-
        and-swap, as ``edit``), it runs again on the new content; after ``EDIT_ATTEMPTS`` changes
        in a row raises Conflict and writes nothing.

        A notebook open in a collaboration room is written into its live document instead (one
        transaction, as ``edit``), ``protect`` running on the document's notebook.
        """
        api_path = self.api_path(path, new_file=True)

        def build(current: NotebookNode | None) -> NotebookNode:
            return validated_notebook(content if protect is None else protect(content, current), self.check_source)

        return api_path, await self.edits.write(api_path, build, with_current=protect is not None)

    # -- new notebooks ---------------------------------------------------------------------

    async def create(self, path: str, kernel: str = "python3") -> tuple[str, NotebookNode, dict[str, Any]]:
        """Create an empty notebook for kernelspec ``kernel``; return (api_path, notebook, kernelspec).

        Raises Conflict if the file exists, KernelSpecNotFound listing the installed kernelspecs.
        """
        api_path = self.api_path(path, new_file=True)
        kernelspec = await kernelspec_metadata(self.kernel_spec_manager, kernel, argument="kernel")
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = kernelspec
        nb.metadata["language_info"] = await language_info(self.kernel_spec_manager, kernel)
        async with self.locked(api_path):
            if await self.store.exists(api_path):
                raise Conflict(
                    f"path {shown(api_path)} already exists; use write_notebook to replace a notebook, or choose another path."
                )
            await self.store.ensure_parent(api_path)
            await self.store.save(api_path, nb)
            self.edits.written(api_path, None, nb)
        return api_path, nb, kernelspec

    async def exists(self, path: str) -> bool:
        """Whether a file or folder exists at the notebook path ``path``."""
        return await self.store.exists(self.api_path(path))

    async def delete(self, path: str) -> None:
        """Delete the notebook at ``path`` as JupyterLab's delete does (``DELETE /api/contents``: to the
        trash where the ContentsManager's ``delete_to_trash`` says so), under its write lock. Raises
        NotebookNotFound."""
        api_path = self.api_path(path)
        await self.store.cm("delete", api_path, path=api_path)

    async def add_cell_creating(
        self,
        path: str,
        cell_type: str,
        source: str,
        metadata: dict[str, Any] | None = None,
        index: int | None = None,
        cell_id: str | None = None,
    ) -> tuple[str, int, int, NotebookNode, bool]:
        """``add_cell``, creating the notebook first when there is none at ``path`` (for the server's
        ``python3`` kernelspec, or the first installed one, and with the missing folders). Returns
        add_cell's tuple and whether the notebook was created. Bad arguments create nothing."""
        api_path = self.api_path(path)
        created = False
        if not await self.store.exists(api_path):
            self.check_source(source)
            new_cell(cell_type, "", None, 5)
            if metadata is not None and not isinstance(metadata, dict):
                raise InvalidArgument('metadata must be a JSON object (a dict), e.g. {"tags": ["parameters"]}.')
            if index is not None:
                check_index(index, 0, allow_end=True)
            if cell_id is not None:
                raise CellIndexError(
                    f"cell_id {cell_id!r}: there is no notebook at {shown(api_path)} yet, so no cell to insert after; "
                    "omit cell_id to create the notebook with this cell."
                )
            names = sorted((await ensure_async(self.kernel_spec_manager.get_all_specs())).keys())
            kernel = "python3" if "python3" in names or not names else names[0]
            try:
                await self.create(api_path, kernel)
                created = True
            except Conflict:
                pass  # another call created it meanwhile
        api_path, at, count, cell = await self.add_cell(api_path, cell_type, source, metadata, index, cell_id)
        return api_path, at, count, cell, created

    # -- kernelspecs and listing ---------------------------------------------------------

    async def kernelspec(self, name: str, *, argument: str = "kernel_name") -> dict[str, str]:
        """The ``metadata.kernelspec`` dict of an installed kernelspec (see ``kernelspecs``)."""
        return await kernelspec_metadata(self.kernel_spec_manager, name, argument=argument)

    async def list_files(self, directory: str = ".", recursive: bool = False, *, limit: int = 10000) -> list[dict]:
        """Notebook files under ``directory`` (see ``listing.list_notebook_files``)."""
        return await list_notebook_files(self.store, directory, recursive, limit=limit)


__all__ = ["NotebookService", "Written", "validation_report"]
