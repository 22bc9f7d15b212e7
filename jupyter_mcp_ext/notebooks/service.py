"""The notebook service: ContentsManager-backed reads and writes, per-path locks, cell addressing."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import platform
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
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
from .paths import normalize_api_path, resolves_inside_root

T = TypeVar("T")

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


@dataclass
class _Cached:
    last_modified: Any
    size: int | None
    notebook: NotebookNode


def cell_range_text(count: int) -> str:
    """Describe the valid 0-based indices of ``count`` cells, for error messages."""
    return f"the notebook has {count} cell{'s' if count != 1 else ''}" + (f" (0-{count - 1})" if count else "")


def check_index(index: Any, count: int, *, argument: str = "index", allow_end: bool = False) -> int:
    """Return ``index`` if it addresses a cell of a notebook with ``count`` cells.

    Raises CellIndexError naming the valid range otherwise. With ``allow_end``, ``count``
    itself is valid (an insertion position after the last cell).
    """
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidArgument(f"{argument} must be an integer (0-based cell index), got {index!r}.")
    upper = count if allow_end else count - 1
    if index < 0 or index > upper:
        if allow_end:
            raise CellIndexError(
                f"{argument} {index} is out of range: {cell_range_text(count)}; "
                f"insert positions are 0-{count} ({count} appends)."
            )
        raise CellIndexError(f"{argument} {index} is out of range: {cell_range_text(count)}.")
    return index


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
    """Reads and edits notebooks through the server's ContentsManager.

    Every path is an API path relative to the server root, confined by ``normalize_api_path``
    and by the ContentsManager itself (root, hidden files, checkpoints, custom managers).
    Edits are read-modify-write under a per-path ``asyncio.Lock``, so concurrent edits of one
    notebook inside this server are serialized and none is lost. Parsed notebooks are cached
    per path and revalidated against the file's ``last_modified`` and ``size`` on every read,
    so a change made by JupyterLab or on disk is always seen.

    Parameters
    ----------
    contents_manager
        The server's ContentsManager (sync or async API; both are awaited via ``ensure_async``).
    kernel_spec_manager
        The server's KernelSpecManager, for ``create_notebook``'s kernelspec.
    max_source_chars : int
        Largest accepted cell ``source``, in characters; 0 means no limit.
    cache_max_notebooks, cache_max_bytes : int
        Bounds of the parsed-notebook cache: most notebooks kept, and most bytes of notebook files
        they add up to. The least recently used go first; the last one read is always kept.
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
    ) -> None:
        self.contents_manager = contents_manager
        self.kernel_spec_manager = kernel_spec_manager
        self.max_source_chars = max_source_chars
        self.log = log or logging.getLogger(__name__)
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self.cache_max_notebooks = cache_max_notebooks
        self.cache_max_bytes = cache_max_bytes

    # -- paths and locks -------------------------------------------------------------------

    def api_path(self, path: str, *, argument: str = "path") -> str:
        """Normalize and confine a notebook path (see ``normalize_api_path``); requires ``.ipynb``."""
        api_path = normalize_api_path(path, self.contents_manager, argument=argument)
        if not api_path.endswith(".ipynb"):
            raise InvalidArgument(f"{argument} {path!r} is not a notebook path: notebook files end in '.ipynb'.")
        return api_path

    @asynccontextmanager
    async def locked(self, api_path: str) -> Any:
        """Hold the edit lock of one notebook path (reentrancy is not supported)."""
        lock = self._locks.setdefault(api_path, asyncio.Lock())
        self._lock_users[api_path] = self._lock_users.get(api_path, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[api_path] -= 1
            if not self._lock_users[api_path]:
                del self._lock_users[api_path]
                self._locks.pop(api_path, None)

    # -- reading ---------------------------------------------------------------------------

    async def _cm(self, method: str, *args: Any, path: str, argument: str = "path", **kwargs: Any) -> Any:
        try:
            with quiet_trust_warnings():
                return await ensure_async(getattr(self.contents_manager, method)(*args, **kwargs))
        except HTTPError as e:
            reason = self._without_root(e.log_message or e.reason or str(e))
            if e.status_code == 404:
                raise NotebookNotFound(f"{argument} {path!r} does not exist under the server root ({reason}).") from e
            if e.status_code == 403:
                raise PathError(f"{argument} {path!r} is not accessible: {reason}.") from e
            if e.status_code == 400 and ("Unreadable Notebook" in reason or "not a notebook" in reason):
                raise NotANotebook(
                    f"{argument} {path!r} is not a readable notebook: {reason}. It must be an nbformat 4 JSON file."
                ) from e
            if e.status_code == 409:
                raise Conflict(f"{argument} {path!r}: {reason}.") from e
            if e.status_code < 500:
                raise InvalidArgument(f"{argument} {path!r}: {reason}.") from e
            self.log.warning("ContentsManager.%s(%r) failed: %s", method, path, e)
            raise MCPExtError(f"{argument} {path!r}: the server's contents manager failed: {reason}.") from e

    def _without_root(self, reason: str) -> str:
        """A ContentsManager message with the server's root directory taken out of the paths it names:
        clients speak API paths, and the file-system layout is the server's own business."""
        root_dir = getattr(self.contents_manager, "root_dir", None)
        if not root_dir:
            return reason
        for root in {root_dir.rstrip(os.sep), os.path.realpath(root_dir)}:
            reason = reason.replace(root + os.sep, "")
        return reason

    async def stat(self, api_path: str, *, argument: str = "path") -> dict[str, Any]:
        """The ContentsManager model of ``api_path`` without content (name, type, size, last_modified)."""
        return await self._cm("get", api_path, content=False, path=api_path, argument=argument)

    async def get(self, path: str, *, argument: str = "path") -> tuple[str, NotebookNode]:
        """Read a notebook; return ``(api_path, notebook)``.

        The returned NotebookNode is shared with the cache: treat it as read-only.

        Raises NotebookNotFound, NotANotebook, PathError or InvalidArgument.
        """
        api_path = self.api_path(path, argument=argument)
        return api_path, await self._read(api_path, argument=argument)

    async def _read(self, api_path: str, *, argument: str = "path") -> NotebookNode:
        model = await self.stat(api_path, argument=argument)
        if model.get("type") == "directory":
            raise NotANotebook(f"{argument} {api_path!r} is a directory, not a notebook.")
        cached = self._cache.get(api_path)
        if (
            cached is not None
            and cached.last_modified == model.get("last_modified")
            and cached.size == model.get("size")
        ):
            self._cache.move_to_end(api_path)
            return cached.notebook
        model = await self._cm("get", api_path, content=True, type="notebook", path=api_path, argument=argument)
        content = model["content"]
        if not isinstance(content, dict) or content.get("nbformat") != 4:
            raise NotANotebook(f"{argument} {api_path!r} is not an nbformat 4 notebook.")
        # A contents manager other than Jupyter's own may hand back plain dicts.
        nb = content if isinstance(content, NotebookNode) else nbformat.from_dict(content)
        self._remember(api_path, _Cached(model.get("last_modified"), model.get("size"), nb))
        return nb

    def _remember(self, api_path: str, entry: _Cached) -> None:
        """Cache a parsed notebook, dropping the least recently used beyond the cache's bounds."""
        self._cache[api_path] = entry
        self._cache.move_to_end(api_path)
        total = sum(e.size or 0 for e in self._cache.values())
        while len(self._cache) > 1 and (len(self._cache) > self.cache_max_notebooks or total > self.cache_max_bytes):
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.size or 0

    # -- writing ---------------------------------------------------------------------------

    async def _save(self, api_path: str, nb: NotebookNode, *, argument: str = "path") -> dict[str, Any]:
        try:
            model = await self._cm(
                "save",
                {"type": "notebook", "format": "json", "content": nb},
                api_path,
                path=api_path,
                argument=argument,
            )
        except BaseException:
            self._cache.pop(api_path, None)
            raise
        # save() returns the model without content; stat again only if it lacks the size.
        if model.get("size") is None:
            model = await self.stat(api_path, argument=argument)
        self._remember(api_path, _Cached(model.get("last_modified"), model.get("size"), nb))
        return model

    async def edit(self, path: str, change: Callable[[NotebookNode], T], *, argument: str = "path") -> tuple[str, T]:
        """Apply ``change`` to a copy of the notebook and save it, under the path's lock.

        ``change`` receives a copy whose ``cells`` list (not the cells) is new; it must replace
        (not mutate) any cell it changes. What it returns is returned with the API path. If it
        raises, or the save fails, nothing is written.
        """
        api_path = self.api_path(path, argument=argument)
        async with self.locked(api_path):
            current = await self._read(api_path, argument=argument)
            nb = NotebookNode({k: v for k, v in current.items() if k != "cells"})
            nb["cells"] = list(current.get("cells", []))
            nb["metadata"] = copy.copy(current.get("metadata", {}))
            result = change(nb)
            await self._save(api_path, nb, argument=argument)
        return api_path, result

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
    ) -> tuple[str, int, int, NotebookNode]:
        """Insert a cell before ``index`` (append when None); return (api_path, index, cell_count, cell)."""
        source = self.check_source(source)
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidArgument('metadata must be a JSON object (a dict), e.g. {"tags": ["parameters"]}.')

        def change(nb: NotebookNode) -> tuple[int, int, NotebookNode]:
            cells = nb["cells"]
            at = len(cells) if index is None else check_index(index, len(cells), allow_end=True)
            cell = new_cell(cell_type, source, metadata, nb.get("nbformat_minor", 0))
            cells.insert(at, cell)
            return at, len(cells), cell

        api_path, (at, count, cell) = await self.edit(path, change)
        return api_path, at, count, cell

    async def remove_cell(self, path: str, index: int) -> tuple[str, int, NotebookNode]:
        """Remove the cell at ``index``; return (api_path, remaining cell_count, removed cell)."""

        def change(nb: NotebookNode) -> tuple[int, NotebookNode]:
            cells = nb["cells"]
            removed = cells.pop(check_index(index, len(cells)))
            return len(cells), removed

        api_path, (count, removed) = await self.edit(path, change)
        return api_path, count, removed

    async def update_cell(self, path: str, index: int, source: str) -> tuple[str, NotebookNode]:
        """Replace the source of the cell at ``index``, keeping its id, type, metadata and outputs."""
        source = self.check_source(source)

        def change(nb: NotebookNode) -> NotebookNode:
            cells = nb["cells"]
            i = check_index(index, len(cells))
            cell = NotebookNode(cells[i])
            cell["source"] = source
            cells[i] = cell
            return cell

        return await self.edit(path, change)

    async def write(self, path: str, content: Any) -> tuple[str, NotebookNode]:
        """Replace (or create) the notebook at ``path`` with ``content``, validated by nbformat first.

        ``content`` is an nbformat 4 notebook as a dict or a JSON string. Missing nbformat 4.5
        cell ids are added (nbformat's ``normalize``). Raises InvalidArgument naming the first
        validation errors if the notebook is not valid; nothing is written then.
        """
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
            shown = "; ".join(
                (f"cell {e['cell_index']}: " if e["cell_index"] is not None else "") + e["message"] for e in errors[:3]
            )
            raise InvalidArgument(f"content is not a valid nbformat 4 notebook ({len(errors)} errors): {shown}")
        for cell in nb.cells:
            self.check_source(cell.get("source", ""), argument="content.cells[].source")
        api_path = self.api_path(path)
        async with self.locked(api_path):
            await self._ensure_parent(api_path)
            if await ensure_async(self.contents_manager.dir_exists(api_path)):
                raise InvalidArgument(f"path {api_path!r} is a directory; give the path of a notebook file.")
            await self._save(api_path, nb)
        return api_path, nb

    async def create(self, path: str, kernel: str = "python3") -> tuple[str, NotebookNode, dict[str, Any]]:
        """Create an empty notebook for kernelspec ``kernel``; return (api_path, notebook, kernelspec).

        Raises Conflict if the file exists, KernelSpecNotFound listing the installed kernelspecs.
        """
        api_path = self.api_path(path)
        kernelspec = await self.kernelspec(kernel, argument="kernel")
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = kernelspec
        nb.metadata["language_info"] = await self.language_info(kernel)
        async with self.locked(api_path):
            if await ensure_async(self.contents_manager.exists(api_path)):
                raise Conflict(
                    f"path {api_path!r} already exists; use write_notebook to replace a notebook, or choose another path."
                )
            await self._ensure_parent(api_path)
            await self._save(api_path, nb)
        return api_path, nb, kernelspec

    async def _ensure_parent(self, api_path: str) -> None:
        parent = api_path.rpartition("/")[0]
        if parent and not await ensure_async(self.contents_manager.dir_exists(parent)):
            raise NotebookNotFound(f"path {api_path!r}: the directory {parent!r} does not exist under the server root.")

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
