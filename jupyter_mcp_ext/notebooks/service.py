"""The notebook service: ContentsManager-backed reads and writes, per-path locks, cell addressing."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import inspect
import json
import logging
import os
import platform
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import nbformat
from jupyter_core.utils import ensure_async
from nbformat import NotebookNode
from tornado.web import HTTPError

from ..exceptions import (
    CellIndexError,
    Conflict,
    InvalidArgument,
    KernelSpecNotFound,
    MCPExtError,
    NotANotebook,
    NotebookNotFound,
    PathError,
)
from ..logs import quiet_trust_warnings
from .cells import cell_source, check_index, ensure_cell_ids, resolve_cell
from .live import LiveDocuments, LiveNotebook
from .locks import PathLocks, guard_contents_manager
from .paths import check_new_file_name, normalize_api_path, resolves_inside_root, shown

T = TypeVar("T")

#: Cell lists remembered per notebook before their ids are indexed (see ``_remember_ids``).
REMEMBERED_LISTS = 64

CELL_TYPES = ("code", "markdown", "raw")

#: ``language_info`` fields that the usual kernels report for their language (ipykernel, IRkernel, IJulia).
KNOWN_LANGUAGE_INFO: dict[str, dict[str, Any]] = {
    "python": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
    },
    "r": {"codemirror_mode": "r", "file_extension": ".r", "mimetype": "text/x-r-source", "pygments_lexer": "r"},
    "julia": {"file_extension": ".jl", "mimetype": "application/julia"},
}


def _runs_this_python(argv: list[str]) -> bool:
    """Whether a kernelspec's ``argv`` starts the interpreter this server runs on.

    jupyter_client launches a bare ``python`` / ``python3`` / ``python3.X`` (this version) as
    ``sys.executable`` (``KernelManager.format_kernel_cmd``); any other program must be that file.
    """
    if not argv:
        return False
    major, minor = sys.version_info[:2]
    if argv[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        return True
    try:
        return os.path.samefile(argv[0], sys.executable)
    except OSError:
        return False


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one version of a file: its content hash where the ContentsManager gives one
    (jupyter_server >= 2.11, ``require_hash=True``), else its ``last_modified`` and ``size``."""

    hash: str | None
    hash_algorithm: str | None
    last_modified: Any
    size: int | None

    @classmethod
    def of(cls, model: dict[str, Any]) -> Fingerprint:
        return cls(model.get("hash"), model.get("hash_algorithm"), model.get("last_modified"), model.get("size"))

    def same_content(self, other: Fingerprint) -> bool:
        """Whether both name the same content: by hash when both have one, else by (last_modified, size)."""
        if self.hash and other.hash:
            return self.hash == other.hash and self.hash_algorithm == other.hash_algorithm
        return (self.last_modified, self.size) == (other.last_modified, other.size)


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


@dataclass
class _Cached:
    fingerprint: Fingerprint
    notebook: NotebookNode
    memory: int
    #: The file's stat key when its content was last hashed, if that change was already settled then.
    settled: tuple[int, ...] | None = None


#: Nanoseconds by which a file's last change (its ctime) must precede the hash that verified its
#: content before its stat alone vouches for it (above the coarsest file-system timestamp steps, 1-2 s).
SETTLE_NS = 3_000_000_000


#: Bytes of memory a parsed notebook holds per dict item or list element, beyond the text itself
#: (measured with tracemalloc on nbformat 5 notebooks: 150-210 bytes for tiny code cells, long
#: Markdown cells and the bench's 5,000 cells with outputs alike).
BYTES_PER_ENTRY = 200
#: Longest part of a ContentsManager's error message repeated in a tool error.
MAX_REASON_CHARS = 300
#: Times an edit is re-applied when the file keeps changing on disk between its read and its save.
EDIT_ATTEMPTS = 3


def estimate_memory(nb: Any, file_size: int | None) -> int:
    """Estimated bytes that a parsed notebook holds in memory: its file size (the text) plus
    ``BYTES_PER_ENTRY`` per dict item and list element. A notebook of 10^5 one-line cells holds
    about 8x its file size; a notebook of long cells and outputs about 1.7x."""
    entries = 0
    stack = [nb]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            entries += len(node)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            entries += len(node)
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return (file_size or 0) + BYTES_PER_ENTRY * entries


