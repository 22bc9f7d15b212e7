"""The per-path lock and the ContentsManager wrapper (service layer): one writer at a time for every file.

Jupyter's file manager writes a notebook in place (after copying it to a ``.~name`` backup) from a
worker thread, and a read that meets the half-written file moves it aside to ``name.invalid`` and
restores the backup. Two writers, or a reader beside a writer, inside one server therefore lose
or corrupt the notebook. This module serializes them per API path:

- ``PathLocks`` holds one readers–writer lock per API path (``aiorwlock.RWLock``: readers together,
  never beside a writer; a waiting writer holds back new readers, so writers do not starve). The
  locks are reentrant: code holding the write lock of a path may read or write it again (a
  ContentsManager's ``save`` calls its own ``get`` and ``create_checkpoint``), and so may the tasks
  it starts while it holds it (``asyncio.wait_for``, ``gather``): a context variable marks the
  locks held, and the mark lapses when the holder lets go. Code holding only the read lock must not
  ask for the write lock of the same path (``RuntimeError``: that would wait for itself).
- ``guard_contents_manager(cm)`` wraps the *instance* the server runs (its async ``get``, ``save``,
  ``delete``, ``rename``, ``create_checkpoint``, ``restore_checkpoint`` ...), so that JupyterLab's
  saves and loads through ``/api/contents``, jupyter-collaboration's, and this extension's own take
  turns. What each method does is unchanged, and so is the object (``isinstance`` checks, custom
  ContentsManagers and other extensions holding a reference keep working).

A synchronous ContentsManager runs each call to completion on the event loop thread: two calls can
never interleave, so its methods are left as they are. What a multi-step edit must still notice
there (a REST save landing between the edit's read and its save) the notebook service catches by
comparing the file's content hash right before it saves (compare-and-swap).

Usage (the notebook service, the job service and live documents share one ``PathLocks`` per
ContentsManager)::

    locks = guard_contents_manager(serverapp.contents_manager)
    async with locks.write("dir/nb.ipynb"):   # exclusive; reads and saves of the CM inside pass
        ...
    async with locks.read("dir/nb.ipynb"):    # shared with other readers
        ...
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import posixpath
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiorwlock

log = logging.getLogger(__name__)

#: The attribute of a guarded ContentsManager instance that holds its ``PathLocks``.
LOCKS_ATTRIBUTE = "_jupyter_mcp_ext_path_locks"


def lock_key(path: str) -> str:
    """The key of an API path in ``PathLocks``: ``"/a//b/./c.ipynb"`` and ``"a/b/c.ipynb"`` are one file."""
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    return posixpath.join(*parts) if parts else ""


@dataclass
class _Held:
    """One lock held by a piece of code (and the tasks it starts meanwhile)."""

    locks: PathLocks
    key: str
    write: bool
    active: bool = True


#: The locks the running code holds. Tasks started inside a locked block inherit it (asyncio copies
#: the context), so they pass the locks their starter holds instead of waiting for it forever.
_HELD: contextvars.ContextVar[tuple[_Held, ...]] = contextvars.ContextVar("jupyter_mcp_ext_held_locks", default=())


class PathLocks:
    """Readers–writer locks per API path, created on first use and dropped when nobody holds or
    waits for them. See the module docstring for the reentrancy rules."""

    def __init__(self) -> None:
        self._locks: dict[str, aiorwlock.RWLock] = {}
        self._users: dict[str, int] = {}

    def _held(self, key: str) -> _Held | None:
        """The strongest lock of ``key`` this code holds now (a write lock before a read lock)."""
        held = [h for h in _HELD.get() if h.active and h.locks is self and h.key == key]
        return next((h for h in held if h.write), held[0] if held else None)

    def _checkout(self, key: str) -> aiorwlock.RWLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = aiorwlock.RWLock()
        self._users[key] = self._users.get(key, 0) + 1
        return lock

    def _checkin(self, key: str) -> None:
        self._users[key] -= 1
        if not self._users[key]:
            del self._users[key]
            del self._locks[key]

    @asynccontextmanager
    async def _hold(self, keys: list[str], write: bool) -> AsyncIterator[None]:
        new: list[_Held] = []
        # Several paths (rename, copy) are taken in sorted order, so two such calls cannot deadlock.
        async with AsyncExitStack() as stack:
            for key in sorted(set(keys)):
                held = self._held(key)
                if held is not None and (held.write or not write):
                    continue  # already ours
                if held is not None:
                    raise RuntimeError(f"the read lock of {key!r} is held here: it cannot be upgraded to a write lock")
                lock = self._checkout(key)
                stack.callback(self._checkin, key)
                await stack.enter_async_context(lock.writer_lock if write else lock.reader_lock)  # type: ignore[arg-type]
                new.append(_Held(self, key, write))
            token = _HELD.set(_HELD.get() + tuple(new))
            try:
                yield
            finally:
                for held in new:
                    held.active = False
                _HELD.reset(token)

    def read(self, *paths: str) -> Any:
        """``async with locks.read(path, ...)``: share the paths with other readers, never with a writer."""
        return self._hold([lock_key(p) for p in paths], write=False)

    def write(self, *paths: str) -> Any:
        """``async with locks.write(path, ...)``: hold the paths alone (waits for readers and writers)."""
        return self._hold([lock_key(p) for p in paths], write=True)

    def busy(self, path: str) -> bool:
        """Whether anyone holds or waits for the lock of ``path`` (for tests and diagnostics)."""
        return lock_key(path) in self._locks


#: ContentsManager methods that read or write a file's content: (lock mode, names of the path
#: arguments, and for ``get`` whether the call reads content at all). Methods built on these
#: (``new``, ``new_untitled``, ``copy``, ``update``, ``trust_notebook``) are covered through them.
GUARDED_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "get": ("read", ("path",)),
    "save": ("write", ("path",)),
    "delete": ("write", ("path",)),
    "delete_file": ("write", ("path",)),
    "rename": ("write", ("old_path", "new_path")),
    "rename_file": ("write", ("old_path", "new_path")),
    "create_checkpoint": ("read", ("path",)),
    "restore_checkpoint": ("write", ("path",)),
}


def _reads_content(bound: inspect.BoundArguments) -> bool:
    """Whether a ``get`` call reads the file (content, or a hash of it); a metadata-only ``get``
    (JupyterLab's polling of ``last_modified``) needs no lock."""
    arguments = bound.arguments
    content = arguments.get("content", True)
    return bool(content) or bool(arguments.get("require_hash", False))


def _guard(method: Callable[..., Any], name: str, locks: PathLocks) -> Callable[..., Any]:
    mode, path_names = GUARDED_METHODS[name]
    signature = inspect.signature(method)

    @functools.wraps(method)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return await method(*args, **kwargs)  # let the method raise its own error
        bound.apply_defaults()
        paths = [bound.arguments[p] for p in path_names if isinstance(bound.arguments.get(p), str)]
        if not paths or (name == "get" and not _reads_content(bound)):
            return await method(*args, **kwargs)
        hold = locks.write(*paths) if mode == "write" else locks.read(*paths)
        async with hold:
            return await method(*args, **kwargs)

    guarded.__jupyter_mcp_ext_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def guard_contents_manager(contents_manager: Any) -> PathLocks:
    """Return the ``PathLocks`` of ``contents_manager``, wrapping its async methods the first time.

    Idempotent: every caller (the notebook service, the job service, live documents) gets the same
    ``PathLocks`` for the same instance. Only the instance's own attributes are set; its class, and
    methods it does not have, are left alone. Synchronous methods are not wrapped (see the module
    docstring).
    """
    locks = getattr(contents_manager, LOCKS_ATTRIBUTE, None)
    if isinstance(locks, PathLocks):
        return locks
    locks = PathLocks()
    wrapped = []
    for name in GUARDED_METHODS:
        method = getattr(contents_manager, name, None)
        if method is None or getattr(method, "__jupyter_mcp_ext_guarded__", False):
            continue
        if inspect.iscoroutinefunction(method):
            setattr(contents_manager, name, _guard(method, name, locks))
            wrapped.append(name)
    setattr(contents_manager, LOCKS_ATTRIBUTE, locks)
    log.debug("Per-path locks on %s: %s", type(contents_manager).__name__, ", ".join(wrapped) or "none (sync)")
    return locks


__all__ = ["GUARDED_METHODS", "PathLocks", "guard_contents_manager", "lock_key"]
