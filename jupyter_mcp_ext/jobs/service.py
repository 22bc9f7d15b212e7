"""The job service: validates, records, queues, runs (through the executor), cancels and lists
notebook jobs. It knows nothing about MCP or HTTP: tools and REST handlers both call it."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import posixpath
import secrets
import sqlite3
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    Conflict,
    InvalidArgument,
    JobNotFound,
    JobsUnavailable,
    KernelSpecNotFound,
    NotANotebook,
    NotebookNotFound,
)
from . import process
from .events import JobEvents
from .executor import JobExecutor
from .models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    CurrentCell,
    Job,
    JobError,
    JobOwner,
    JobProgress,
    JobResult,
    JobStarter,
    LogPage,
)
from .output_writer import OUTPUT_STAGING_NAME, OutputWriter
from .parameters import NotebookParameters
from .store import JobStore
from .submission import JobSubmission

if TYPE_CHECKING:
    from ..notebooks.service import NotebookService

#: Most log lines returned by one ``logs`` call.
MAX_LOG_PAGE = 1000
#: Completed runs of a notebook that its duration estimate looks at.
HISTORY_SIZE = 10

ChangeCallback = Callable[[Job], Awaitable[None]]

#: Seconds during which a failed start of the job service (its database cannot be opened) is
#: reported again as it was, before the next call tries again.
START_RETRY_SECONDS = 30.0


class JobService:
    """Notebook jobs of one Jupyter server.

    Jobs run through a ``JobExecutor`` (one Papermill process per job by default); at most
    ``max_concurrent_jobs`` run at once and the others wait as "queued", oldest first. Records
    live in SQLite (``jobs_db_path``), written on every change, so that after a restart past jobs
    are listed as before, queued ones run, and running ones are followed again (or marked failed
    with the reason when their runner is gone).

    Parameters
    ----------
    app
        The extension app: its traits ``max_concurrent_jobs``, ``job_timeout``,
        ``output_directory``, ``jupyter_timeout`` are read at each use.
    notebooks : NotebookService
        For reading and confining notebook paths.
    contents_manager, kernel_spec_manager
        The server's managers; jobs need a ContentsManager with a ``root_dir`` on disk.
    db_path : str
        The SQLite file; job directories go to ``<its directory>/jobs/``.
    executor_class : type[JobExecutor]
        Instantiated with ``parent=app`` so that ``c.ProcessJobExecutor.*`` config applies.
    event_logger : jupyter_events.EventLogger, optional
        The server's ``event_logger``: every change of a job's status, progress or message is
        emitted on it (``jobs/events.py``); None emits nothing.
    """

    def __init__(
        self,
        *,
        app: Any,
        notebooks: NotebookService,
        contents_manager: Any,
        kernel_spec_manager: Any,
        db_path: str,
        executor_class: type[JobExecutor],
        log: logging.Logger | None = None,
        event_logger: Any = None,
    ) -> None:
        self.app = app
        self.notebooks = notebooks
        self.contents_manager = contents_manager
        self.kernel_spec_manager = kernel_spec_manager
        self.db_path = db_path
        self.state_dir = os.path.join(os.path.dirname(os.path.abspath(db_path)), "jobs")
        self.executor_class = executor_class
        self.submission = JobSubmission(
            app=app, notebooks=notebooks, contents_manager=contents_manager, kernel_spec_manager=kernel_spec_manager
        )
        self.log = log or logging.getLogger(__name__)
        self.events = JobEvents(event_logger, self.log)
        self.owner = JobOwner(pid=os.getpid(), start=process.start_time(os.getpid()), instance=uuid.uuid4().hex)
        self.store: JobStore | None = None
        self.executor: JobExecutor | None = None
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._outputs: dict[str, OutputWriter] = {}
        self._changed = asyncio.Event()
        self._start_lock: asyncio.Lock | None = None
        self._start_failed: tuple[float, JobsUnavailable] | None = None
        #: Job records of the database that could not be read: job_id -> why (skipped, kept on disk).
        self.unreadable: dict[str, str] = {}
        self._started = False
        self._stopping = False

    @classmethod
    def from_app(cls, app: Any, services: Any) -> JobService:
        """Build the service from the extension app's traits and the server's managers."""
        serverapp = app.serverapp
        return cls(
            app=app,
            notebooks=services.notebooks,
            contents_manager=serverapp.contents_manager,
            kernel_spec_manager=serverapp.kernel_spec_manager,
            db_path=app.jobs_db_path,
            executor_class=app.job_executor_class,
            log=app.log,
            event_logger=getattr(serverapp, "event_logger", None),
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, start the executor, and take over the jobs an earlier server left.

        Called with the server; a job database that cannot be opened is logged, not raised, so
        that the server and the other tools start anyway (job calls then report the error).
        """
        try:
            await self._ensure_started()
        except JobsUnavailable as e:
            self.log.error("%s", e)

    async def _ensure_started(self) -> None:
        if self._started:
            return
        failed = self._start_failed
        if failed is not None and time.monotonic() - failed[0] < START_RETRY_SECONDS:
            raise failed[1]  # the same answer, without opening the database again on every call
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            try:
                await self._start_once()
            except JobsUnavailable as e:
                self._start_failed = (time.monotonic(), e)
                raise
            self._start_failed = None

    async def _start_once(self) -> None:
        self._stopping = False
        try:
            self.store = JobStore(self.db_path)
            jobs = list(self.store.all())
        except (OSError, sqlite3.Error) as e:
            self.store = None
            raise JobsUnavailable(
                f"Notebook jobs are unavailable: the job database {self.db_path!r} cannot be opened ({e}). "
                "The server's operator can set MCPExtensionApp.jobs_db_path to a writable file."
            ) from e
        for job_id, why in self.store.unreadable:
            self.log.warning("Skipping job record %s in %s: it cannot be read (%s)", job_id, self.db_path, why)
        self.unreadable = dict(self.store.unreadable)
        try:
            self.executor = self.executor_class(parent=self.app, state_dir=self.state_dir, on_event=self._on_event)
            await self.executor.start()
        except Exception as e:
            self.log.exception("The job executor %s could not start", self.executor_class.__name__)
            raise JobsUnavailable(
                f"Notebook jobs are unavailable: the job executor {self.executor_class.__name__} could not start "
                f"({type(e).__name__}: {e})."
            ) from e
        for job in jobs:
            self._jobs[job.job_id] = job
        self.events.seed(self._jobs.values())
        self._started = True
        self._recover()
        self._schedule()

    def _recover(self) -> None:
        """Queued jobs are queued again; running ones are followed again by the executor."""
        for job in self._jobs.values():
            if not job.active or self._owned_elsewhere(job):
                continue
            job.owner = self.owner
            if job.status == "queued" and job.env_override_names and not job.env_overrides:
                names = ", ".join(job.env_override_names)
                job.status, job.completed_at = "failed", time.time()
                job.result = JobResult(
                    error=JobError(
                        type="ServerRestarted",
                        reason="server_shutdown",
                        message=f"The server restarted before this queued job started, and the values of its "
                        f"env_overrides ({names}) are never stored on disk: submit the job again.",
                    )
                )
                job.message = job.result.error.message  # type: ignore[union-attr]
                self._save(job)
            elif job.status == "queued":
                self._queue.append(job.job_id)
                self._save(job)
            else:
                known = {
                    **job.runner.model_dump(),
                    "started_at": job.started_at,
                    "timeout_seconds": job.timeout_seconds,
                }
                self._save(job)
                self._tasks[job.job_id] = asyncio.ensure_future(self._follow(job, self._resume(job.job_id, known)))

    async def _resume(self, job_id: str, known: dict[str, Any]) -> dict[str, Any] | None:
        assert self.executor is not None
        return await self.executor.resume(job_id, known)

    def _owned_elsewhere(self, job: Job) -> bool:
        """Whether another live server process manages this job (two servers may share a database)."""
        owner = job.owner
        if owner is None or owner.instance == self.owner.instance:
            return False
        if owner.pid == os.getpid():
            return False  # an earlier server of this same process, now stopped
        return process.is_alive(owner.pid, owner.start)

    async def stop(self) -> None:
        """Stop (or leave running, per the executor's config) the running jobs; queued jobs stay queued."""
        if not self._started:
            return
        self._stopping = True
        assert self.executor is not None
        await self.executor.stop()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
        if self.store is not None:
            self.store.close()
        self.store = None
        self._jobs.clear()
        self.events.forget_all()
        self._queue.clear()
        self._tasks.clear()
        self._started = False

    # -- records and events ----------------------------------------------------------------

    def _save(self, job: Job) -> None:
        """Store a changed record, wake the waiters, and emit its event if a watcher would see the change."""
        if self.store is not None:
            self.store.save(job)
        self._notify()
        self.events.changed(job)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _on_event(self, job_id: str, event: dict[str, Any]) -> None:
        """Apply an executor event to the job's record."""
        job = self._jobs.get(job_id)
        if job is None or not job.active:
            return
        kind = event.get("event")
        if kind in ("launched", "accepted"):
            job.runner.runner_pid = event.get("runner_pid")
            job.runner.runner_start = event.get("runner_start")
        elif kind == "kernel_started":
            job.runner.kernel_pid = event.get("kernel_pid")
            job.runner.kernel_start = event.get("kernel_start")
            job.message = f"Kernel {event.get('kernel_name')} started."
        elif kind == "progress":
            current = event.get("current_cell")
            job.progress = JobProgress(
                cells_total=event.get("cells_total", 0),
                cells_executed=event.get("cells_executed", 0),
                current_cell=CurrentCell(**current) if current else None,
            )
            if current:
                where = "the injected-parameters cell" if current.get("index") is None else f"cell {current['index']}"
                job.message = f"Running {where} ({job.progress.cells_executed + 1}/{job.progress.cells_total})."
        elif kind == "output_saved":
            self._output_writer(job).saved()
            return
        elif kind == "stopping":
            job.message = {
                "cancel": "Cancelling.",
                "timeout": "Timed out; stopping.",
                "server_shutdown": "Stopping: the server is shutting down.",
            }.get(event.get("reason", ""), "Stopping.")
        else:
            return
        self._save(job)

    def _apply_outcome(self, job: Job, outcome: dict[str, Any]) -> None:
        job.status = outcome["status"]
        # The runner's own end time, which its log line's duration uses too (the same clock here).
        ended = outcome.get("completed_at")
        now = time.time()
        job.completed_at = (
            ended if isinstance(ended, float) and job.started_at and job.started_at <= ended <= now else now
        )
        if "cells_total" in outcome:
            job.progress = JobProgress(
                cells_total=outcome.get("cells_total", 0), cells_executed=outcome.get("cells_executed", 0)
            )
        else:
            job.progress = JobProgress(cells_total=job.progress.cells_total, cells_executed=job.progress.cells_executed)
        error = outcome.get("error")
        job.result = JobResult(
            cells_succeeded=outcome.get("cells_succeeded", 0),
            cells_failed=outcome.get("cells_failed", 0),
            error=JobError(**error) if error else None,
            note=outcome.get("note"),
        )
        if job.status == "completed":
            job.message = f"Completed in {job.execution_time or 0:.1f} s." + (
                f" {job.result.note}" if job.result.note else ""
            )
        elif job.status == "cancelled":
            job.message = outcome.get("note") or "Cancelled."
        else:
            job.message = error["message"] if error else job.status.capitalize() + "."

    # -- output notebooks ------------------------------------------------------------------

    def _staging_path(self, job_id: str) -> str:
        """Where the executor writes a job's output notebook before the server writes it under the root."""
        job_dir = os.path.join(self.state_dir, job_id)
        os.makedirs(job_dir, mode=0o700, exist_ok=True)
        return os.path.join(job_dir, OUTPUT_STAGING_NAME)

    def _output_writer(self, job: Job, *, register: bool = True) -> OutputWriter:
        writer = self._outputs.get(job.job_id)
        if writer is None:
            staging_path = os.path.join(self.state_dir, job.job_id, OUTPUT_STAGING_NAME)
            writer = OutputWriter(self.notebooks, job, staging_path, log=self.log, on_diverted=self._save)
            if register:
                self._outputs[job.job_id] = writer
        return writer

    # -- the queue -------------------------------------------------------------------------

    def _running_count(self) -> int:
        return sum(1 for job in self._jobs.values() if job.status == "running" and job.job_id in self._tasks)

    def _schedule(self) -> None:
        if not self._started or self._stopping:
            return
        limit = max(1, int(self.app.max_concurrent_jobs or 1))
        if self.executor is not None:
            limit = self.executor.running_limit(limit)
        while self._queue and self._running_count() < limit:
            job = self._jobs.get(self._queue.popleft())
            if job is None or job.status != "queued":
                continue
            job.status = "running"
            job.started_at = time.time()
            job.message = "Starting."
            self._save(job)
            self._tasks[job.job_id] = asyncio.ensure_future(self._follow(job, self._run(job)))
        for position, job_id in enumerate(self._queue):
            job = self._jobs[job_id]
            message = f"Queued: {position} job{'s' if position != 1 else ''} ahead, {limit} running at most."
            if job.message != message:
                job.message = message
                self._save(job)

    async def _run(self, job: Job) -> dict[str, Any] | None:
        assert self.executor is not None
        try:
            spec = await self.submission.run_spec(job, self._staging_path(job.job_id))
        except (KernelSpecNotFound, NotebookNotFound, NotANotebook, InvalidArgument) as e:
            return {"status": "failed", "error": {"type": type(e).__name__, "message": str(e), "reason": "bad_input"}}
        if job.cancel_requested_at is not None:  # cancelled before the executor had it
            return {"status": "cancelled", "error": None, "note": "Cancelled before it started."}
        return await self.executor.run(spec)

    async def _follow(self, job: Job, outcome_coro: Awaitable[dict[str, Any] | None]) -> None:
        """Await a job's end (run or resumed), record its outcome, start the next queued job."""
        try:
            try:
                outcome = await outcome_coro
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.log.exception("Notebook job %s failed in the server", job.job_id)
                outcome = {
                    "status": "failed",
                    "error": {
                        "type": type(e).__name__,
                        "message": f"The server failed to run the job: {e}",
                        "reason": "internal_error",
                    },
                }
            if outcome is None:  # left running at shutdown; the next server follows it again
                self._outputs.pop(job.job_id, None)
                return
            writer = self._outputs.pop(job.job_id, None) or self._output_writer(job, register=False)
            note = await writer.finish()
            if note:
                outcome = {**outcome, "note": " ".join(filter(None, [outcome.get("note"), note]))}
            if job.job_id in self._jobs:
                self._apply_outcome(job, outcome)
                self._save(job)
        finally:
            # Only now, once the outcome is recorded: ``stop`` waits for the tasks it finds here, so
            # a job whose last output write is still in progress is recorded before the store closes.
            if self._tasks.get(job.job_id) is asyncio.current_task():
                del self._tasks[job.job_id]
        self._schedule()

    # -- operations ------------------------------------------------------------------------

    async def submit(
        self,
        notebook_path: str,
        *,
        output_path: str | None = None,
        parameters: dict[str, Any] | None = None,
        kernel_name: str | None = None,
        timeout_seconds: float | None = None,
        working_dir_override: str | None = None,
        env_overrides: dict[str, str] | None = None,
        started_by: JobStarter | None = None,
    ) -> Job:
        """Validate a job and queue it; it starts at once when a slot is free. Returns its record.

        ``started_by`` records who asked for it (an MCP client and its name, or the REST API).

        Every argument is checked before anything is written or started. Raises
        NotebookNotFound / NotANotebook (notebook_path), KernelSpecNotFound (listing the installed
        kernelspecs), PathError (a path outside the root), InvalidArgument (parameters that cannot
        be serialized, output_path equal to the input, a negative timeout, bad env_overrides),
        Conflict (another active job writes the same output_path) or JobsUnavailable (the executor
        cannot run jobs now: its Dask cluster cannot be reached).
        """
        await self._ensure_started()
        request = await self.submission.check(
            notebook_path,
            output_path=output_path,
            parameters=parameters,
            kernel_name=kernel_name,
            timeout_seconds=timeout_seconds,
            working_dir_override=working_dir_override,
            env_overrides=env_overrides,
            active_jobs=self._jobs.values(),
        )
        assert self.executor is not None
        await self.executor.ensure_ready()
        self.submission.ensure_output_dir(request.output_path)
        job = Job(
            job_id="job_" + secrets.token_hex(6),
            notebook_path=request.notebook_path,
            output_path=request.output_path,
            created_at=time.time(),
            parameters=request.parameters,
            kernel_name=request.kernel_name,
            timeout_seconds=request.timeout_seconds,
            working_dir=request.working_dir,
            env_overrides=request.env_overrides,
            env_override_names=sorted(request.env_overrides),
            owner=self.owner,
            started_by=started_by,
            message="Queued.",
        )
        self._jobs[job.job_id] = job
        self._queue.append(job.job_id)
        self._save(job)
        self._schedule()
        return job.model_copy(deep=True)

    def _job(self, job_id: Any) -> Job:
        if not isinstance(job_id, str) or not job_id:
            raise InvalidArgument("job_id is required: the id execute_notebook returned, e.g. 'job_1a2b3c4d5e6f'.")
        job = self._jobs.get(job_id)
        if job is None and job_id in self.unreadable:
            raise JobNotFound(
                f"job_id {job_id!r} has a record in the job database that cannot be read "
                f"({self.unreadable[job_id]}): it was written by another version or edited by hand, and is skipped."
            )
        if job is None:
            recent = ", ".join(j.job_id for j in sorted(self._jobs.values(), key=lambda j: -j.created_at)[:5])
            raise JobNotFound(
                f"job_id {job_id!r} is not a known job"
                + (f"; the most recent are: {recent}." if recent else "; there are no jobs yet.")
                + " manage_async_job(operation='list') lists them all."
            )
        return job

    async def get(self, job_id: str) -> Job:
        """The job's record (a copy). Raises JobNotFound."""
        await self._ensure_started()
        return self._job(job_id).model_copy(deep=True)

    async def list(self, status: str | None = None) -> list[Job]:
        """All jobs, newest first (optionally only those with ``status``)."""
        await self._ensure_started()
        if status is not None and status not in (*ACTIVE_STATUSES, *FINISHED_STATUSES):
            raise InvalidArgument(
                f"status {status!r} is not a job status; use one of: {', '.join((*ACTIVE_STATUSES, *FINISHED_STATUSES))}."
            )
        jobs = sorted(self._jobs.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        return [j.model_copy(deep=True) for j in jobs if status is None or j.status == status]

    async def counts(self) -> dict[str, Any]:
        """Jobs per status, and their total (for the server's status endpoint, which must not fail:
        when jobs are unavailable the counts are 0 and ``unavailable`` says why)."""
        counts: dict[str, Any] = dict.fromkeys((*ACTIVE_STATUSES, *FINISHED_STATUSES), 0)
        try:
            await self._ensure_started()
        except JobsUnavailable as e:
            return {**counts, "total": 0, "unavailable": str(e)}
        for job in self._jobs.values():
            counts[job.status] += 1
        counts["total"] = len(self._jobs)
        if self.unreadable:
            counts["unreadable_records"] = len(self.unreadable)
        return counts

    async def executor_status(self) -> dict[str, Any]:
        """What runs the jobs (the executor's ``describe()``), for system_info and the status endpoint."""
        try:
            await self._ensure_started()
        except JobsUnavailable as e:
            return {"executor": None, "unavailable": str(e)}
        assert self.executor is not None
        return self.executor.describe()

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; returns its record once it has stopped (within ~10 s).

        A running job's kernel is interrupted, then killed if needed; its partial output notebook
        is kept. Raises JobNotFound, or Conflict if the job has already ended or is run by
        another server process.
        """
        await self._ensure_started()
        job = self._job(job_id)
        if job.status == "queued":
            with contextlib.suppress(ValueError):
                self._queue.remove(job_id)
            job.cancel_requested_at = job.completed_at = time.time()
            job.status = "cancelled"
            job.result = JobResult(note="Cancelled while queued; it never started.")
            job.message = "Cancelled while queued."
            self._save(job)
            self._schedule()
            return job.model_copy(deep=True)
        if job.status != "running":
            raise Conflict(
                f"job {job_id} has already ended ({job.status}); there is nothing to cancel. Its record stays "
                "until deleted."
            )
        task = self._tasks.get(job_id)
        if task is None:
            owner = job.owner.pid if job.owner else "unknown"
            raise Conflict(f"job {job_id} is run by another Jupyter server process (pid {owner}); cancel it there.")
        job.cancel_requested_at = time.time()
        job.message = "Cancelling."
        self._save(job)
        assert self.executor is not None
        await self.executor.stop_job(job_id, "cancel")
        await asyncio.wait({task}, timeout=5)
        return job.model_copy(deep=True)

    async def logs(self, job_id: str, since_line: int = 0, limit: int = MAX_LOG_PAGE) -> LogPage:
        """The job's log lines after ``since_line`` (1-based line numbers; 0 starts at the top).

        Available while the job runs. At most ``limit`` lines (``MAX_LOG_PAGE`` at most);
        ``has_more`` says whether more lines exist now; ask again with ``next_since_line``.
        """
        await self._ensure_started()
        job = self._job(job_id)
        if isinstance(since_line, bool) or not isinstance(since_line, int) or since_line < 0:
            raise InvalidArgument(
                f"since_line must be an integer >= 0 (the last line number you have), got {since_line!r}."
            )
        limit = max(1, min(int(limit), MAX_LOG_PAGE))
        assert self.executor is not None
        lines, total = await self.executor.read_logs(job_id, since_line, limit)
        return LogPage(
            job_id=job_id,
            status=job.status,
            logs=lines,
            since_line=since_line,
            next_since_line=since_line + len(lines),
            total_lines=total,
            has_more=since_line + len(lines) < total,
        )

    async def delete(self, job_id: str) -> None:
        """Delete a finished job's record and log (the output notebook stays). Raises Conflict if active."""
        await self._ensure_started()
        job = self._job(job_id)
        if job.active:
            raise Conflict(f"job {job_id} is {job.status}; cancel it first, then delete its record.")
        del self._jobs[job_id]
        assert self.store is not None and self.executor is not None
        self.store.delete(job_id)
        await self.executor.discard(job_id)
        self._notify()
        self.events.deleted(job)

    async def rerun(self, job_id: str, *, started_by: JobStarter | None = None) -> Job:
        """Start a new job of a finished job's notebook, with its parameters, kernel, output path,
        timeout, working directory and environment overrides. Returns the new job's record.

        Raises JobNotFound, Conflict while the job is still active, and whatever ``submit`` raises
        when the notebook or the kernel has changed since (e.g. NotebookNotFound).
        """
        await self._ensure_started()
        job = self._job(job_id)
        if job.active:
            raise Conflict(f"job {job_id} is still {job.status}; wait for it to end, or cancel it, then rerun it.")
        default_dir = posixpath.dirname(job.notebook_path)
        return await self.submit(
            job.notebook_path,
            output_path=job.output_path,
            parameters=job.parameters,
            kernel_name=job.kernel_name,
            timeout_seconds=job.timeout_seconds,
            working_dir_override=None if job.working_dir == default_dir else job.working_dir,
            env_overrides=job.env_overrides,
            started_by=started_by,
        )

    async def notebook_parameters(self, notebook_path: str) -> NotebookParameters:
        """What a job of this notebook would run with by default (``JobSubmission.notebook_parameters``).
        Raises NotebookNotFound, NotANotebook, PathError."""
        return await self.submission.notebook_parameters(notebook_path)

    async def wait(self, job_id: str, on_change: ChangeCallback | None = None, heartbeat: float = 5.0) -> Job:
        """Wait until the job ends; call ``on_change(job)`` after each change (and every ``heartbeat`` s)."""
        await self._ensure_started()
        while True:
            job = self._job(job_id)
            if not job.active:
                return job.model_copy(deep=True)
            changed = self._changed
            if on_change is not None:
                await on_change(job.model_copy(deep=True))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), heartbeat)

    async def recommendation(self, notebook_path: str) -> dict[str, Any]:
        """Sync or async for this notebook, from the run times of its latest completed jobs.

        Under 5 minutes sync is fine; 5-10 minutes sync works but async is safer; over 10
        minutes use async. Without history there is no estimate.
        """
        await self._ensure_started()
        assert self.store is not None
        durations = self.store.durations(notebook_path, HISTORY_SIZE)
        if not durations:
            return {
                "should_use_async": False,
                "reason": "No completed run of this notebook yet, so no duration estimate; use mode='async' if "
                "you expect it to run for more than a few minutes.",
                "estimated_duration_minutes": None,
                "based_on_runs": 0,
            }
        estimate = statistics.median(durations) / 60.0
        runs = f"the median of its last {len(durations)} completed run{'s' if len(durations) != 1 else ''}"
        if estimate < 5:
            advice, use_async = f"{estimate:.1f} min ({runs}): sync is fine.", False
        elif estimate <= 10:
            advice, use_async = (
                f"{estimate:.1f} min ({runs}): sync works, but async with manage_async_job is safer against "
                "client timeouts.",
                False,
            )
        else:
            advice, use_async = f"{estimate:.1f} min ({runs}): use mode='async' and poll manage_async_job.", True
        return {
            "should_use_async": use_async,
            "reason": f"Estimated duration {advice}",
            "estimated_duration_minutes": round(estimate, 2),
            "based_on_runs": len(durations),
        }
