"""The scheduler (service layer): the task that runs the schedules of a job database on time.

Each run is an ordinary job of the ``JobService`` (submitted through it, so checked by
``JobSubmission``), with the schedule's id on its record. The task sleeps until the next scheduled
time, at most ``MAX_SLEEP_SECONDS`` at a time so that a change of the wall clock (or a machine that
slept) is seen within a minute, and is woken at once by a change of a schedule or the end of a
scheduled run. What a schedule does at a given instant is decided by ``schedules.plan``.

One server runs the schedules of a job database: the first to start takes the ``scheduler_owner``
row; another server sharing the database keeps them and serves them (``schedule_service.py``), but
runs nothing on time, says why in its log and in each schedule's message, and takes over once that
server's process is gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..caller import NOBODY, set_caller
from ..exceptions import MCPExtError
from .models import Job, JobOwner, JobStarter
from .schedule_store import ScheduleStore
from .schedules import (
    MAX_WAITING_RUNS,
    Schedule,
    ScheduleEvent,
    iso,
    next_runs,
    plan,
    render_output_path,
)

if TYPE_CHECKING:
    from .service import JobService
    from .store import JobStore

#: Longest sleep of the scheduler task, in seconds: a wall clock set forward or back, or a machine that
#: slept, is noticed within this time (a monotonic sleep alone would not see either).
MAX_SLEEP_SECONDS = 60.0
#: How often a server whose schedules another server runs checks whether that server is still there.
OWNER_RETRY_SECONDS = 30.0
#: Who starts a schedule's runs.
SCHEDULE_STARTER = JobStarter(via="schedule")


class Scheduler:
    """The task that runs the schedules of one server's job database on time.

    Parameters
    ----------
    jobs : JobService
        Runs each run as a job; its store's database holds the schedules too. ``start`` and ``stop``
        follow the job service's (through ``ScheduleService``).
    """

    def __init__(self, jobs: JobService, log: logging.Logger | None = None) -> None:
        self.jobs = jobs
        self.log = log or logging.getLogger(__name__)
        self.store: ScheduleStore | None = None
        #: Whether this server runs the schedules (it holds the ``scheduler_owner`` row).
        self.running = False
        #: The other server process that runs them, when one does.
        self.holder: JobOwner | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        #: When the task last read the schedules (None before its first look as the owner).
        self._last_look: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, job_store: JobStore) -> None:
        """Open the schedules in the job database and start the scheduler task."""
        self.store = ScheduleStore(job_store.connection)
        self.jobs.queue.listeners.append(self._on_job_saved)
        self._wake = asyncio.Event()
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        """Stop the scheduler task and let another server run the schedules."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._on_job_saved in self.jobs.queue.listeners:
            self.jobs.queue.listeners.remove(self._on_job_saved)
        if self.store is not None and self.running:
            self.store.release(self.jobs.owner)
        self.running = False
        self.holder = None
        self.store = None
        self._last_look = None

    def _on_job_saved(self, job: Job) -> None:
        if job.schedule_id and not job.active:
            self.wake()  # a run ended: a run waiting for it may start

    def wake(self) -> None:
        """Make the scheduler task look at the schedules now."""
        if self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        # The runs are nobody's tool call, even when a tool call's first use of the jobs started this task.
        set_caller(NOBODY)
        while True:
            self._wake.clear()
            try:
                delay = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("The scheduler failed to run the schedules; it tries again in a minute")
                delay = MAX_SLEEP_SECONDS
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def _step(self) -> float:
        """Take the schedules if no other server runs them, run what is due; the seconds to sleep."""
        store = self.store
        assert store is not None
        if not self.running:
            holder = store.acquire(self.jobs.owner)
            if holder is not None:
                if self.holder is None or holder.instance != self.holder.instance:
                    self.log.warning("%s", self.not_running_reason(holder))
                self.holder = holder
                return OWNER_RETRY_SECONDS
            if self.holder is not None:
                self.log.info("The server process %s is gone: this server runs the schedules now.", self.holder.pid)
            self.holder = None
            self.running = True
        wake_at = time.time() + MAX_SLEEP_SECONDS
        looked = time.time()
        for schedule in store.all():
            if self.store is None:
                break
            await self._handle(schedule)
            current = self.store.get(schedule.schedule_id) if self.store is not None else None
            upcoming_runs = next_runs(current, time.time(), 1) if current is not None else []
            if upcoming_runs:
                wake_at = min(wake_at, upcoming_runs[0])
        self._last_look = looked
        return max(0.0, wake_at - time.time())

    async def _handle(self, schedule: Schedule) -> None:
        """Run, skip or record what is due for one schedule now, then a run that waited for the last."""
        assert self.store is not None
        now = time.time()
        # Made or changed (by another server sharing the database) after this scheduler last looked:
        # its due times since then are late because nobody could see them, not because the server was down.
        unseen = self._last_look is not None and schedule.updated_at > self._last_look
        decided = plan(schedule, now, schedule.updated_at if unseen else None)
        tz = ZoneInfo(schedule.timezone)
        if decided.clock_back:
            self.log.warning(
                "Schedule %s: the clock went back %.0f minutes; it starts again from now (%s).",
                schedule.schedule_id,
                decided.clock_back / 60,
                iso(now, tz),
            )
        if decided.cursor != schedule.cursor or decided.missed_count:

            def advance(record: Schedule) -> None:
                record.cursor = decided.cursor
                if decided.missed_count and decided.missed_first is not None:
                    record.record(
                        ScheduleEvent(
                            event="missed",
                            time=iso(decided.missed_first, tz),
                            last_time=iso(decided.missed_last or decided.missed_first, tz),
                            count=decided.missed_count,
                            recorded_at=now,
                            message=self._missed_message(record, decided.missed_count, decided.run),
                        )
                    )

            if self.store.update(schedule.schedule_id, advance) is None:
                return
            if decided.missed_count:
                self.log.warning(
                    "Schedule %s missed %d run(s) from %s; catch_up=%s.",
                    schedule.schedule_id,
                    decided.missed_count,
                    iso(decided.missed_first or now, tz),
                    schedule.catch_up,
                )
        if decided.run is not None:
            await self._fire(schedule.schedule_id, decided.run, decided.event)
        current = self.store.get(schedule.schedule_id) if self.store is not None else None
        if current is not None and current.waiting and self.active_run(current) is None:
            when = current.waiting[0]
            if self.store.update(current.schedule_id, lambda r: r.waiting.remove(when) if when in r.waiting else None):
                await self.submit(current, when, "started", "It waited for the previous run to end.")

    @staticmethod
    def _missed_message(schedule: Schedule, count: int, run: float | None) -> str:
        runs = f"{count} run{'s' if count != 1 else ''}"
        if run is None:
            return f"{runs} not made when due (the server was down or the clock changed); catch_up is 'skip'."
        return f"{runs} not made when due (the server was down or the clock changed)."

    # -- runs --------------------------------------------------------------------------------

    def active_run(self, schedule: Schedule) -> Job | None:
        """The schedule's queued or running job, if any (the latest)."""
        runs = [j for j in self.jobs.queue.jobs.values() if j.schedule_id == schedule.schedule_id and j.active]
        return max(runs, key=lambda j: j.created_at) if runs else None

    async def _fire(self, schedule_id: str, when: float, event: str) -> Job | None:
        """A run due at ``when``: started, or (the previous run still active) skipped or made to wait."""
        assert self.store is not None
        schedule = self.store.get(schedule_id)
        if schedule is None:
            return None
        active = self.active_run(schedule)
        if active is None:
            return await self.submit(schedule, when, event, None)
        tz = ZoneInfo(schedule.timezone)
        if schedule.overlap == "queue" and len(schedule.waiting) < MAX_WAITING_RUNS:
            self.store.update(schedule_id, lambda r: r.waiting.append(when))
            return None
        why = (
            f"The previous run, job {active.job_id}, was still {active.status}."
            if schedule.overlap == "skip"
            else f"{MAX_WAITING_RUNS} runs already wait for job {active.job_id} to end."
        )
        entry = ScheduleEvent(
            event="skipped_overlap", time=iso(when, tz), recorded_at=time.time(), job_id=active.job_id, message=why
        )
        self.store.update(schedule_id, lambda r: r.record(entry))
        self.log.info("Schedule %s: the run of %s is skipped. %s", schedule_id, entry.time, why)
        return None

    async def submit(self, schedule: Schedule, when: float, event: str, message: str | None) -> Job:
        """Submit the run scheduled at ``when`` as a job; one that cannot start is recorded as a failed
        job (with the reason), and the schedule says so until a run starts again."""
        tz = ZoneInfo(schedule.timezone)
        output_path = render_output_path(schedule.output_path, schedule.notebook_path, when, tz)
        try:
            output_path = self._output_dir_made(schedule, output_path)
            job = await self.jobs.submit(
                schedule.notebook_path,
                output_path=output_path,
                parameters=schedule.parameters,
                allow_undeclared_parameters=schedule.allow_undeclared_parameters,
                kernel_name=schedule.kernel_name,
                timeout_seconds=schedule.timeout_seconds,
                started_by=SCHEDULE_STARTER,
                schedule_id=schedule.schedule_id,
                scheduled_for=when,
            )
            problem = None
        except MCPExtError as e:
            job = self.jobs.record_failed_start(
                schedule.notebook_path,
                output_path,
                e,
                kernel_name=schedule.kernel_name,
                parameters=schedule.parameters,
                timeout_seconds=schedule.timeout_seconds,
                started_by=SCHEDULE_STARTER,
                schedule_id=schedule.schedule_id,
                scheduled_for=when,
            )
            problem = f"The run of {iso(when, tz)} could not start (job {job.job_id}): {e}"
            self.log.warning("Schedule %s: %s", schedule.schedule_id, problem)
        entry = ScheduleEvent(
            event=event,  # type: ignore[arg-type]
            time=iso(when, tz),
            recorded_at=time.time(),
            job_id=job.job_id,
            message=message,
        )

        def started(record: Schedule) -> None:
            record.record(entry)
            record.problem = problem

        if self.store is not None:
            self.store.update(schedule.schedule_id, started)
        return job

    def _output_dir_made(self, schedule: Schedule, output_path: str) -> str:
        """The run's output path, confined to the root, with its folder made (the first run makes the
        runs' folder) when the notebook is there to run."""
        submission = self.jobs.submission
        output_path = self.jobs.notebooks.api_path(output_path, argument="output_path", new_file=True)
        if os.path.isfile(submission.os_path(schedule.notebook_path)):
            submission.ensure_output_dir(output_path)
        return output_path

    def not_running_reason(self, holder: JobOwner | None = None) -> str:
        holder = holder or self.holder
        if holder is None:
            return "The scheduler of this server is starting."
        return (
            f"This server does not run the schedules on time: the Jupyter server process {holder.pid}, which shares "
            f"the job database {self.jobs.db_path}, runs them; this server takes over if that process stops."
        )

    def status(self) -> dict[str, Any]:
        """Whether this server runs the schedules on time, and why not."""
        return {
            "running": self.running,
            "owner_pid": os.getpid() if self.running else (self.holder.pid if self.holder else None),
            "message": "This server runs the schedules." if self.running else self.not_running_reason(),
        }
