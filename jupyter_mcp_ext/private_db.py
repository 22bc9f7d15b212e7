"""A SQLite database of the extension's own (infrastructure): readable by the server's user only."""

from __future__ import annotations

import contextlib
import os
import sqlite3


def open_private_sqlite(path: str) -> sqlite3.Connection:
    """Open (creating it) the SQLite file at ``path`` in autocommit mode, WAL journal, with the file and
    its directory readable by the server's user only (0600 / 0700): the extension's databases name
    notebooks and hold their cells. ``":memory:"`` opens a throwaway database."""
    if path != ":memory:":
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        owner_only(directory, 0o700)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for suffix in ("", "-wal", "-shm"):
            owner_only(path + suffix, 0o600)
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    if path != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    return db


def owner_only(path: str, mode: int) -> None:
    """Restrict an existing file or directory of ours to its owner (``mode``); others are left alone."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_uid == os.getuid():
            os.chmod(path, mode)


__all__ = ["open_private_sqlite", "owner_only"]
