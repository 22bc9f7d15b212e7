"""Agent changes (service layer): SQLite storage of change records, bounded by size and age."""

from __future__ import annotations

import time
from collections.abc import Iterable

from pydantic import ValidationError

from ..private_db import open_private_sqlite
from .models import Change

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    file_id TEXT,
    time REAL NOT NULL,
    size INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_path ON changes (path, time);
CREATE INDEX IF NOT EXISTS changes_file ON changes (file_id, time);
CREATE INDEX IF NOT EXISTS changes_time ON changes (time);
"""


class ChangeStore:
    """Change records in one SQLite file (0600 in a 0700 directory: they hold cells of notebooks), one
    row per record, the record as JSON plus the columns that queries need. Used from the server's event
    loop only (a write of a few cells takes well under a millisecond in WAL mode).

    Bounded: records older than ``max_age`` seconds go, and the oldest go while the records' JSON adds up
    to more than ``max_bytes`` (the newest record always stays). 0 means no bound.
    """

    def __init__(self, path: str, *, max_bytes: int = 0, max_age: float = 0) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._db = open_private_sqlite(path)
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._total = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM changes").fetchone()[0])
        self._pruned_at = 0.0
        self.prune()

    def close(self) -> None:
        self._db.close()

    def save(self, change: Change) -> None:
        """Insert or replace a record, then drop what the bounds no longer hold."""
        record = change.model_dump_json()
        size = len(record)
        old = self._db.execute("SELECT size FROM changes WHERE id = ?", (change.id,)).fetchone()
        self._db.execute(
            "INSERT OR REPLACE INTO changes (id, path, file_id, time, size, record) VALUES (?, ?, ?, ?, ?, ?)",
            (change.id, change.path, change.file_id, change.time, size, record),
        )
        self._total += size - (int(old[0]) if old else 0)
        if (self.max_bytes and self._total > self.max_bytes) or (
            self.max_age and time.monotonic() - self._pruned_at > 60
        ):
            self.prune()

    def prune(self) -> int:
        """Drop records beyond the bounds; returns how many went."""
        dropped = 0
        self._pruned_at = time.monotonic()
        if self.max_age:
            dropped += self._db.execute("DELETE FROM changes WHERE time < ?", (time.time() - self.max_age,)).rowcount
        if self.max_bytes:
            self._total = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM changes").fetchone()[0])
            if self._total > self.max_bytes:
                rows = self._db.execute("SELECT id, size FROM changes ORDER BY time DESC, id DESC").fetchall()
                kept = 0
                doomed: list[str] = []
                for i, (change_id, size) in enumerate(rows):
                    if doomed or (i and kept + size > self.max_bytes):
                        doomed.append(change_id)  # this one and every older one
                    else:
                        kept += size
                for start in range(0, len(doomed), 500):
                    chunk = doomed[start : start + 500]
                    self._db.execute(f"DELETE FROM changes WHERE id IN ({','.join('?' * len(chunk))})", chunk)
                dropped += len(doomed)
        if dropped:
            self._total = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM changes").fetchone()[0])
        return dropped

    def delete(self, change_id: str) -> None:
        """Drop a record (if there is one)."""
        row = self._db.execute("SELECT size FROM changes WHERE id = ?", (change_id,)).fetchone()
        if row:
            self._db.execute("DELETE FROM changes WHERE id = ?", (change_id,))
            self._total -= int(row[0])

    def get(self, change_id: str) -> Change | None:
        """The record with ``change_id``; None if there is none or it cannot be read."""
        row = self._db.execute("SELECT record FROM changes WHERE id = ?", (change_id,)).fetchone()
        return _parsed(row[0]) if row else None

    def of_notebook(self, path: str, file_id: str | None) -> list[Change]:
        """The records of one notebook, newest first: those made at ``path``, and those of its file id
        (made before it was renamed or moved to ``path``)."""
        if file_id:
            rows = self._db.execute(
                "SELECT record FROM changes WHERE path = ? OR file_id = ? ORDER BY time DESC, id DESC",
                (path, file_id),
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT record FROM changes WHERE path = ? ORDER BY time DESC, id DESC", (path,)
            ).fetchall()
        return [c for c in (_parsed(r[0]) for r in rows) if c is not None]

    def total_bytes(self) -> int:
        """The size of the records' JSON, as the ``max_bytes`` bound counts it."""
        return self._total

    def save_all(self, changes: Iterable[Change]) -> None:
        """Save several records in one transaction (all or none)."""
        self._db.execute("BEGIN")
        try:
            for change in changes:
                self.save(change)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _parsed(record: str) -> Change | None:
    try:
        return Change.model_validate_json(record)
    except (ValidationError, ValueError, TypeError):
        return None


__all__ = ["ChangeStore"]
