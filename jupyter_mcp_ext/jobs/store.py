"""SQLite storage of job records (service layer), so that jobs and their results survive a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from pydantic import ValidationError

from ..private_db import open_private_sqlite
from .models import Job

#: The database's ``user_version``. 1: jobs. 2: schedules and the scheduler's owner (``schedule_store.py``).
SCHEMA_VERSION = 2

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

#: What version 2 adds to a version 1 database: an older server that opens it again ignores these
#: tables (and sets user_version back to 1; the next start of this version adds nothing then).
_SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS schedules (
    schedule_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scheduler_owner (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    start INTEGER,
    instance TEXT NOT NULL,
    since REAL NOT NULL
);
"""


class JobStore:
    """Job records in one SQLite file: one row per job, the full record as JSON plus the columns
    that queries need. Used from the server's event loop only (writes take well under a
    millisecond in WAL mode).

    The database and its directory are readable by the server's user only (0600 / 0700): job
    records name notebooks and parameters. ``env_overrides`` values are never written (only their
    names): they may be secrets, and a job that has not started when the server restarts is
    failed rather than run without them.

    Parameters
    ----------
    path : str
        The database file; its directory is created. ``":memory:"`` for a throwaway store.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        #: Rows that could not be read as job records at the last ``all()``: (job_id, why).
        self.unreadable: list[tuple[str, str]] = []
        self._db = open_private_sqlite(path)
        self._db.executescript(_SCHEMA)
        self._db.executescript(_SCHEMA_2)
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        # A database of a newer version keeps its number: its records are read as far as they can be.
        if version < SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The open database, for the schedules' records in the same file (``ScheduleStore``)."""
        return self._db

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
                job.model_copy(
                    update={"env_override_names": sorted(set(job.env_override_names) | set(job.env_overrides))}
                ).model_dump_json(exclude={"env_overrides"}),
            ),
        )

    def get(self, job_id: str) -> Job | None:
        """The job's record; None if there is none or it cannot be read."""
        row = self._db.execute("SELECT record FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        try:
            return Job.model_validate_json(row[0]) if row else None
        except (ValidationError, ValueError, TypeError):
            return None

    def all(self) -> Iterator[Job]:
        """Every job that can be read, oldest first. A row that cannot be read as a job record (one
        written by a newer version, a hand edit) is skipped and listed in ``unreadable``."""
        self.unreadable = []
        rows = self._db.execute("SELECT job_id, record FROM jobs ORDER BY created_at, job_id").fetchall()
        for job_id, record in rows:
            try:
                yield Job.model_validate_json(record)
            except (ValidationError, ValueError, TypeError) as e:
                first = e.errors()[0] if isinstance(e, ValidationError) and e.errors() else None
                why = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(e)[:200]
                self.unreadable.append((str(job_id), why))

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
