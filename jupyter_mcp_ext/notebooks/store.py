"""The notebook store (service layer): notebook files read through the server's ContentsManager,
the parse cache, content fingerprints, and the save that compare-and-swap builds on."""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbformat import NotebookNode
from tornado.web import HTTPError

from ..exceptions import Conflict, InvalidArgument, MCPExtError, NotANotebook, NotebookNotFound, PathError
from ..logs import quiet_trust_warnings
from .locks import PathLocks, guard_contents_manager
from .paths import resolves_inside_root, shown


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


class NotebookStore:
    """Notebook files of one server, through its ContentsManager: reads (parsed once and cached per
    path), fingerprints of their content, saves, and the folders a new notebook needs.

    Parsed notebooks are cached per path and revalidated on every read by the file's content hash
    (``require_hash=True``; by ``last_modified`` and ``size`` for a ContentsManager without
    hashes), so any change made by JupyterLab or on disk is seen, a ``cp -p`` of new content too.
    Callers hold the path's lock (``locks``: read to read, write to save), the ``PathLocks`` that
    also guard the ContentsManager's own ``get`` / ``save``.

    Parameters
    ----------
    contents_manager
        The server's ContentsManager (sync or async API; both are awaited via ``ensure_async``).
    cache_max_notebooks : int
        Most notebooks kept parsed in the cache.
    cache_max_bytes : int
        Most memory the cached notebooks may hold, in bytes, as ``estimate_memory`` counts it (a
        parsed notebook holds 1.5-10x its file size). The least recently used go first; the last
        one read is always kept.
    on_dropped
        Called with the path of each notebook dropped from the cache.
    """

    def __init__(
        self,
        contents_manager: Any,
        *,
        cache_max_notebooks: int = 32,
        cache_max_bytes: int = 256 * 1024 * 1024,
        log: logging.Logger | None = None,
        on_dropped: Callable[[str], Any] | None = None,
    ) -> None:
        self.contents_manager = contents_manager
        self.log = log or logging.getLogger(__name__)
        self.locks: PathLocks = guard_contents_manager(contents_manager)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self.cache_max_notebooks = cache_max_notebooks
        self.cache_max_bytes = cache_max_bytes
        self.on_dropped = on_dropped or (lambda path: None)
        self._hashes = _accepts(contents_manager.get, "require_hash")

    async def cm(self, method: str, *args: Any, path: str, argument: str = "path", **kwargs: Any) -> Any:
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

    async def exists(self, api_path: str) -> bool:
        """Whether a file or folder exists at ``api_path`` (the ContentsManager's ``exists``)."""
        return bool(await ensure_async(self.contents_manager.exists(api_path)))

    async def dir_exists(self, api_path: str) -> bool:
        """Whether a folder exists at ``api_path`` (the ContentsManager's ``dir_exists``)."""
        return bool(await ensure_async(self.contents_manager.dir_exists(api_path)))

    async def stat(self, api_path: str, *, argument: str = "path") -> dict[str, Any]:
        """The ContentsManager model of ``api_path`` without content (name, type, size, last_modified)."""
        return await self.cm("get", api_path, content=False, path=api_path, argument=argument)

    async def fingerprint(self, api_path: str, *, argument: str = "path") -> tuple[dict[str, Any], Fingerprint]:
        """The model of ``api_path`` without content, and the ``Fingerprint`` of its content now.

        Reads and hashes the file where the ContentsManager supports ``require_hash`` (tens of
        milliseconds for 20 MB); call it under the path's lock to compare it with a later save.
        """
        extra = {"require_hash": True} if self._hashes else {}
        model = await self.cm("get", api_path, content=False, path=api_path, argument=argument, **extra)
        return model, Fingerprint.of(model)

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

    async def read(self, api_path: str, *, argument: str = "path") -> tuple[NotebookNode, Fingerprint]:
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
        model = await self.cm("get", api_path, content=True, type="notebook", path=api_path, argument=argument, **extra)
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
            self.on_dropped(path)
        return entry

    def cache_memory(self) -> int:
        """Estimated bytes held by the parsed-notebook cache now (see ``estimate_memory``)."""
        return sum(e.memory for e in self._cache.values())

    async def save(self, api_path: str, nb: NotebookNode, *, argument: str = "path") -> Fingerprint:
        """Save ``nb`` at ``api_path`` and cache it with the fingerprint of what was written, which is
        returned (hold the path's write lock)."""
        try:
            await self.cm(
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

    async def unchanged_since(self, api_path: str, read: Fingerprint, nb: NotebookNode, argument: str) -> bool:
        """Whether the file still holds what was read as ``read`` (the compare of compare-and-swap)."""
        _, now = await self.fingerprint(api_path, argument=argument)
        if now.hash and read.hash:
            return now.same_content(read)
        # No content hash from this ContentsManager: compare the content itself.
        model = await self.cm("get", api_path, content=True, type="notebook", path=api_path, argument=argument)
        return bool(model.get("content") == nb)

    async def ensure_parent(self, api_path: str) -> None:
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
                await self.cm("save", {"type": "directory"}, folder, path=api_path)
            except MCPExtError:
                if not await ensure_async(cm.dir_exists(folder)):  # made meanwhile by another call: fine
                    raise
            self.log.info("Created folder %s for %s", folder, api_path)


__all__ = ["BYTES_PER_ENTRY", "SETTLE_NS", "Fingerprint", "NotebookStore", "estimate_memory"]
