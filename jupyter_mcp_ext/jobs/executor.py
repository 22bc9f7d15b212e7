"""The job executor interface (service layer): what runs a notebook job, and the events and
outcomes it reports.

The default, ``ProcessJobExecutor`` (``process_executor.py``), runs each job in its own process on
this machine; ``DaskJobExecutor`` (``dask/``) runs it on a Dask cluster. The ``JobService`` owns
job records, the queue and the statuses; an executor only runs one job at a time per ``run`` call
and reports what happens through ``on_event(job_id, event)``. Another backend (a batch system, a container per job) replaces ``ProcessJobExecutor`` through
``MCPExtensionApp.job_executor_class`` by implementing the ``JobExecutor`` methods.

Events (dicts with ``"event"`` and ``"t"``, seconds since the epoch): ``launched``
(``runner_pid``, ``runner_start``), ``accepted``, ``kernel_started`` (``kernel_pid``,
``kernel_start``, ``kernel_name``), ``progress`` (``cells_total``, ``cells_executed``,
``cells_succeeded``, ``cells_failed``, ``current_cell``), ``output_saved`` (``path``: the
output notebook was saved whole at ``RunSpec.output_staging_path``; the job service then writes it
under the server root through the ContentsManager), ``stopping`` (``reason``) and ``finished``
(the outcome). An outcome is a dict: ``status`` (completed / failed / timeout /
cancelled), ``error`` (a ``JobError`` dict or None), ``note``, and the four cell counts;
``outcomes.py`` builds the failed and stopped ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from traitlets.config import LoggingConfigurable

from .models import RunSpec

if TYPE_CHECKING:
    from .process_executor import ProcessJobExecutor

__all__ = ["STOP_KILL_AFTER", "EventSink", "JobExecutor", "ProcessJobExecutor"]

EventSink = Callable[[str, dict[str, Any]], None]

#: Seconds a cancel may take before the runner and the kernel are killed outright (the
#: runner itself interrupts, then kills, the kernel after ``runner.STOP_GRACE_SECONDS``).
STOP_KILL_AFTER = 8.0


class JobExecutor(LoggingConfigurable):
    """Base class of job executors (the ``MCPExtensionApp.job_executor_class`` trait).

    Parameters
    ----------
    state_dir : str
        A directory the executor may use for its files (one sub-directory per job).
    on_event : callable
        ``on_event(job_id, event)``, called on the server's event loop for every event.
    """

    def __init__(self, *, state_dir: str, on_event: EventSink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_dir = state_dir
        self.on_event = on_event

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
        then returns within about 10 seconds with the matching status."""
        raise NotImplementedError

    async def read_logs(self, job_id: str, since_line: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Log lines ``since_line + 1`` .. ``since_line + limit`` (``{"line", "timestamp", "level",
        "message"}``) and the total number of lines so far."""
        return [], 0

    def job_log(self, job_id: str, level: str, message: str) -> None:
        """Append a line of the server's own to a job's log."""

    async def discard(self, job_id: str) -> None:
        """Forget a finished job: delete what the executor keeps of it."""

    async def ensure_ready(self) -> None:
        """Raise JobsUnavailable, at once, if a new job cannot run now (e.g. its cluster is unreachable)."""

    def running_limit(self, configured: int) -> int:
        """Most jobs running at once, given ``max_concurrent_jobs`` (an executor may hand it to its cluster)."""
        return configured

    def describe(self) -> dict[str, Any]:
        """What runs the jobs, for ``system_info`` and the status endpoint; must not wait for anything."""
        return {"executor": type(self).__name__}


def __getattr__(name: str) -> Any:
    # ProcessJobExecutor lives in process_executor.py, which imports this module; it stays importable
    # from here, the path that configuration (job_executor_class) and the docs use.
    if name == "ProcessJobExecutor":
        from .process_executor import ProcessJobExecutor

        return ProcessJobExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
