"""The job executor interface and the bookkeeping both executors share (service layer).

An executor runs notebook jobs and reports their events and outcomes. The default,
``ProcessJobExecutor`` (``process_executor.py``), runs each job in its own process on this machine;
``DaskJobExecutor`` (``dask/``) runs it on a Dask cluster. The ``JobService`` owns job records, the
queue and the statuses; an executor only runs one job at a time per ``run`` call and reports what
happens through ``on_event(job_id, event)``. Another backend (a batch system, a container per job)
replaces ``ProcessJobExecutor`` through ``MCPExtensionApp.job_executor_class`` by implementing the
``JobExecutor`` methods.

Events (dicts with ``"event"`` and ``"t"``, seconds since the epoch): ``launched``
(``runner_pid``, ``runner_start``), ``accepted``, ``kernel_started`` (``kernel_pid``,
``kernel_start``, ``kernel_name``, ``warm``: whether it was started ahead of the job), ``kernel_ready``
(the kernel answered, and a warm one was moved to the job's directory), ``progress`` (``cells_total``, ``cells_executed``,
``cells_succeeded``, ``cells_failed``, ``current_cell``), ``output_saved`` (``path``: the
output notebook was saved whole at ``RunSpec.output_staging_path``; the job service then writes it
under the server root through the ContentsManager), ``stopping`` (``reason``) and ``finished``
(the outcome). An outcome is a dict: ``status`` (completed / failed / timeout /
cancelled), ``error`` (a ``JobError`` dict or None), ``note``, and the four cell counts;
``outcomes.py`` builds the failed and stopped ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from traitlets.config import LoggingConfigurable

from . import files
from .models import RunSpec

if TYPE_CHECKING:
    from .process_executor import ProcessJobExecutor

__all__ = ["STOP_KILL_AFTER", "ActiveJob", "EventSink", "JobExecutor", "ProcessJobExecutor"]

EventSink = Callable[[str, dict[str, Any]], None]

#: Seconds a cancel may take before the runner and the kernel are killed outright (the
#: runner itself interrupts, then kills, the kernel after ``job_run.STOP_GRACE_SECONDS``).
STOP_KILL_AFTER = 8.0
#: Seconds past a job's timeout after which the executor stops the job itself, in case its runner
#: (which enforces the timeout) is stuck.
TIMEOUT_BACKSTOP_SECONDS = STOP_KILL_AFTER + 5


@dataclass
class ActiveJob:
    """What an executor follows of one running job (each executor adds what it needs)."""

    job_id: str
    timeout_seconds: float = 0.0
    started_at: float = field(default_factory=time.time)
    #: Why the job is being stopped (``cancel`` / ``timeout`` / ``server_shutdown``), once asked.
    stop_reason: str | None = None
    #: The server stopped following it and left it running (the next server resumes it).
    detached: bool = False
    #: The timeout backstop has asked it to stop (once).
    timeout_stop_sent: bool = False
    #: Set when ``run`` or ``resume`` has its outcome (or gave up on the job).
    done: asyncio.Event = field(default_factory=asyncio.Event)


ActiveT = TypeVar("ActiveT", bound=ActiveJob)


class JobExecutor(LoggingConfigurable, Generic[ActiveT]):
    """Base class of job executors (the ``MCPExtensionApp.job_executor_class`` trait).

    Besides the interface the ``JobService`` calls, it holds the bookkeeping both executors share,
    for the jobs they follow (``ActiveT``, an ``ActiveJob``): registering a job while ``run`` or
    ``resume`` follows it (``_following``), ``stop_job`` (an executor's ``_request_stop`` and
    ``_escalate`` do the asking and the forcing), the backstop of a stuck job's timeout, background
    tasks, and each job's directory (``<state_dir>/<job_id>/``) and log (``files.LOG`` in it).

    Parameters
    ----------
    state_dir : str
        A directory the executor may use for its files (one sub-directory per job).
    on_event : callable
        ``on_event(job_id, event)``, called on the server's event loop for every event.
    """

    #: Set by the job service before ``start``, for executors that start kernels ahead of jobs:
    #: ``await resolve_kernelspec(name)`` gives ``(name, kernelspec dict)`` as a job's is resolved
    #: (raises KernelSpecNotFound), and the server's default kernelspec name.
    resolve_kernelspec: Callable[[str], Awaitable[tuple[str, dict[str, Any]]]] | None = None
    default_kernel_name: str = "python3"

    def __init__(self, *, state_dir: str, on_event: EventSink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_dir = state_dir
        self.on_event = on_event
        self._active: dict[str, ActiveT] = {}
        self._logs: dict[str, files.LogIndex] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Prepare to run jobs (called once, when the job service starts)."""

    async def stop(self) -> None:
        """Called when the server stops: end (or leave running) the jobs; ``run``/``resume`` return."""

    async def run(self, spec: RunSpec) -> dict[str, Any] | None:
        """Run one job to its end and return its outcome, or None if the server stopped following it
        (the job keeps running and ``resume`` finds it after the restart)."""
        raise NotImplementedError

    async def resume(self, job_id: str, known: dict[str, Any]) -> dict[str, Any] | None:
        """After a server restart: follow a job that an earlier server started, to its end.

        ``known`` holds what the job record knows (``runner_pid``, ``runner_start``,
        ``kernel_pid``, ``kernel_start``, ``started_at``, ``timeout_seconds``). Returns its
        outcome; a job whose runner is gone without a result is ``failed`` (``runner_lost``).
        """
        raise NotImplementedError

    async def stop_job(self, job_id: str, reason: str = "cancel") -> None:
        """Ask a running job to stop (``cancel`` / ``timeout`` / ``server_shutdown``); its ``run``
        then returns within about 10 seconds with the matching status.

        The first request is handed to ``_request_stop``, then ``_escalate`` forces the stop if it
        takes too long; waits (at most ``STOP_KILL_AFTER + 4`` seconds) for the job to end."""
        active = self._active.get(job_id)
        if active is None:
            return
        if active.stop_reason is None:
            active.stop_reason = reason
            if await self._request_stop(active):
                self._background(self._escalate(active))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(active.done.wait(), STOP_KILL_AFTER + 4)

    async def read_logs(self, job_id: str, since_line: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Log lines ``since_line + 1`` .. ``since_line + limit`` (``{"line", "timestamp", "level",
        "message"}``) and the total number of lines so far, from the job's log file."""
        index = self._logs.get(job_id)
        if index is None:
            index = self._logs[job_id] = files.LogIndex(os.path.join(self.job_dir(job_id), files.LOG))
        return index.read(since_line, limit)

    def job_log(self, job_id: str, level: str, message: str) -> None:
        """Append a line of the server's own to a job's log."""
        self._append(job_id, files.LOG, [files.log_record(level, message)])

    async def discard(self, job_id: str) -> None:
        """Forget a finished job: delete its directory (its log included)."""
        self._logs.pop(job_id, None)
        await asyncio.to_thread(shutil.rmtree, self.job_dir(job_id), True)

    async def ensure_ready(self) -> None:
        """Raise JobsUnavailable, at once, if a new job cannot run now (e.g. its cluster is unreachable)."""

    def running_limit(self, configured: int) -> int:
        """Most jobs running at once, given ``max_concurrent_jobs`` (an executor may hand it to its cluster)."""
        return configured

    def describe(self) -> dict[str, Any]:
        """What runs the jobs, for ``system_info`` and the status endpoint; must not wait for anything."""
        return {"executor": type(self).__name__}

    # -- the bookkeeping of the jobs an executor follows -----------------------------------

    def job_dir(self, job_id: str) -> str:
        """The job's own directory: its log, its events, its output notebook's staging file."""
        return os.path.join(self.state_dir, job_id)

    @contextlib.contextmanager
    def _following(self, active: ActiveT) -> Iterator[ActiveT]:
        """Register a job while ``run`` or ``resume`` follows it; at the end it is done, and
        forgotten unless it was detached (left running at shutdown: the next start resumes it)."""
        self._active[active.job_id] = active
        try:
            yield active
        finally:
            active.done.set()
            if not active.detached:
                self._active.pop(active.job_id, None)

    async def _request_stop(self, active: ActiveT) -> bool:
        """Ask the job to stop (``active.stop_reason`` says why); True if ``_escalate`` should follow."""
        raise NotImplementedError

    async def _escalate(self, active: ActiveT) -> None:
        """Force a stop that takes too long (started in the background by ``stop_job``)."""

    def _timeout_backstop(self, active: ActiveT) -> None:
        """Stop a job ``TIMEOUT_BACKSTOP_SECONDS`` past its timeout: the runner enforces the timeout
        itself, and this is the backstop if it is stuck. Called by the executor's follow loop."""
        if (
            active.timeout_seconds
            and not active.timeout_stop_sent
            and active.stop_reason is None
            and time.time() > active.started_at + active.timeout_seconds + TIMEOUT_BACKSTOP_SECONDS
        ):
            active.timeout_stop_sent = True
            self._background(self.stop_job(active.job_id, "timeout"))

    async def _end_all(self, *also: Awaitable[Any]) -> None:
        """At server stop, once the jobs to leave running are detached: stop the others (awaiting
        ``also`` alongside), wait for every job's follower to return, cancel the background tasks."""
        stops = [self.stop_job(a.job_id, "server_shutdown") for a in list(self._active.values()) if not a.detached]
        await asyncio.gather(*also, *stops, return_exceptions=True)
        dones = [asyncio.ensure_future(a.done.wait()) for a in self._active.values()]
        if dones:
            await asyncio.wait(dones, timeout=STOP_KILL_AFTER + 2)
        for task in list(self._tasks):
            task.cancel()

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task that ``stop`` cancels if it is still running then."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _append(self, job_id: str, name: str, records: list[dict[str, Any]]) -> None:
        """Append JSON lines to a file of the job's directory (a warning in the server's log if it
        cannot be written)."""
        try:
            os.makedirs(self.job_dir(job_id), exist_ok=True)
            writer = files.JsonLinesWriter(os.path.join(self.job_dir(job_id), name))
            try:
                for record in records:
                    writer.write(record)
            finally:
                writer.close()
        except OSError:
            self.log.warning("Could not write to %s of job %s", name, job_id)


def __getattr__(name: str) -> Any:
    # ProcessJobExecutor lives in process_executor.py, which imports this module; it stays importable
    # from here, the path that configuration (job_executor_class) and the docs use.
    if name == "ProcessJobExecutor":
        from .process_executor import ProcessJobExecutor

        return ProcessJobExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
