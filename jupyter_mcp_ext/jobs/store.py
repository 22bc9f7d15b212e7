"""SQLite storage of job records, so that jobs and their results survive a server restart."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

from .models import Job

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    notebook_path TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    completed_at REAL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_notebook ON jobs (notebook_path, status);
"""


class JobStore:
    """Job records in one SQLite file: one row per job, the full record as JSON plus the columns
    that queries need. Used from the server's event loop only (writes take well under a
    millisecond in WAL mode).

    Parameters
    ----------
    path : str
        The database file; its directory is created. ``":memory:"`` for a throwaway store.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def save(self, job: Job) -> None:
        """Insert or replace a job's record."""
        self._db.execute(
            "INSERT OR REPLACE INTO jobs (job_id, notebook_path, status, created_at, started_at, completed_at, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                job.job_id,
                job.notebook_path,
                job.status,
                job.created_at,
                job.started_at,
                job.completed_at,
                job.model_dump_json(),
            ),
        )

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute("SELECT record FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def all(self) -> Iterator[Job]:
        """Every job, oldest first."""
        for (record,) in self._db.execute("SELECT record FROM jobs ORDER BY created_at, job_id"):
            yield Job.model_validate_json(record)

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def durations(self, notebook_path: str, limit: int = 10) -> list[float]:
        """Run times in seconds of the latest ``limit`` completed jobs of one notebook, newest first."""
        rows = self._db.execute(
            "SELECT completed_at - started_at FROM jobs WHERE notebook_path = ? AND status = 'completed'"
            " AND started_at IS NOT NULL AND completed_at IS NOT NULL ORDER BY completed_at DESC LIMIT ?",
            (notebook_path, limit),
        ).fetchall()
        return [float(r[0]) for r in rows]