def _accepts(method: Any, name: str) -> bool:
    """Whether ``method`` takes a keyword argument ``name`` (``require_hash`` is jupyter_server >= 2.11)."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def _working_copy(current: NotebookNode) -> NotebookNode:
    """What an edit changes: a copy of ``current`` whose ``cells`` list and ``metadata`` dict are
    new (the cells themselves are shared: an edit replaces a cell, never mutates it)."""
    nb = NotebookNode({k: v for k, v in current.items() if k != "cells"})
    nb["cells"] = list(current.get("cells", []))
    nb["metadata"] = copy.copy(current.get("metadata", {}))
    return nb


def replace_once(text: str, old: str, new: str, index: int) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new`` (cell ``index``'s source).

    Raises InvalidArgument if ``old`` does not occur, or occurs more than once (with the lines
    where it does), so that an edit never lands somewhere else than meant.
    """
    count = text.count(old)
    if count == 1:
        return text.replace(old, new, 1)
    if count == 0:
        begins = text[:80] + ("..." if len(text) > 80 else "")
        hint = ""
        if old.strip() and old.strip() in text:
            hint = " It does occur with other leading or trailing whitespace: copy the piece exactly."
        raise InvalidArgument(
            f"old_text was not found in the source of cell {index}: it must match exactly, spaces, indentation and "
            f"line breaks included.{hint} The source has {len(text):,} characters and begins {begins!r}; read the "
            "cell again and copy the piece from it."
        )
    lines: list[int] = []
    start = 0
    while (at := text.find(old, start)) != -1 and len(lines) < 10:
        lines.append(text.count("\n", 0, at) + 1)
        start = at + 1
    raise InvalidArgument(
        f"old_text occurs {count} times in the source of cell {index} (at lines {', '.join(map(str, lines))}): "
        "give a longer piece, one that occurs once, or replace the whole source with source."
    )


def new_cell(cell_type: str, source: str, metadata: dict[str, Any] | None, nbformat_minor: int) -> NotebookNode:
    """Build an nbformat 4 cell; gives it an ``id`` only where the notebook's minor version has ids (4.5+)."""
    if cell_type not in CELL_TYPES:
        raise InvalidArgument(f"cell_type {cell_type!r} is not valid: use one of 'code', 'markdown', 'raw'.")
    factory = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell_type]
    cell = factory(source=source, metadata=nbformat.from_dict(metadata or {}))
    if nbformat_minor < 5:
        cell.pop("id", None)
    return cell


