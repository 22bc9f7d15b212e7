"""SQLite storage of schedules and of the scheduler's owner (service layer), in the job database.

Two servers may share one job database (the default path is per user, not per server): both read
and write the schedules, and a row of ``scheduler_owner`` says which one runs them. A change of a
schedule is a read-modify-write in one ``BEGIN IMMEDIATE`` transaction, so that the two never lose
each other's changes.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from . import process
from .models import JobOwner
from .schedules import Schedule


class ScheduleStore:
    """Schedule records (one row each, the record as JSON) and the scheduler's owner, on the job
    store's connection (``JobStore.connection``; the tables are created there)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        #: Rows that could not be read as schedules at the last ``all()``: (schedule_id, why).
        self.unreadable: list[tuple[str, str]] = []

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def save(self, schedule: Schedule) -> None:
        """Insert or replace a schedule's record."""
        self._db.execute(
            "INSERT OR REPLACE INTO schedules (schedule_id, created_at, record) VALUES (?, ?, ?)",
            (schedule.schedule_id, schedule.created_at, schedule.model_dump_json()),
        )

    def get(self, schedule_id: str) -> Schedule | None:
        """The schedule's record; None if there is none or it cannot be read."""
        row = self._db.execute("SELECT record FROM schedules WHERE schedule_id = ?", (schedule_id,)).fetchone()
        try:
            return Schedule.model_validate_json(row[0]) if row else None
        except (ValidationError, ValueError):
            return None

    def update(self, schedule_id: str, change: Callable[[Schedule], Any]) -> Schedule | None:
        """Apply ``change`` to the stored record and store it, in one transaction; None (and nothing
        done) when there is no such schedule. What ``change`` raises cancels the change."""
        with self._transaction():
            schedule = self.get(schedule_id)
            if schedule is None:
                return None
            change(schedule)
            self.save(schedule)
        return schedule

    def all(self) -> list[Schedule]:
        """Every schedule that can be read, oldest first; the others are listed in ``unreadable``."""
        self.unreadable = []
        schedules = []
        rows = self._db.execute("SELECT schedule_id, record FROM schedules ORDER BY created_at, schedule_id")
        for schedule_id, record in rows.fetchall():
            try:
                schedules.append(Schedule.model_validate_json(record))
            except (ValidationError, ValueError) as e:
                self.unreadable.append((str(schedule_id), str(e).splitlines()[0][:200]))
        return schedules

    def delete(self, schedule_id: str) -> bool:
        """Delete a schedule's record; whether there was one."""
        return self._db.execute("DELETE FROM schedules WHERE schedule_id = ?", (schedule_id,)).rowcount > 0

    # -- the scheduler's owner --------------------------------------------------------------

    def acquire(self, owner: JobOwner) -> JobOwner | None:
        """Become the server that runs the schedules, unless another live server process is; return
        that one (None: ``owner`` holds it now). A holder whose process is gone (checked by pid and
        start time, as jobs' owners are) is replaced."""
        with self._transaction():
            row = self._db.execute("SELECT pid, start, instance FROM scheduler_owner WHERE id = 1").fetchone()
            if row is not None:
                holder = JobOwner(pid=row[0], start=row[1], instance=row[2])
                held_elsewhere = holder.instance != owner.instance and holder.pid != os.getpid()
                if held_elsewhere and process.is_alive(holder.pid, holder.start):
                    return holder
            self._db.execute(
                "INSERT OR REPLACE INTO scheduler_owner (id, pid, start, instance, since) VALUES (1, ?, ?, ?, ?)",
                (owner.pid, owner.start, owner.instance, time.time()),
            )
        return None

    def release(self, owner: JobOwner) -> None:
        """Stop being the server that runs the schedules (if ``owner`` is)."""
        self._db.execute("DELETE FROM scheduler_owner WHERE id = 1 AND instance = ?", (owner.instance,))
