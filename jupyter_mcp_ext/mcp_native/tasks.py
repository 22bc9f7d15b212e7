"""MCP tasks (protocol 2025-11-25): ``execute_notebook`` and ``execute_on_kernel`` called with ``task`` answer at
once; the client follows the task with ``tasks/get``, ``tasks/list``, ``tasks/result`` and ``tasks/cancel``, and is
told of its status changes (``notifications/tasks/status``).

An ``execute_notebook`` task is its job: the call runs as ``mode="async"``, the task's status is the job's, its
result the call's ``mode="sync"`` result, and it outlives a server restart as the job does (task id and job id
are kept together in ``tasks.sqlite`` beside the job database). An ``execute_on_kernel`` task runs the call in
this server process; if the server restarts first, the task ends as failed. A task belongs to the identity
that made it: another identity is told it does not exist.

The SDK (mcp 2.3) routes none of this: the ``tasks/*`` methods are an ``Extension``'s ``MethodBinding``s, and the
task-augmented ``tools/call`` is answered by ``NativeMiddleware`` (a handler's ``CreateTaskResult`` would fail the
SDK's outbound check of a ``tools/call`` result). An SDK release that routes tasks replaces this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    CancelTaskRequestParams,
    GetTaskPayloadRequestParams,
    GetTaskRequestParams,
    PaginatedRequestParams,
    TaskStatusNotification,
    TaskStatusNotificationParams,
)

from ..events import JOB_EVENT_SCHEMA_ID
from ..exceptions import MCPExtError
from ..services import Services
from .identity import Reader, reader_of
from .task_store import TaskRecord, TaskStore

log = logging.getLogger(__name__)

#: The protocol version whose tasks this module speaks (the tasks of 2026-07-28 are an extension the SDK has
#: not landed yet).
TASKS_VERSION = "2025-11-25"
#: Tools that may run as tasks, and how (``Tool.execution.taskSupport``).
TASK_TOOLS = {"execute_notebook": "optional", "execute_on_kernel": "optional"}
#: The server's tasks capability (2025-11-25 ``ServerCapabilities.tasks``).
CAPABILITY: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
#: Milliseconds a task is kept after it was made when the client asks for no ttl, and at most.
DEFAULT_TTL_MS = 24 * 3600 * 1000
MAX_TTL_MS = 7 * 24 * 3600 * 1000
#: Milliseconds between two polls the server suggests.
POLL_INTERVAL_MS = {"job": 2000, "kernel": 1000}
#: Tasks of one identity per ``tasks/list`` page.
PAGE_SIZE = 50
#: The ``_meta`` key that ties a message to its task.
RELATED_TASK = "io.modelcontextprotocol/related-task"

#: A job's status -> its task's status.
JOB_TASK_STATUS = {
    "queued": "working",
    "running": "working",
    "completed": "completed",
    "failed": "failed",
    "timeout": "failed",
    "cancelled": "cancelled",
}

RESTARTED = "The Jupyter server restarted while this task ran; an execute_on_kernel call does not outlive it."


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


def wire_task(record: TaskRecord) -> dict[str, Any]:
    """A task as the protocol shows it (2025-11-25 ``Task``)."""
    task: dict[str, Any] = {
        "taskId": record.task_id,
        "status": record.status,
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.updated_at),
        "ttl": record.ttl_ms,
        "pollInterval": POLL_INTERVAL_MS.get(record.kind, 1000),
    }
    if record.status_message:
        task["statusMessage"] = record.status_message
    return task


def unknown_task(task_id: Any) -> MCPError:
    return MCPError(
        INVALID_PARAMS,
        f"taskId {str(task_id)[:100]!r} is not a task of yours: no such task exists, it has expired (a task is kept "
        "for its ttl after it was made), or another identity made it. tasks/list shows your tasks.",
        data={"taskId": str(task_id)[:100]},
    )


class _ProgressSession:
    """A request's ``ServerSession`` whose progress reports go to a task's status message instead (the
    request has been answered with the task; its stream is gone)."""

    def __init__(self, session: Any, on_progress: Any) -> None:
        self._session = session
        self._on_progress = on_progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self._on_progress(progress, total, message)


class TaskService:
    """The tasks of one server: their records, the runs of ``execute_on_kernel`` tasks, status notifications.

    Parameters
    ----------
    services : Services
        The job service (an ``execute_notebook`` task's job) and the extension's traits.
    db_path : str
        The SQLite file of the task records (``tasks.sqlite`` beside the job database).
    event_logger
        The server's event bus, for the job events that change job tasks' status.
    """

    def __init__(self, services: Services, db_path: str, event_logger: Any = None) -> None:
        self.services = services
        self.db_path = db_path
        self.event_logger = event_logger
        self._store: TaskStore | None = None
        #: task_id -> the asyncio task running an execute_on_kernel call, the event set when it ends, and
        #: its record (whose status message progress reports change in memory).
        self._runs: dict[str, tuple[asyncio.Task[Any], asyncio.Event, TaskRecord]] = {}
        #: task_id -> the session that made it (told of status changes while it lasts).
        self._sessions: dict[str, Any] = {}
        #: job_id -> task_id of the job tasks not finished.
        self._job_tasks: dict[str, str] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def store(self) -> TaskStore:
        if self._store is None:
            self._store = TaskStore(self.db_path)
            self._recover()
            if self.event_logger is not None:
                self.event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=self._on_job_event)
        return self._store

    def _recover(self) -> None:
        """After a restart: an execute_on_kernel task that was running has failed; job tasks follow their job."""
        assert self._store is not None
        self._store.delete_expired()
        for record in self._store.unfinished():
            if record.kind == "kernel":
                record.status, record.status_message, record.updated_at = "failed", RESTARTED, time.time()
                record.error = {"code": INTERNAL_ERROR, "message": RESTARTED}
                self._store.save(record)
            elif record.job_id:
                self._job_tasks[record.job_id] = record.task_id

    async def close(self) -> None:
        for run, _, _ in list(self._runs.values()):
            run.cancel()
        if self._store is not None:
            if self.event_logger is not None:
                self.event_logger.remove_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=self._on_job_event)
            self._store.close()
            self._store = None

    # -- creating ---------------------------------------------------------------------------------

    def _new(self, kind: str, tool: str, reader: Reader, ttl: Any, session: Any) -> TaskRecord:
        now = time.time()
        ttl_ms = DEFAULT_TTL_MS if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0 else ttl
        record = TaskRecord(
            task_id="task_" + secrets.token_hex(12),
            kind=kind,
            tool=tool,
            owner=reader.principal,
            created_at=now,
            updated_at=now,
            ttl_ms=min(ttl_ms, MAX_TTL_MS),
        )
        if session is not None:
            self._sessions[record.task_id] = session
        return record

    async def create(self, ctx: Any, params: dict[str, Any], call_next: Any) -> dict[str, Any]:
        """Answer a ``tools/call`` with ``task``: start the call as a task and return ``CreateTaskResult``."""
        name = params.get("name")
        reader = reader_of(ctx)
        ttl = (params.get("task") or {}).get("ttl") if isinstance(params.get("task"), dict) else None
        plain = {k: v for k, v in params.items() if k != "task"}
        if name == "execute_notebook":
            record = self._new("job", name, reader, ttl, ctx.session)
            arguments = dict(plain.get("arguments") or {})
            arguments["mode"] = "async"
            result = await call_next(dataclasses.replace(ctx, params={**plain, "arguments": arguments}))
            structured = result.get("structuredContent") if isinstance(result, dict) else None
            structured = structured if isinstance(structured, dict) else {}
            job_id = structured.get("job_id")
            if result.get("isError") or not job_id:
                record.status, record.result = "failed", result
                record.status_message = _text_of(result)
            else:
                record.job_id = job_id
                record.status_message = f"Job {job_id} {structured.get('status', 'queued')}."
                self._job_tasks[job_id] = record.task_id
            self.store.save(record)
        else:
            record = self._new("kernel", str(name), reader, ttl, ctx.session)
            record.status_message = "Running."
            self.store.save(record)
            done = asyncio.Event()

            def on_progress(progress: float, total: float | None, message: str | None) -> None:
                text = message or (f"{progress:g} of {total:g}" if total else f"{progress:g}")
                record.status_message, record.updated_at = text[:500], time.time()

            inner = dataclasses.replace(ctx, params=plain, session=_ProgressSession(ctx.session, on_progress))
            run = asyncio.ensure_future(self._run(record, call_next, inner, done))
            self._runs[record.task_id] = (run, done, record)
        return {"task": wire_task(record)}

    async def _run(self, record: TaskRecord, call_next: Any, ctx: Any, done: asyncio.Event) -> None:
        try:
            result = await call_next(ctx)
            record.result = result
            record.status = "failed" if result.get("isError") else "completed"
            record.status_message = _text_of(result) if record.status == "failed" else "Done."
        except asyncio.CancelledError:
            record.status, record.status_message = "cancelled", "Cancelled: the kernel was interrupted."
        except MCPError as e:
            record.status, record.status_message = "failed", e.error.message
            record.error = e.error.model_dump(mode="json", exclude_none=True)
        except Exception as e:
            log.exception("The task %s failed unexpectedly", record.task_id)
            record.status, record.status_message = "failed", f"{type(e).__name__}: {e}"
            record.error = {"code": INTERNAL_ERROR, "message": record.status_message}
        finally:
            record.updated_at = time.time()
            self._runs.pop(record.task_id, None)
            if self._store is not None:
                self._store.save(record)
            done.set()
            await self._notify(record)

    # -- reading ----------------------------------------------------------------------------------

    async def _own(self, ctx: Any, task_id: str) -> TaskRecord:
        """The task ``task_id`` of the requesting identity, its status brought up to date."""
        record = self.store.get(task_id) if isinstance(task_id, str) else None
        if record is None or record.owner != reader_of(ctx).principal:
            raise unknown_task(task_id)
        if record.expired() and record.task_id not in self._runs:
            self.store.delete(record.task_id)
            raise unknown_task(task_id)
        if record.kind == "kernel" and record.task_id in self._runs:
            # Progress changes the record in memory only; the stored one may be older.
            live = self._live_record(record.task_id)
            if live is not None:
                return live
        if record.kind == "job" and not record.terminal and record.job_id:
            await self._follow_job(record)
        return record

    def _live_record(self, task_id: str) -> TaskRecord | None:
        run = self._runs.get(task_id)
        return run[2] if run is not None else None

    async def _follow_job(self, record: TaskRecord) -> bool:
        """Bring a job task's status to its job's; True if it changed."""
        jobs = self.services.jobs
        try:
            job = await jobs.get(record.job_id)
        except MCPExtError as e:
            status, message = "failed", str(e)
        else:
            status = JOB_TASK_STATUS.get(job.status, "working")
            progress = job.progress
            if job.status == "running" and progress.cells_total:
                current = progress.current_cell
                message = f"Cell {progress.cells_executed} of {progress.cells_total} done"
                if current is not None and current.source:
                    message += f"; running: {current.source.strip().splitlines()[0][:80]}"
            else:
                message = job.message or f"Job {job.status}."
        if (status, message) == (record.status, record.status_message):
            return False
        record.status, record.status_message, record.updated_at = status, message, time.time()
        self.store.save(record)
        if record.terminal and record.job_id:
            self._job_tasks.pop(record.job_id, None)
        return True

    async def _on_job_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        task_id = self._job_tasks.get(data.get("job_id") or "")
        record = self.store.get(task_id) if task_id else None
        if record is not None and await self._follow_job(record):
            await self._notify(record)

    async def _notify(self, record: TaskRecord) -> None:
        """``notifications/tasks/status`` to the session that made the task, while it lasts."""
        session = self._sessions.get(record.task_id)
        if session is None:
            return
        if record.terminal:
            self._sessions.pop(record.task_id, None)
        try:
            notification = TaskStatusNotification(params=TaskStatusNotificationParams.model_validate(wire_task(record)))
            await session.send_notification(notification)
        except Exception:
            log.debug("Could not send the status of task %s", record.task_id, exc_info=True)

    # -- the tasks/* methods ----------------------------------------------------------------------

    async def get(self, ctx: Any, params: GetTaskRequestParams) -> dict[str, Any]:
        return wire_task(await self._own(ctx, params.task_id))

    async def list(self, ctx: Any, params: PaginatedRequestParams) -> dict[str, Any]:
        offset = 0
        if params.cursor is not None:
            if not params.cursor.isdigit():
                raise MCPError(INVALID_PARAMS, f"cursor {params.cursor[:50]!r} is not one that tasks/list gave.")
            offset = int(params.cursor)
        owner = reader_of(ctx).principal
        records = self.store.of_owner(owner, PAGE_SIZE + 1, offset)
        tasks = []
        for record in records[:PAGE_SIZE]:
            if record.expired() and record.task_id not in self._runs:
                self.store.delete(record.task_id)
                continue
            if record.kind == "job" and not record.terminal and record.job_id:
                await self._follow_job(record)
            tasks.append(wire_task(self._live_record(record.task_id) or record))
        result: dict[str, Any] = {"tasks": tasks}
        if len(records) > PAGE_SIZE:
            result["nextCursor"] = str(offset + PAGE_SIZE)
        return result

    async def result(self, ctx: Any, params: GetTaskPayloadRequestParams) -> dict[str, Any]:
        """``tasks/result``: wait until the task ends, then answer what its ``tools/call`` would have."""
        record = await self._own(ctx, params.task_id)
        if record.kind == "kernel":
            run = self._runs.get(record.task_id)
            if run is not None:
                await run[1].wait()
            record = self.store.get(record.task_id) or record
        elif record.job_id and record.result is None:
            job = await self.services.jobs.wait(record.job_id)
            await self._follow_job(record)
            record.result = await self._job_result(job)
        if record.error is not None:
            raise MCPError(int(record.error.get("code", INTERNAL_ERROR)), str(record.error.get("message", "")))
        if record.result is None:
            raise MCPError(INTERNAL_ERROR, f"taskId {record.task_id!r}: the result is no longer available.")
        meta = dict(record.result.get("_meta") or {})
        meta[RELATED_TASK] = {"taskId": record.task_id}
        return {**record.result, "_meta": meta}

    async def _job_result(self, job: Any) -> dict[str, Any]:
        from ..tools.jobs import sync_result
        from ..tools.results import finish

        payload = sync_result(job, await self.services.jobs.recommendation(job.notebook_path))
        result = finish(payload, self.services.app.max_result_chars)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def cancel(self, ctx: Any, params: CancelTaskRequestParams) -> dict[str, Any]:
        """``tasks/cancel``: stop the job (as ``manage_async_job(operation="cancel")``) or interrupt the kernel
        (as a cancelled ``execute_on_kernel`` call does)."""
        record = await self._own(ctx, params.task_id)
        if record.terminal:
            raise MCPError(
                INVALID_PARAMS,
                f"taskId {record.task_id!r} has already ended ({record.status}); there is nothing to cancel.",
            )
        await reader_of(ctx).require("execute", "kernels", "cancelling a task")
        if record.kind == "kernel":
            run = self._runs.get(record.task_id)
            if run is not None:
                run[0].cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run[1].wait()
            record = self.store.get(record.task_id) or record
        else:
            try:
                await self.services.jobs.cancel(record.job_id)
            except MCPExtError as e:
                raise MCPError(INVALID_PARAMS, f"taskId {record.task_id!r}: {e}") from e
            await self._follow_job(record)
            if not record.terminal:
                record.status, record.status_message = "cancelled", "Cancelling the job."
                record.updated_at = time.time()
                self.store.save(record)
        return wire_task(record)


def _text_of(result: Any) -> str | None:
    content = result.get("content") if isinstance(result, dict) else None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("text", ""))[:500] or None
    return None


class TasksExtension(Extension):
    """The ``tasks/*`` methods of protocol 2025-11-25, served by ``TaskService``."""

    identifier = "io.github.jupyter-mcp-ext/tasks"

    def __init__(self, tasks: TaskService) -> None:
        self._tasks = tasks

    def settings(self) -> dict[str, Any]:
        return {"protocolVersions": [TASKS_VERSION]}

    def methods(self) -> list[MethodBinding]:
        versions = frozenset({TASKS_VERSION})
        tasks = self._tasks
        return [
            MethodBinding("tasks/get", GetTaskRequestParams, tasks.get, versions),
            MethodBinding("tasks/list", PaginatedRequestParams, tasks.list, versions),
            MethodBinding("tasks/result", GetTaskPayloadRequestParams, tasks.result, versions),
            MethodBinding("tasks/cancel", CancelTaskRequestParams, tasks.cancel, versions),
        ]


def check_task_call(name: Any, tools: set[str]) -> None:
    """Raise the JSON-RPC error of a task-augmented call of a tool that does not take tasks."""
    if name not in TASK_TOOLS or name not in tools:
        raise MCPError(
            METHOD_NOT_FOUND,
            f"Tool {str(name)[:100]!r} does not run as a task (execution.taskSupport is absent): call it without "
            f"'task'. Tools that do: {', '.join(sorted(TASK_TOOLS.keys() & tools)) or 'none on this server'}.",
        )


__all__ = [
    "CAPABILITY",
    "TASKS_VERSION",
    "TASK_TOOLS",
    "TaskService",
    "TasksExtension",
    "check_task_call",
    "wire_task",
]