class NotebookService:
    """Reads and edits notebooks: their live document while JupyterLab has them open with real-time
    collaboration (``live``), else through the server's ContentsManager.

    Every path is an API path relative to the server root, confined by ``normalize_api_path``
    and by the ContentsManager itself (root, hidden files, checkpoints, custom managers).

    One writer at a time: reads hold the path's read lock and edits its write lock (``locks``, the
    ``PathLocks`` that also guard the ContentsManager's own ``get`` / ``save``, so that JupyterLab's
    saves through ``/api/contents`` take turns with these edits). An edit is read-modify-write under
    the write lock, with a compare-and-swap right before the save: if the file's content changed
    since the edit read it (a writer outside the server, or a REST save beside a synchronous
    ContentsManager), the edit is applied again to the new content, and after ``EDIT_ATTEMPTS``
    changes in a row it fails with ``Conflict``; the file is never overwritten with what was read.

    Parsed notebooks are cached per path and revalidated on every read by the file's content hash
    (``require_hash=True``; by ``last_modified`` and ``size`` for a ContentsManager without
    hashes), so any change made by JupyterLab or on disk is seen, a ``cp -p`` of new content too.

    Parameters
    ----------
    contents_manager
        The server's ContentsManager (sync or async API; both are awaited via ``ensure_async``).
    kernel_spec_manager
        The server's KernelSpecManager, for ``create_notebook``'s kernelspec.
    max_source_chars : int
        Largest accepted cell ``source``, in characters; 0 means no limit.
    cache_max_notebooks : int
        Most notebooks kept parsed in the cache.
    cache_max_bytes : int
        Most memory the cached notebooks may hold, in bytes, as ``estimate_memory`` counts it (a
        parsed notebook holds 1.5-10x its file size). The least recently used go first; the last
        one read is always kept.
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
        self.live = live
        self.kernel_spec_manager = kernel_spec_manager
        self.max_source_chars = max_source_chars
        self.log = log or logging.getLogger(__name__)
        self.locks: PathLocks = guard_contents_manager(contents_manager)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        #: Where each cell id of a notebook was when last read or edited (id -> index), to say where
        #: a cell_id that is gone used to be; ids are added, never dropped. ``_last_cells`` holds the
        #: cell lists not indexed yet, for the notebooks most recently used.
        self._last_ids: dict[str, dict[str, int]] = {}
        self._last_cells: OrderedDict[str, list[list[Any]]] = OrderedDict()
        self.cache_max_notebooks = cache_max_notebooks
        self.cache_max_bytes = cache_max_bytes
        self._hashes = _accepts(contents_manager.get, "require_hash")

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

    # -- reading ---------------------------------------------------------------------------

    async def _cm(self, method: str, *args: Any, path: str, argument: str = "path", **kwargs: Any) -> Any:
        try:
            with quiet_trust_warnings():
                return await ensure_async(getattr(self.contents_manager, method)(*args, **kwargs))
        except HTTPError as e:
            reason = self._without_root(e.log_message or e.reason or str(e))
            if len(reason) > MAX_REASON_CHARS:  # it may quote an oversized argument
                reason = f"{reason[:MAX_REASON_CHARS]}... ({len(reason):,} characters)"
            if e.status_code == 404:
                raise NotebookNotFound(
                    f"{argument} {shown(path)} does not exist under the server root ({reason})."
                ) from e
            if e.status_code == 403:
                raise PathError(f"{argument} {shown(path)} is not accessible: {reason}.") from e
            if e.status_code == 400 and "Unreadable Notebook" in reason:
                raise NotANotebook(self._unreadable(path, reason, argument)) from e
            if e.status_code == 400 and "not a notebook" in reason:
                raise NotANotebook(f"{argument} {shown(path)} is not a notebook: {reason}.") from e
            if e.status_code == 409:
                raise Conflict(f"{argument} {shown(path)}: {reason}.") from e
            if e.status_code < 500:
                raise InvalidArgument(f"{argument} {shown(path)}: {reason}.") from e
            self.log.warning("ContentsManager.%s(%r) failed: %s", method, path, e)
            raise MCPExtError(f"{argument} {shown(path)}: the server's contents manager failed: {reason}.") from e

    def _unreadable(self, api_path: str, reason: str, argument: str) -> str:
        """The message for a notebook file that does not parse: what is on disk now and whether Jupyter's
        recovery (the file moved to ``.invalid``, its ``.~`` backup restored) happened. It never
        suggests writing the file: what is there may be the only copy of someone's work."""
        detail = reason.split(" ", 3)[-1] if reason.startswith("Unreadable Notebook:") else reason
        message = f"{argument} {shown(api_path)} cannot be read as a notebook: its file is not valid nbformat JSON ({detail[:300]})."
        root_dir = getattr(self.contents_manager, "root_dir", None)
        if root_dir:
            os_path = os.path.join(root_dir, *api_path.split("/"))
            name = api_path.rsplit("/", 1)[-1]
            invalid = os_path + ".invalid"
            backup = os.path.join(os.path.dirname(os_path), f".~{name}")
            try:
                size = os.path.getsize(os_path)
                message += f" The file on disk now has {size:,} bytes."
            except OSError:
                message += " There is no file at that path now."
            if os.path.exists(invalid):
                message += (
                    f" Jupyter's recovery has run before: an unreadable version was moved to '{name}.invalid' and "
                    "the last good version restored from its backup."
                )
            elif os.path.exists(backup):
                message += " A backup of the previous version exists beside it (Jupyter restores it on the next read)."
            else:
                message += " No backup of a previous version exists, so Jupyter could not restore one."
        return (
            message + " This call changed nothing. If another program is writing the file, try again when it is done;"
            " otherwise open it in JupyterLab, or restore a checkpoint, to see what it holds."
        )

    def _without_root(self, reason: str) -> str:
        """A ContentsManager message with the server's root directory taken out of the paths it names:
        clients speak API paths, and the file-system layout is the server's own business."""
        root_dir = getattr(self.contents_manager, "root_dir", None)
        if not root_dir:
            return reason
        for root in {root_dir.rstrip(os.sep), os.path.realpath(root_dir)}:
            reason = reason.replace(root + os.sep, "").replace(root, "")
        return reason

    async def stat(self, api_path: str, *, argument: str = "path") -> dict[str, Any]:
        """The ContentsManager model of ``api_path`` without content (name, type, size, last_modified)."""
        return await self._cm("get", api_path, content=False, path=api_path, argument=argument)

    async def fingerprint(self, api_path: str, *, argument: str = "path") -> tuple[dict[str, Any], Fingerprint]:
        """The model of ``api_path`` without content, and the ``Fingerprint`` of its content now.

        Reads and hashes the file where the ContentsManager supports ``require_hash`` (tens of
        milliseconds for 20 MB); call it under the path's lock to compare it with a later save.
        """
        extra = {"require_hash": True} if self._hashes else {}
        model = await self._cm("get", api_path, content=False, path=api_path, argument=argument, **extra)
        return model, Fingerprint.of(model)

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
                nb, _ = await self._read(api_path, argument=argument)
        self._remember_ids(api_path, nb)
        return api_path, nb

    def _stat_key(self, api_path: str) -> tuple[int, ...] | None:
        """(device, inode, size, mtime, ctime) of a file-backed ContentsManager's file, or None.

        Every write of a file, ``cp -p`` and ``rsync -t`` included, sets its ctime to the time of
        the change, and nothing but a clock set backwards can set it back. So when a file's ctime
        was already ``SETTLE_NS`` in the past when its content was hashed, an unchanged stat key
        later means unchanged content, and a read needs no new hash (the idea of git's "racily
        clean" index entries). Within ``SETTLE_NS`` of a change, reads hash the file again.
        """
        get_os_path = getattr(self.contents_manager, "_get_os_path", None)
        if get_os_path is None or not getattr(self.contents_manager, "root_dir", None):
            return None
        try:
            st = os.stat(get_os_path(api_path))
        except (OSError, ValueError, HTTPError):
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    async def _read(self, api_path: str, *, argument: str = "path") -> tuple[NotebookNode, Fingerprint]:
        """The notebook file and the fingerprint of the content it was parsed from (hold the path's lock)."""
        cached = self._cache.get(api_path)
        stat_key = self._stat_key(api_path)
        if cached is not None and stat_key is not None and cached.settled == stat_key:
            self._cache.move_to_end(api_path)
            return cached.notebook, cached.fingerprint
        verified_at = time.time_ns()
        settled = stat_key if stat_key is not None and stat_key[4] < verified_at - SETTLE_NS else None
        model, fingerprint = await self.fingerprint(api_path, argument=argument)
        if model.get("type") == "directory":
            raise NotANotebook(f"{argument} {shown(api_path)} is a directory, not a notebook.")
        if cached is not None and cached.fingerprint.same_content(fingerprint):
            # Reads of other notebooks may have dropped this entry from the cache during the await
            # (the path's lock keeps writers out, not readers of other paths): it is still valid.
            if self._cache.get(api_path) is cached:
                self._cache.move_to_end(api_path)
            else:
                self._remember(api_path, cached.notebook, cached.fingerprint, cached.memory)
            cached.settled = settled if fingerprint.hash else None
            return cached.notebook, cached.fingerprint
        extra = {"require_hash": True} if self._hashes else {}
        model = await self._cm(
            "get", api_path, content=True, type="notebook", path=api_path, argument=argument, **extra
        )
        content = model["content"]
        if not isinstance(content, dict) or content.get("nbformat") != 4:
            raise NotANotebook(f"{argument} {shown(api_path)} is not an nbformat 4 notebook.")
        # A contents manager other than Jupyter's own may hand back plain dicts.
        nb = content if isinstance(content, NotebookNode) else nbformat.from_dict(content)
        fingerprint = Fingerprint.of(model)
        self._remember(api_path, nb, fingerprint).settled = settled if fingerprint.hash else None
        return nb, fingerprint

    def _remember(
        self, api_path: str, nb: NotebookNode, fingerprint: Fingerprint, memory: int | None = None
    ) -> _Cached:
        """Cache a parsed notebook (``memory``: its ``estimate_memory``, when known), dropping the least
        recently used beyond the cache's bounds; returns its entry."""
        entry = self._cache[api_path] = _Cached(
            fingerprint, nb, estimate_memory(nb, fingerprint.size) if memory is None else memory
        )
        self._cache.move_to_end(api_path)
        total = sum(e.memory for e in self._cache.values())
        while len(self._cache) > 1 and (len(self._cache) > self.cache_max_notebooks or total > self.cache_max_bytes):
            path, dropped = self._cache.popitem(last=False)
            total -= dropped.memory
            # Its cell lists, remembered for cell_id lookups, would keep the dropped notebook in memory:
            # keep only where each id was.
            self._index_ids(path)
        return entry

    def cache_memory(self) -> int:
        """Estimated bytes held by the parsed-notebook cache now (see ``estimate_memory``)."""
        return sum(e.memory for e in self._cache.values())

    # -- writing ---------------------------------------------------------------------------

    async def _save(self, api_path: str, nb: NotebookNode, *, argument: str = "path") -> Fingerprint:
        """Save ``nb`` at ``api_path`` and cache it with the fingerprint of what was written, which is
        returned (hold the path's write lock)."""
        try:
            await self._cm(
                "save",
                {"type": "notebook", "format": "json", "content": nb},
                api_path,
                path=api_path,
                argument=argument,
            )
            _, fingerprint = await self.fingerprint(api_path, argument=argument)
        except BaseException:
            self._cache.pop(api_path, None)
            raise
        self._remember(api_path, nb, fingerprint)
        return fingerprint

    async def _unchanged_since(self, api_path: str, read: Fingerprint, nb: NotebookNode, argument: str) -> bool:
        """Whether the file still holds what was read as ``read`` (the compare of compare-and-swap)."""
        _, now = await self.fingerprint(api_path, argument=argument)
        if now.hash and read.hash:
            return now.same_content(read)
        # No content hash from this ContentsManager: compare the content itself.
        model = await self._cm("get", api_path, content=True, type="notebook", path=api_path, argument=argument)
        return bool(model.get("content") == nb)

    async def edit(self, path: str, change: Callable[[NotebookNode], T], *, argument: str = "path") -> tuple[str, T]:
        """Apply ``change`` to a copy of the notebook and save it, under the path's write lock.

        ``change`` receives a copy whose ``cells`` list (not the cells) is new; it must replace
        (not mutate) any cell it changes. What it returns is returned with the API path. If it
        raises, or the save fails, nothing is written.

        Compare-and-swap: right before the save the file is checked against what was read (by
        content hash). If it changed on disk meanwhile, ``change`` runs again on the new content:
        its addressing (a cell index, a cell id) is resolved against the notebook as it is then,
        as if the call had come after that change; every edit of this service (``add_cell``,
        ``update_cell``, ``remove_cell``, the kernel service's outputs by cell id) is written that
        way. After ``EDIT_ATTEMPTS`` changes in a row it raises Conflict and writes nothing.

        A notebook open in a collaboration room is edited in its live document instead, in one
        transaction of cell changes (``LiveNotebook.apply``); the room's autosave writes the file.
        """
        api_path = self.api_path(path, argument=argument)
        return api_path, await self._in_document_or_file(
            api_path, change, lambda: self._edit_file(api_path, change, argument)
        )

    async def _in_document_or_file(
        self, api_path: str, change: Callable[[NotebookNode], T], on_file: Callable[[], Awaitable[T]]
    ) -> T:
        """Write a notebook where it lives: when a collaboration room holds it, ``change`` runs on
        its live document (``_edit_live``); else ``on_file()`` runs under the path's write lock. A
        room that opens while the lock is awaited is written instead: the file behind a room is the
        room's to save."""
        while True:
            live = await self.live.get(api_path) if self.live is not None else None
            if live is not None:
                return await self._edit_live(api_path, live, change)
            async with self.locks.write(api_path):
                if self.live is not None and self.live.room(api_path) is not None:
                    continue  # a room opened while this write waited: write into its document
                return await on_file()

    async def _edit_file(self, api_path: str, change: Callable[[NotebookNode], T], argument: str) -> T:
        """``edit`` on the file: read, change, compare and swap (hold the path's write lock)."""
        for _ in range(EDIT_ATTEMPTS):
            current, read = await self._read(api_path, argument=argument)
            nb = _working_copy(current)
            result = change(nb)
            if await self._unchanged_since(api_path, read, current, argument):
                await self._save(api_path, nb, argument=argument)
                self._remember_ids(api_path, nb)
                return result
            self.log.warning("%s changed on disk while an edit was being made; applying the edit again", api_path)
        raise Conflict(
            f"{argument} {shown(api_path)}: the notebook changed on disk {EDIT_ATTEMPTS} times while this edit was "
            "being saved (another program is writing it); nothing was written. Read it again and retry."
        )

    async def replace(
        self, path: str, nb: NotebookNode, *, expected: Written | None, argument: str = "output_path"
    ) -> Written:
        """Write a whole notebook that the server produced (a job's output), under the path's write lock.

        With ``expected`` (what this writer wrote last), the notebook must still hold that, or be
        gone: if anyone else changed it meanwhile, raises Conflict and writes nothing. Returns what
        was written, for the next call.

        A notebook open in a collaboration room is written into its live document (one
        transaction, as ``edit``): writing the file would make the room reload it and drop what
        people typed since its last save. There, "changed" means a cell's type or source differs
        from what this writer wrote: what a person typed is kept, unsaved or not. Raises
        LiveDocumentBusy when the room stays busy loading its file.
        """
        api_path = self.api_path(path, argument=argument, new_file=True)
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
                        _, now = await self.fingerprint(api_path, argument=argument)
                        same = now.same_content(expected.fingerprint)
                    else:  # saved by the room of the document this writer wrote last
                        current, _ = await self._read(api_path, argument=argument)
                        same = typed_digest(current) == expected.typed
                except NotebookNotFound:
                    same = True
                except NotANotebook:
                    same = False
                if not same:
                    raise Conflict(changed)
            await self._ensure_parent(api_path)
            return Written(await self._save(api_path, nb, argument=argument), typed_digest(nb))

        return await self._in_document_or_file(api_path, into_document, into_file)

    async def _edit_live(self, api_path: str, live: LiveNotebook, change: Callable[[NotebookNode], T]) -> T:
        # No await from the snapshot to the end of apply(): nobody's change can come in between.
        current = live.notebook(keep_ids=True)
        nb = _working_copy(current)
        result = change(nb)
        live.apply(current, nb)
        self._remember_ids(api_path, nb)
        if self.live is not None:
            self.live.touch(live)
        await live.settle()
        return result

    def _remember_ids(self, api_path: str, nb: NotebookNode) -> None:
        """Note the cells of the notebook as read or edited now. The lists are kept as they are and
        their ids indexed only when a cell_id is not found (or every REMEMBERED_LISTS of them):
        indexing 5,000 ids costs more than the rest of an edit of a live notebook."""
        cells = nb.get("cells") or []
        pending = self._last_cells.setdefault(api_path, [])
        if not pending or pending[-1] is not cells:
            pending.append(cells)
            if len(pending) > REMEMBERED_LISTS:
                self._index_ids(api_path)
        self._last_cells.move_to_end(api_path)
        while len(self._last_cells) > self.cache_max_notebooks:
            dropped, _ = self._last_cells.popitem(last=False)
            self._last_ids.pop(dropped, None)

    def _index_ids(self, api_path: str) -> dict[str, int]:
        seen = self._last_ids.setdefault(api_path, {})
        for cells in self._last_cells.get(api_path, []):
            seen.update((c["id"], i) for i, c in enumerate(cells) if c.get("id"))
        self._last_cells.get(api_path, []).clear()
        return seen

    def locate(self, api_path: str, cells: list[Any], *, index: Any = None, cell_id: Any = None, **kwargs: Any) -> int:
        """The index of the cell addressed by ``index`` or ``cell_id`` among ``cells`` of the notebook at
        ``api_path`` (see ``cells.resolve_cell``; a vanished id is reported with the cells around where
        it was when this service last saw the notebook)."""
        try:
            return resolve_cell(cells, index=index, cell_id=cell_id, **kwargs)
        except CellIndexError:
            if cell_id is None:
                raise
        return resolve_cell(cells, index=index, cell_id=cell_id, last_seen=self._index_ids(api_path), **kwargs)

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

        _, (at, count, cell) = await self.edit(api_path, change)
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

        _, (at, count, removed) = await self.edit(api_path, change)
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

        _, (i, cell) = await self.edit(api_path, change)
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

        def into_document(current: NotebookNode) -> NotebookNode:
            nb = self._validated(content if protect is None else protect(content, current))
            current.clear()
            current.update(nb)
            return nb

        async def into_file() -> NotebookNode:
            for _ in range(EDIT_ATTEMPTS):
                current: NotebookNode | None = None
                read: Fingerprint | None = None
                if protect is not None:
                    try:
                        current, read = await self._read(api_path)
                    except (NotebookNotFound, NotANotebook):
                        pass
                nb = self._validated(content if protect is None else protect(content, current))
                # Folders only for a valid notebook: a refused write leaves nothing behind.
                await self._ensure_parent(api_path)
                if await ensure_async(self.contents_manager.dir_exists(api_path)):
                    raise InvalidArgument(f"path {shown(api_path)} is a directory; give the path of a notebook file.")
                if current is None or read is None or await self._unchanged_since(api_path, read, current, "path"):
                    await self._save(api_path, nb)
                    return nb
                self.log.warning("%s changed on disk while it was being written; writing it again", api_path)
            raise Conflict(
                f"path {shown(api_path)}: the notebook changed on disk {EDIT_ATTEMPTS} times while write_notebook "
                "was saving it (another program is writing it); nothing was written. Read it again and retry."
            )

        return api_path, await self._in_document_or_file(api_path, into_document, into_file)

    def _validated(self, content: Any) -> NotebookNode:
        """``content`` (an nbformat 4 notebook as a dict or JSON text) as a valid NotebookNode, with
        the defaults nbformat fills in; raises InvalidArgument naming the first validation errors."""
        if isinstance(content, str):
            try:
                nb = nbformat.reads(content, as_version=4)
            except Exception as e:
                raise InvalidArgument(f"content is not a readable notebook JSON: {e}") from e
        elif isinstance(content, dict):
            if content.get("nbformat") != 4:
                raise InvalidArgument(
                    "content must be an nbformat 4 notebook: an object with 'cells', 'metadata', "
                    f"'nbformat': 4 and 'nbformat_minor'; got nbformat={content.get('nbformat')!r}."
                )
            content = dict(content)
            content.setdefault("metadata", {})
            content.setdefault("nbformat_minor", 5)
            for cell in content.get("cells", []) if isinstance(content.get("cells"), list) else []:
                if isinstance(cell, dict):
                    if cell.get("cell_type") == "code":
                        cell.setdefault("outputs", [])
                        cell.setdefault("execution_count", None)
                    cell.setdefault("metadata", {})
                    if isinstance(cell.get("source"), list):
                        cell["source"] = "".join(cell["source"])
            try:
                _, normalized = nbformat.validator.normalize(content)
            except Exception as e:
                raise InvalidArgument(f"content is not a valid notebook: {e}") from e
            nb = nbformat.from_dict(normalized)
        else:
            raise InvalidArgument("content must be a notebook object (nbformat 4 JSON) or its JSON text.")
        errors = validation_errors(nb)
        if errors:
            first = "; ".join(
                (f"cell {e['cell_index']}: " if e["cell_index"] is not None else "") + e["message"][:300]
                for e in errors[:3]
            )
            raise InvalidArgument(f"content is not a valid nbformat 4 notebook ({len(errors)} errors): {first}")
        for cell in nb.cells:
            self.check_source(cell.get("source", ""), argument="content.cells[].source")
        return nb

    async def create(self, path: str, kernel: str = "python3") -> tuple[str, NotebookNode, dict[str, Any]]:
        """Create an empty notebook for kernelspec ``kernel``; return (api_path, notebook, kernelspec).

        Raises Conflict if the file exists, KernelSpecNotFound listing the installed kernelspecs.
        """
        api_path = self.api_path(path, new_file=True)
        kernelspec = await self.kernelspec(kernel, argument="kernel")
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = kernelspec
        nb.metadata["language_info"] = await self.language_info(kernel)
        async with self.locked(api_path):
            if await ensure_async(self.contents_manager.exists(api_path)):
                raise Conflict(
                    f"path {shown(api_path)} already exists; use write_notebook to replace a notebook, or choose another path."
                )
            await self._ensure_parent(api_path)
            await self._save(api_path, nb)
        return api_path, nb, kernelspec

    async def _ensure_parent(self, api_path: str) -> None:
        """Create the folders of ``api_path`` that do not exist yet, outermost first, through the
        ContentsManager (``save`` of a directory model), so that its root, hidden-file rules and
        hooks apply as to a folder made in JupyterLab. Raises PathError if one of them is a file."""
        parent = api_path.rpartition("/")[0]
        cm = self.contents_manager
        if not parent or await ensure_async(cm.dir_exists(parent)):
            return
        parts = parent.split("/")
        for n in range(1, len(parts) + 1):
            folder = "/".join(parts[:n])
            if await ensure_async(cm.dir_exists(folder)):
                continue
            if await ensure_async(cm.file_exists(folder)):
                raise PathError(f"path {shown(api_path)}: {shown(folder)} is a file, so it cannot hold a notebook.")
            if not resolves_inside_root(folder, cm):
                raise PathError(f"path {shown(api_path)}: {shown(folder)} resolves to a place outside the server root.")
            try:
                await self._cm("save", {"type": "directory"}, folder, path=api_path)
            except MCPExtError:
                if not await ensure_async(cm.dir_exists(folder)):  # made meanwhile by another call: fine
                    raise
            self.log.info("Created folder %s for %s", folder, api_path)

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
        if not await ensure_async(self.contents_manager.exists(api_path)):
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

    async def kernelspec(self, name: str, *, argument: str = "kernel_name") -> dict[str, str]:
        """The ``metadata.kernelspec`` dict (name, display_name, language) of an installed kernelspec.

        Raises KernelSpecNotFound listing the installed kernelspec names.
        """
        ksm = self.kernel_spec_manager
        try:
            spec = await ensure_async(ksm.get_kernel_spec(name))
        except Exception as e:
            names = sorted((await ensure_async(ksm.get_all_specs())).keys())
            raise KernelSpecNotFound(
                f"{argument} {name!r} is not an installed kernelspec; installed: {', '.join(names) or 'none'}."
            ) from e
        return {"name": name, "display_name": spec.display_name, "language": spec.language}

    async def language_info(self, name: str) -> dict[str, Any]:
        """The ``metadata.language_info`` a kernel of kernelspec ``name`` would report, without starting it.

        Known languages get the fields their kernels report (ipykernel's for Python: file_extension,
        mimetype, codemirror_mode, pygments_lexer, nbconvert_exporter); the Python ``version`` is
        the server's own when the kernelspec runs the server's interpreter (a bare ``python`` or
        ``sys.executable``, as the default ``python3`` kernelspec does). The kernel replaces it with
        its exact ``kernel_info`` when the notebook is first run and saved.
        """
        spec = await ensure_async(self.kernel_spec_manager.get_kernel_spec(name))
        language = (spec.language or "").lower()
        info: dict[str, Any] = {"name": language, **KNOWN_LANGUAGE_INFO.get(language, {})}
        if language == "python" and _runs_this_python(list(spec.argv or [])):
            info["version"] = platform.python_version()
        return info

    # -- listing ---------------------------------------------------------------------------

    async def list_files(self, directory: str = ".", recursive: bool = False, *, limit: int = 10000) -> list[dict]:
        """Notebook files under ``directory`` (an API path; ``"."`` is the root).

        Returns dicts with ``path``, ``name``, ``size`` (bytes, or None if the ContentsManager
        does not report it) and ``last_modified`` (ISO 8601), sorted by path. Hidden files
        and ``hide_globs`` are skipped as the ContentsManager skips them, and so are symbolic links
        leading out of the root (the other tools refuse them). At most ``limit``.
        """
        api_dir = normalize_api_path(directory, self.contents_manager, argument="directory", allow_root=True)
        if _stock_file_manager(self.contents_manager):
            # Jupyter's own file managers build a full model of every entry, with a thread hop per
            # entry in the async one: 300 entries cost ~40 ms of the event loop and pile up under
            # concurrent calls. One scan in one thread, by the same rules (should_list, hidden files,
            # links out of the root), gives the same list.
            model = await self._cm("get", api_dir, content=False, path=api_dir, argument="directory")
            if model.get("type") != "directory":
                raise InvalidArgument(f"directory {shown(api_dir)} is a file, not a directory.")
            scanned = await asyncio.to_thread(_scan_notebooks, self.contents_manager, api_dir, recursive, limit)
            scanned.sort(key=lambda f: f["path"])
            return scanned[:limit]
        found: list[dict] = []
        pending = [api_dir]
        while pending and len(found) < limit:
            current = pending.pop()
            model = await self._cm("get", current, content=True, type="directory", path=current, argument="directory")
            for entry in model.get("content") or []:
                if not resolves_inside_root(entry["path"], self.contents_manager):
                    continue  # a link out of the root: its target is not the server's to show
                if entry["type"] == "directory":
                    if recursive:
                        pending.append(entry["path"])
                elif entry["type"] == "notebook" or entry["name"].endswith(".ipynb"):
                    lm = entry.get("last_modified")
                    found.append(
                        {
                            "path": entry["path"],
                            "name": entry["name"],
                            "size": entry.get("size"),
                            "last_modified": lm.isoformat() if hasattr(lm, "isoformat") else lm,
                        }
                    )
        found.sort(key=lambda f: f["path"])
        return found[:limit]


