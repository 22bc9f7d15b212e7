"""The job service (service layer): the facade the MCP tools and the REST handlers call for jobs.

It also starts and stops the job machinery with the server.

It knows nothing about MCP or HTTP. A request is checked by ``submission.py``, recorded, queued and
run by ``queue.py`` through the executor (``executor.py``), its output notebook written by
``output_writer.py``."""

from __future__ import annotations

import asyncio
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
    MCPExtError,
)
from . import process
from .events import JobEvents
from .executor import JobExecutor
from .models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    Job,
    JobError,
    JobOwner,
    JobResult,
    JobStarter,
    LogPage,
)

# The staging file's name, importable from here as before it moved.
from .output_writer import OUTPUT_STAGING_NAME as OUTPUT_STAGING_NAME
from .parameters import NotebookParameters
from .queue import JobQueue
from .schedule_service import ScheduleService
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
        default_kernel_name: str = "python3",
    ) -> None:
        self.app = app
        self.default_kernel_name = default_kernel_name
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
        self.queue = JobQueue(
            app=app,
            submission=self.submission,
            notebooks=notebooks,
            events=self.events,
            owner=self.owner,
            state_dir=self.state_dir,
            log=self.log,
        )
        #: The schedules: each run is a job of this service (started and stopped with it).
        self.schedules = ScheduleService(self, log=self.log)
        self._start_lock: asyncio.Lock | None = None
        self._start_failed: tuple[float, JobsUnavailable] | None = None
        #: Job records of the database that could not be read: job_id -> why (skipped, kept on disk).
        self.unreadable: dict[str, str] = {}
        self._started = False
        #: Set while the service stops with the server: a job that leaves the records then was not deleted.
        self._stopping = False

    @property
    def store(self) -> JobStore | None:
        """The job database, while the service is started."""
        return self.queue.store

    @property
    def executor(self) -> JobExecutor | None:
        """The executor that runs the jobs, while the service is started."""
        return self.queue.executor

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
            default_kernel_name=getattr(serverapp.kernel_manager, "default_kernel_name", None) or "python3",
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, start the executor, and take over the jobs an earlier server left.

        Called with the server; a job database that cannot be opened is logged, not raised, so
        that the server and the other tools start anyway (job calls then report the error).
        """
        self._stopping = False
        try:
            await self._ensure_started()
        except JobsUnavailable as e:
            self.log.error("%s", e)

    async def _ensure_started(self) -> None:
        if self._started:
            return
        if self._stopping:
            raise JobsUnavailable("Notebook jobs are unavailable: the Jupyter server is shutting down.")
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
        try:
            store = JobStore(self.db_path)
            jobs = list(store.all())
        except (OSError, sqlite3.Error) as e:
            raise JobsUnavailable(
                f"Notebook jobs are unavailable: the job database {self.db_path!r} cannot be opened ({e}). "
                "The server's operator can set MCPExtensionApp.jobs_db_path to a writable file."
            ) from e
        for job_id, why in store.unreadable:
            self.log.warning("Skipping job record %s in %s: it cannot be read (%s)", job_id, self.db_path, why)
        self.unreadable = dict(store.unreadable)
        try:
            executor = self.executor_class(parent=self.app, state_dir=self.state_dir, on_event=self.queue.on_event)
            executor.resolve_kernelspec = self._resolve_kernelspec
            executor.default_kernel_name = self.default_kernel_name
            await executor.start()
        except Exception as e:
            self.log.exception("The job executor %s could not start", self.executor_class.__name__)
            raise JobsUnavailable(
                f"Notebook jobs are unavailable: the job executor {self.executor_class.__name__} could not start "
                f"({type(e).__name__}: {e})."
            ) from e
        self.queue.open(store, executor, jobs)
        self._started = True
        self.schedules.start(store)

    async def _resolve_kernelspec(self, name: str) -> tuple[str, dict[str, Any]]:
        """A kernelspec by name, as a job's is resolved (for kernels started ahead of jobs)."""
        return await self.submission.kernelspec(name, argument="kernel_name")

    async def stop(self) -> None:
        """Stop (or leave running, per the executor's config) the running jobs; queued jobs stay queued.
        Whoever waits for a job (``wait``) is told how the shutdown left it."""
        if not self._started:
            return
        self._stopping = True
        try:
            await self.schedules.stop()
            await self.queue.close()
        finally:
            self._started = False
            self.queue.notify()

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
        allow_undeclared_parameters: bool = False,
        started_by: JobStarter | None = None,
        schedule_id: str | None = None,
        scheduled_for: float | None = None,
    ) -> Job:
        """Validate a job and queue it; it starts at once when a slot is free. Returns its record,
        whose ``warnings`` say what the run does that the caller may not expect (parameters without
        a ``parameters`` cell to follow, or undeclared ones let through by
        ``allow_undeclared_parameters``).

        ``started_by`` records who asked for it (an MCP client and its name, the REST API, or a
        schedule: then ``schedule_id`` and ``scheduled_for``, the run's scheduled time, are recorded).

        Every argument is checked (``JobSubmission.check``, which lists what it raises) before
        anything is written or started. Also raises JobsUnavailable when the executor cannot run
        jobs now (its Dask cluster cannot be reached).
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
            allow_undeclared_parameters=allow_undeclared_parameters,
            active_jobs=self.queue.jobs.values(),
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
            schedule_id=schedule_id,
            scheduled_for=scheduled_for,
            message="Queued.",
            warnings=list(request.warnings),
        )
        self.queue.add(job)
        return job.model_copy(deep=True)

    def record_failed_start(
        self,
        notebook_path: str,
        output_path: str,
        error: MCPExtError,
        *,
        kernel_name: str,
        parameters: dict[str, Any],
        timeout_seconds: float,
        started_by: JobStarter | None = None,
        schedule_id: str | None = None,
        scheduled_for: float | None = None,
    ) -> Job:
        """Record a job that could not start (``error``: its notebook was deleted, its kernel
        uninstalled...) as failed with reason ``bad_input``, so that a run nobody asked for at that
        moment (a schedule's) is listed and reported like any failed job. Returns its record."""
        now = time.time()
        message = str(error)
        job = Job(
            job_id="job_" + secrets.token_hex(6),
            notebook_path=notebook_path,
            output_path=output_path,
            status="failed",
            created_at=now,
            completed_at=now,
            parameters=parameters,
            kernel_name=kernel_name,
            timeout_seconds=timeout_seconds,
            working_dir=posixpath.dirname(notebook_path),
            result=JobResult(error=JobError(type=type(error).__name__, message=message, reason="bad_input")),
            message=message,
            owner=self.owner,
            started_by=started_by,
            schedule_id=schedule_id,
            scheduled_for=scheduled_for,
        )
        self.queue.jobs[job.job_id] = job
        self.queue.save(job)
        return job.model_copy(deep=True)

    def _job(self, job_id: Any) -> Job:
        if not isinstance(job_id, str) or not job_id:
            raise InvalidArgument("job_id is required: the id execute_notebook returned, e.g. 'job_1a2b3c4d5e6f'.")
        job = self.queue.jobs.get(job_id)
        if job is None and job_id in self.unreadable:
            raise JobNotFound(
                f"job_id {job_id!r} has a record in the job database that cannot be read "
                f"({self.unreadable[job_id]}): it was written by another version or edited by hand, and is skipped."
            )
        if job is None:
            recent = ", ".join(j.job_id for j in sorted(self.queue.jobs.values(), key=lambda j: -j.created_at)[:5])
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
        jobs = sorted(self.queue.jobs.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        return [j.model_copy(deep=True) for j in jobs if status is None or j.status == status]

    async def counts(self) -> dict[str, Any]:
        """Jobs per status, and their total (for the server's status endpoint, which must not fail:
        when jobs are unavailable the counts are 0 and ``unavailable`` says why)."""
        counts: dict[str, Any] = dict.fromkeys((*ACTIVE_STATUSES, *FINISHED_STATUSES), 0)
        try:
            await self._ensure_started()
        except JobsUnavailable as e:
            return {**counts, "total": 0, "unavailable": str(e)}
        for job in self.queue.jobs.values():
            counts[job.status] += 1
        counts["total"] = len(self.queue.jobs)
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
                self.queue.pending.remove(job_id)
            job.cancel_requested_at = job.completed_at = time.time()
            job.status = "cancelled"
            job.result = JobResult(note="Cancelled while queued; it never started.")
            job.message = "Cancelled while queued."
            self.queue.save(job)
            self.queue.schedule()
            return job.model_copy(deep=True)
        if job.status != "running":
            raise Conflict(
                f"job {job_id} has already ended ({job.status}); there is nothing to cancel. Its record stays "
                "until deleted."
            )
        task = self.queue.tasks.get(job_id)
        if task is None:
            owner = job.owner.pid if job.owner else "unknown"
            raise Conflict(f"job {job_id} is run by another Jupyter server process (pid {owner}); cancel it there.")
        job.cancel_requested_at = time.time()
        job.message = "Cancelling."
        self.queue.save(job)
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
        del self.queue.jobs[job_id]
        assert self.store is not None and self.executor is not None
        self.store.delete(job_id)
        await self.executor.discard(job_id)
        self.queue.notify()
        self.events.deleted(job)

    async def rerun(self, job_id: str, *, started_by: JobStarter | None = None) -> Job:
        """Start a new job of a finished job's notebook, with its parameters, kernel, output path,
        timeout, working directory and environment overrides. Returns the new job's record.

        The parameters are the ones that job ran with, asked for again: names its notebook does not
        declare (now) go through, and the new job's ``warnings`` name them.

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
            allow_undeclared_parameters=True,
            started_by=started_by,
        )

    async def notebook_parameters(self, notebook_path: str) -> NotebookParameters:
        """What a job of this notebook would run with by default (``JobSubmission.notebook_parameters``).
        Raises NotebookNotFound, NotANotebook, PathError."""
        return await self.submission.notebook_parameters(notebook_path)

    async def wait(self, job_id: str, on_change: ChangeCallback | None = None, heartbeat: float = 5.0) -> Job:
        """Wait until the job ends; call ``on_change(job)`` after each change (and every ``heartbeat`` s).

        When the server shuts down meanwhile: the job's last record if the shutdown ended it (stopped, with
        reason ``server_shutdown``); else raises JobsUnavailable saying what becomes of it (queued, or left
        running for the next server start).
        """
        await self._ensure_started()
        last: list[Job] = []

        def seen(job: Job) -> None:
            if job.job_id == job_id:
                last[:] = [job.model_copy(deep=True)]

        self.queue.listeners.append(seen)
        try:
            while True:
                if job_id not in self.queue.jobs and (self._stopping or not self._started):
                    return self._left_by_shutdown(job_id, last[0] if last else None)
                job = self._job(job_id)
                if not job.active:
                    return job.model_copy(deep=True)
                changed = self.queue.changed
                if on_change is not None:
                    await on_change(job.model_copy(deep=True))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), heartbeat)
        finally:
            self.queue.listeners.remove(seen)

    @staticmethod
    def _left_by_shutdown(job_id: str, job: Job | None) -> Job:
        """What ``wait`` answers for a job whose record the server's shutdown closed: the record, if it ended."""
        if job is not None and not job.active:
            return job
        if job is not None and job.status == "running":
            fate = (
                "it goes on running (the server's executor leaves jobs running when it stops), and the next server "
                "start follows it and records its result"
            )
        else:
            fate = "it stays queued and runs when the server starts again"
        raise JobsUnavailable(
            f"The Jupyter server is shutting down: job {job_id} was not waited for to the end; {fate}. Once the "
            f"server is back, manage_async_job(operation='status', job_id={job_id!r}) says how it ended."
        )

    async def recommendation(self, notebook_path: str) -> dict[str, Any]:
        """Sync or async for this notebook, from the run times of its latest completed jobs.

        Under 5 minutes sync is fine; 5-10 minutes sync works but async is safer; over 10
        minutes use async. Without history there is no estimate.
        """
        if self._stopping:
            return {
                "should_use_async": False,
                "reason": "The server is shutting down: no duration estimate.",
                "estimated_duration_minutes": None,
                "based_on_runs": 0,
            }
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
