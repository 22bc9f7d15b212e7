"""MCP tasks' records in SQLite, so that a task outlives a server restart as its job does."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from ..private_db import open_private_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tool TEXT NOT NULL,
    job_id TEXT,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl_ms INTEGER,
    status TEXT NOT NULL,
    status_message TEXT,
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks (owner, created_at);
CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id);
"""

#: Statuses after which a task does not change any more.
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class TaskRecord:
    """One task (MCP 2025-11-25 ``Task``) and what it runs.

    ``kind`` is "job" (an ``execute_notebook`` call: ``job_id`` is its job, which has the status) or
    "kernel" (an ``execute_on_kernel`` call run by this server process). ``owner`` is the principal
    that made it (``transport.session_principal``); times are epoch seconds; ``ttl_ms`` None keeps it
    until deleted. ``result`` is the finished call's result (a ``CallToolResult`` as JSON), ``error``
    a JSON-RPC error object when the call failed with one.
    """

    task_id: str
    kind: str
    tool: str
    owner: str
    created_at: float
    updated_at: float
    ttl_ms: int | None
    status: str = "working"
    status_message: str | None = None
    job_id: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def expired(self, now: float | None = None) -> bool:
        if self.ttl_ms is None:
            return False
        return (time.time() if now is None else now) > self.created_at + self.ttl_ms / 1000.0


class TaskStore:
    """Task records in one SQLite file beside the job database (0600: results hold outputs)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = open_private_sqlite(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def save(self, record: TaskRecord) -> None:
        row = asdict(record)
        row["result"] = json.dumps(record.result) if record.result is not None else None
        row["error"] = json.dumps(record.error) if record.error is not None else None
        columns = ", ".join(row)
        self._db.execute(
            f"INSERT OR REPLACE INTO tasks ({columns}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )

    def _record(self, row: tuple[Any, ...], names: list[str]) -> TaskRecord:
        data = dict(zip(names, row, strict=True))
        for name in ("result", "error"):
            data[name] = json.loads(data[name]) if data[name] else None
        return TaskRecord(**data)

    def _select(self, where: str, args: tuple[Any, ...]) -> list[TaskRecord]:
        cursor = self._db.execute(f"SELECT * FROM tasks {where}", args)
        names = [d[0] for d in cursor.description]
        return [self._record(row, names) for row in cursor.fetchall()]

    def get(self, task_id: str) -> TaskRecord | None:
        found = self._select("WHERE task_id = ?", (task_id,))
        return found[0] if found else None

    def of_owner(self, owner: str, limit: int, offset: int) -> list[TaskRecord]:
        return self._select(
            "WHERE owner = ? ORDER BY created_at DESC, task_id LIMIT ? OFFSET ?", (owner, limit, offset)
        )

    def unfinished(self) -> list[TaskRecord]:
        return self._select("WHERE status NOT IN ('completed', 'failed', 'cancelled')", ())

    def delete(self, task_id: str) -> None:
        self._db.execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))

    def delete_expired(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        cursor = self._db.execute(
            "DELETE FROM tasks WHERE ttl_ms IS NOT NULL AND created_at + ttl_ms / 1000.0 < ?", (now,)
        )
        return cursor.rowcount


__all__ = ["TERMINAL", "TaskRecord", "TaskStore"]
