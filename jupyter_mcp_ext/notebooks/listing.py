"""Notebook listing (service layer): the notebooks under a folder of the server root, skipped and
confined as Jupyter's file managers list them."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from ..exceptions import InvalidArgument
from .paths import normalize_api_path, resolves_inside_root, shown
from .store import NotebookStore


async def list_notebook_files(
    store: NotebookStore, directory: str = ".", recursive: bool = False, *, limit: int = 10000
) -> list[dict]:
    """Notebook files under ``directory`` (an API path; ``"."`` is the root).

    Returns dicts with ``path``, ``name``, ``size`` (bytes, or None if the ContentsManager
    does not report it) and ``last_modified`` (ISO 8601), sorted by path. Hidden files
    and ``hide_globs`` are skipped as the ContentsManager skips them, and so are symbolic links
    leading out of the root (the other tools refuse them). At most ``limit``.
    """
    api_dir = normalize_api_path(directory, store.contents_manager, argument="directory", allow_root=True)
    if _stock_file_manager(store.contents_manager):
        # Jupyter's own file managers build a full model of every entry, with a thread hop per
        # entry in the async one: 300 entries cost ~40 ms of the event loop and pile up under
        # concurrent calls. One scan in one thread, by the same rules (should_list, hidden files,
        # links out of the root), gives the same list.
        model = await store.cm("get", api_dir, content=False, path=api_dir, argument="directory")
        if model.get("type") != "directory":
            raise InvalidArgument(f"directory {shown(api_dir)} is a file, not a directory.")
        scanned = await asyncio.to_thread(_scan_notebooks, store.contents_manager, api_dir, recursive, limit)
        scanned.sort(key=lambda f: f["path"])
        return scanned[:limit]
    found: list[dict] = []
    pending = [api_dir]
    while pending and len(found) < limit:
        current = pending.pop()
        model = await store.cm("get", current, content=True, type="directory", path=current, argument="directory")
        for entry in model.get("content") or []:
            if not resolves_inside_root(entry["path"], store.contents_manager):
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


__all__ = ["list_notebook_files"]