def _stock_file_manager(cm: Any) -> bool:
    """Whether ``cm`` lists directories as Jupyter's own file managers do (not overridden)."""
    from jupyter_server.services.contents.filemanager import AsyncFileContentsManager, FileContentsManager

    for stock in (AsyncFileContentsManager, FileContentsManager):
        if isinstance(cm, stock) and all(
            getattr(type(cm), name) is getattr(stock, name) for name in ("get", "_dir_model", "_base_model")
        ):
            return True
    return False


def _scan_notebooks(cm: Any, api_dir: str, recursive: bool, limit: int) -> list[dict[str, Any]]:
    """The notebooks under ``api_dir`` as ``list_files`` gives them, read from the file system by the
    rules of Jupyter's file managers' ``_dir_model``: regular files, directories and links only,
    ``should_list`` (hide_globs), hidden files unless ``allow_hidden``; and no link out of the root."""
    import stat as stat_module
    from datetime import datetime, timezone

    from jupyter_core.paths import is_file_hidden

    found: list[dict[str, Any]] = []
    pending = [api_dir]
    while pending and len(found) < limit:
        current = pending.pop()
        os_dir = cm._get_os_path(current)
        try:
            entries = list(os.scandir(os_dir))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            mode = st.st_mode
            if not (stat_module.S_ISLNK(mode) or stat_module.S_ISREG(mode) or stat_module.S_ISDIR(mode)):
                continue
            name = entry.name
            api_path = f"{current}/{name}" if current else name
            try:
                if not cm.should_list(name) or (not cm.allow_hidden and is_file_hidden(entry.path, stat_res=st)):
                    continue
            except OSError:
                continue
            if stat_module.S_ISLNK(mode) and not resolves_inside_root(api_path, cm):
                continue  # a link out of the root: its target is not the server's to show
            if os.path.isdir(entry.path):
                if recursive:
                    pending.append(api_path)
            elif name.endswith(".ipynb") and os.path.exists(entry.path):
                found.append(
                    {
                        "path": api_path,
                        "name": name,
                        "size": st.st_size,
                        "last_modified": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(),
                    }
                )
    return found


