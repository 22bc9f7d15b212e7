"""The queue of notebook jobs (service layer): records, the queue, each run to its outcome, recovery.

The records live in memory and in the store; at most max_concurrent_jobs run, each through the
executor to its recorded outcome; the jobs an earlier server left are taken up again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidArgument, KernelSpecNotFound, NotANotebook, NotebookNotFound
from . import process
from .events import JobEvents
from .executor import JobExecutor
from .models import CurrentCell, Job, JobError, JobOwner, JobProgress, JobResult
from .output_writer import OUTPUT_STAGING_NAME, OutputWriter
from .store import JobStore
from .submission import JobSubmission

if TYPE_CHECKING:
    from ..notebooks.service import NotebookService


class JobQueue:
    """The jobs of one server as they run: records in memory and in the ``JobStore`` (written on
    every change), the FIFO queue (at most ``max_concurrent_jobs`` running, or what the executor's
    ``running_limit`` makes of it), one task per running job that awaits the executor's outcome and
    records it, and each running job's output writer. ``JobService`` calls it; it checks nothing
    about a job's arguments (``JobSubmission`` did).

    Parameters
    ----------
    app
        The extension app: ``max_concurrent_jobs`` is read at each use.
    submission : JobSubmission
        Builds the ``RunSpec`` of a job when it starts.
    notebooks : NotebookService
        Writes the output notebooks.
    events : JobEvents
        Emits each change of a record.
    owner : JobOwner
        This server process, recorded on the jobs it runs.
    state_dir : str
        Where the job directories are (``<state_dir>/<job_id>/``).
    """

    def __init__(
        self,
        *,
        app: Any,
        submission: JobSubmission,
        notebooks: NotebookService,
        events: JobEvents,
        owner: JobOwner,
        state_dir: str,
        log: logging.Logger,
    ) -> None:
        self.app = app
        self.submission = submission
        self.notebooks = notebooks
        self.events = events
        self.owner = owner
        self.state_dir = state_dir
        self.log = log
        self.store: JobStore | None = None
        self.executor: JobExecutor | None = None
        #: Every job's record, by job_id.
        self.jobs: dict[str, Job] = {}
        #: The queued jobs' ids, oldest first.
        self.pending: collections.deque[str] = collections.deque()
        #: The task that follows each running job to its outcome.
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._outputs: dict[str, OutputWriter] = {}
        #: Set (and replaced) at every change of a record.
        self.changed = asyncio.Event()
        #: Called with every saved record (the scheduler follows the ends of its runs).
        self.listeners: list[Callable[[Job], None]] = []
        self._open = False
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------

    def open(self, store: JobStore, executor: JobExecutor, jobs: Iterable[Job]) -> None:
        """Take the records of the store, and run the jobs through ``executor`` (already started,
        with ``on_event`` as its event sink): queued ones wait for a slot again, running ones are
        followed again."""
        self._stopping = False
        self.store = store
        self.executor = executor
        for job in jobs:
            self.jobs[job.job_id] = job
        self.events.seed(self.jobs.values())
        self._open = True
        self._recover()
        self.schedule()

    def add(self, job: Job) -> None:
        """Record a new job and queue it; it starts at once when a slot is free."""
        self.jobs[job.job_id] = job
        self.pending.append(job.job_id)
        self.save(job)
        self.schedule()

    async def close(self) -> None:
        """Stop (or leave running, per the executor's config) the running jobs; queued jobs stay
        queued in the store, which is closed. ``open`` may follow again."""
        self._stopping = True
        assert self.executor is not None
        await self.executor.stop()
        tasks = list(self.tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
        if self.store is not None:
            self.store.close()
        self.store = None
        self.jobs.clear()
        self.events.forget_all()
        self.pending.clear()
        self.tasks.clear()
        self._open = False

    def _recover(self) -> None:
        """Queued jobs are queued again; running ones are followed again by the executor."""
        for job in self.jobs.values():
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
                self.save(job)
            elif job.status == "queued":
                self.pending.append(job.job_id)
                self.save(job)
            else:
                known = {
                    **job.runner.model_dump(),
                    "started_at": job.started_at,
                    "timeout_seconds": job.timeout_seconds,
                }
                self.save(job)
                self.tasks[job.job_id] = asyncio.ensure_future(self._follow(job, self._resume(job.job_id, known)))

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

    # -- records and events ----------------------------------------------------------------

    def save(self, job: Job) -> None:
        """Store a changed record, wake the waiters, and emit its event if a watcher would see the change."""
        if self.store is not None:
            self.store.save(job)
        self.notify()
        self.events.changed(job)
        for listener in self.listeners:
            listener(job)

    def notify(self) -> None:
        """Wake whoever waits on ``changed`` (a new event takes its place)."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def on_event(self, job_id: str, event: dict[str, Any]) -> None:
        """Apply an executor event to the job's record."""
        job = self.jobs.get(job_id)
        if job is None or not job.active:
            return
        kind = event.get("event")
        if kind in ("launched", "accepted"):
            job.runner.runner_pid = event.get("runner_pid")
            job.runner.runner_start = event.get("runner_start")
        elif kind == "kernel_started":
            job.runner.kernel_pid = event.get("kernel_pid")
            job.runner.kernel_start = event.get("kernel_start")
            job.message = f"Kernel {event.get('kernel_name')} " + (
                "started ahead of the job (warm start)." if event.get("warm") else "started."
            )
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
        self.save(job)

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
            writer = OutputWriter(self.notebooks, job, staging_path, log=self.log, on_diverted=self.save)
            if register:
                self._outputs[job.job_id] = writer
        return writer

    # -- the queue -------------------------------------------------------------------------

    def _running_count(self) -> int:
        return sum(1 for job in self.jobs.values() if job.status == "running" and job.job_id in self.tasks)

    def schedule(self) -> None:
        """Start queued jobs, oldest first, while a slot is free; tell the others their place."""
        if not self._open or self._stopping:
            return
        limit = max(1, int(self.app.max_concurrent_jobs or 1))
        if self.executor is not None:
            limit = self.executor.running_limit(limit)
        while self.pending and self._running_count() < limit:
            job = self.jobs.get(self.pending.popleft())
            if job is None or job.status != "queued":
                continue
            job.status = "running"
            job.started_at = time.time()
            job.message = "Starting."
            self.save(job)
            self.tasks[job.job_id] = asyncio.ensure_future(self._follow(job, self._run(job)))
        for position, job_id in enumerate(self.pending):
            job = self.jobs[job_id]
            message = f"Queued: {position} job{'s' if position != 1 else ''} ahead, {limit} running at most."
            if job.message != message:
                job.message = message
                self.save(job)

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
            if job.job_id in self.jobs:
                self._apply_outcome(job, outcome)
                self.save(job)
        finally:
            # Only now, once the outcome is recorded: ``stop`` waits for the tasks it finds here, so
            # a job whose last output write is still in progress is recorded before the store closes.
            if self.tasks.get(job.job_id) is asyncio.current_task():
                del self.tasks[job.job_id]
        self.schedule()