def _cell_index_of(error: Any) -> int | None:
    path = list(getattr(error, "absolute_path", []) or [])
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        return path[1]
    return None


def iter_validation_errors(nb: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """nbformat's own JSON-schema errors for ``nb``, each with the cell index it concerns (or None)."""
    try:
        errors = list(nbformat.validator.iter_validate(copy.deepcopy(nb)))
    except Exception as e:  # an unknown nbformat version, for one
        yield {"type": type(e).__name__, "message": str(e), "cell_index": None}
        return
    for error in errors:
        where = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
        yield {
            "type": "schema",
            "message": (f"{where}: " if where else "") + str(getattr(error, "message", error)),
            "cell_index": _cell_index_of(error),
        }


def validation_errors(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """All of ``iter_validation_errors`` as a list."""
    return list(iter_validation_errors(nb))


def validation_report(nb: dict[str, Any]) -> dict[str, Any]:
    """The ``validation`` block of ``inspect_notebook``: nbformat errors plus practical warnings."""
    started = time.perf_counter()
    errors = validation_errors(nb)
    warnings: list[dict[str, Any]] = []
    metadata = nb.get("metadata") or {}
    if not metadata.get("kernelspec"):
        warnings.append(
            {
                "type": "missing_kernelspec",
                "message": "metadata.kernelspec is missing: give a kernel_name when executing this notebook.",
                "cell_index": None,
            }
        )
    minor = nb.get("nbformat_minor", 0)
    seen_ids: set[str] = set()
    for i, cell in enumerate(nb.get("cells") or []):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str):
            cell_id = None  # a wrong type is one of nbformat's schema errors above
        if minor >= 5 and not cell_id:
            warnings.append({"type": "missing_cell_id", "message": "cell has no id (nbformat 4.5+)", "cell_index": i})
        elif cell_id:
            if cell_id in seen_ids:
                warnings.append(
                    {"type": "duplicate_cell_id", "message": f"cell id {cell_id!r} repeats", "cell_index": i}
                )
            seen_ids.add(cell_id)
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if isinstance(output, dict) and output.get("output_type") == "error":
                warnings.append(
                    {
                        "type": "error_output",
                        "message": f"stored error output: {output.get('ename')}: {output.get('evalue')}",
                        "cell_index": i,
                    }
                )
    return {
        "is_valid": not errors,
        "nbformat_version": f"{nb.get('nbformat')}.{minor}",
        "errors": errors,
        "warnings": warnings,
        "validation_time": round(time.perf_counter() - started, 6),
    }


__all__ = [
    "CELL_TYPES",
    "MCPExtError",
    "NotebookService",
    "check_index",
    "iter_validation_errors",
    "new_cell",
    "validation_errors",
    "validation_report",
]
