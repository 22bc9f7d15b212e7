"""The schedule service (service layer): schedules made, changed, listed and run now, for the MCP tool
``manage_schedule`` and the REST handlers of ``/schedules``.

It checks every field (the notebook, kernel, parameters and timeout as ``JobSubmission.check`` checks a
job's), stores the schedules in the job database, shapes them (``ScheduleInfo``), and wakes the
``Scheduler`` (``scheduler.py``) that runs them on time.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..exceptions import Conflict, InvalidArgument, JobsUnavailable
from ..notebooks.paths import normalize_api_path, shown
from .models import Job, JobStarter
from .schedule_store import ScheduleStore
from .scheduler import Scheduler
from .schedules import (
    MAX_WAITING_RUNS,
    Bounds,
    Schedule,
    ScheduleInfo,
    ScheduleNotFound,
    ScheduleRun,
    check_choice,
    check_cron,
    check_output_template,
    check_timeout,
    check_timezone,
    default_output_template,
    describe,
    iso,
    next_runs,
    parse_bound,
    render_output_path,
    upcoming,
)

if TYPE_CHECKING:
    from .service import JobService
    from .store import JobStore

#: Latest runs a schedule lists.
LAST_RUNS = 5
#: Next run times a schedule lists.
NEXT_RUNS = 5
#: The fields of a schedule that ``create`` and ``update`` take.
FIELDS = (
    "notebook_path",
    "cron",
    "timezone",
    "parameters",
    "allow_undeclared_parameters",
    "kernel_name",
    "output_path",
    "timeout_seconds",
    "overlap",
    "catch_up",
    "start_date",
    "end_date",
    "active",
)


class ScheduleService:
    """The schedules of one server's job database: what the tool and the REST API do with them.

    Parameters
    ----------
    jobs : JobService
        Runs each run as a job; its store's database holds the schedules too. ``start`` and ``stop``
        are called by the job service as it starts and stops.
    """

    def __init__(self, jobs: JobService, log: logging.Logger | None = None) -> None:
        self.jobs = jobs
        self.scheduler = Scheduler(jobs, log=log)

    @property
    def store(self) -> ScheduleStore | None:
        """The schedules' records, while the job service is started."""
        return self.scheduler.store

    def start(self, job_store: JobStore) -> None:
        """Open the schedules in the job database and start the scheduler."""
        self.scheduler.start(job_store)

    async def stop(self) -> None:
        """Stop the scheduler (another server sharing the database may then run the schedules)."""
        await self.scheduler.stop()

    def scheduler_status(self) -> dict[str, Any]:
        """Whether this server runs the schedules on time, and why not."""
        return self.scheduler.status()

    # -- operations ------------------------------------------------------------------------

    async def _store(self) -> ScheduleStore:
        await self.jobs._ensure_started()
        if self.store is None:  # the job service is stopping
            raise JobsUnavailable("Schedules are unavailable: the server is stopping.")
        return self.store

    async def _get(self, schedule_id: Any) -> Schedule:
        store = await self._store()
        if not isinstance(schedule_id, str) or not schedule_id:
            raise InvalidArgument("schedule_id is required: the id create returned, e.g. 'sch_1a2b3c4d5e6f'.")
        schedule = store.get(schedule_id)
        if schedule is None:
            known = ", ".join(s.schedule_id for s in store.all()[-5:])
            raise ScheduleNotFound(
                f"schedule_id {shown(schedule_id)} is not a known schedule"
                + (f"; the latest are: {known}." if known else "; there are no schedules yet.")
            )
        return schedule

    async def list(self) -> list[ScheduleInfo]:
        """Every schedule, oldest first."""
        store = await self._store()
        now = time.time()
        return [self.info(schedule, now) for schedule in store.all()]

    async def get(self, schedule_id: str) -> ScheduleInfo:
        """One schedule. Raises ScheduleNotFound."""
        return self.info(await self._get(schedule_id), time.time())

    async def create(self, *, created_by: JobStarter | None = None, **fields: Any) -> ScheduleInfo:
        """Make a schedule of ``fields`` (``FIELDS``; ``notebook_path`` and ``cron`` are required).

        Every field is checked first, the notebook, kernel and parameters as a job's would be
        (``JobSubmission.check``: a parameter the notebook's ``parameters`` cell does not declare is
        refused unless ``allow_undeclared_parameters``). Raises InvalidArgument naming the field
        (``cron`` with a valid example, ``timezone``, ``env_overrides``, ``parameters``, ...),
        NotebookNotFound (``notebook_path``), KernelSpecNotFound, PathError.
        """
        store = await self._store()
        checked = await self._check({"timezone": "UTC", "overlap": "skip", "catch_up": "run_once", **fields}, None)
        now = time.time()
        schedule = Schedule(
            schedule_id="sch_" + secrets.token_hex(6),
            created_at=now,
            updated_at=now,
            created_by=created_by,
            cursor=self._start_cursor(checked, now),
            **checked,
        )
        store.save(schedule)
        self.scheduler.wake()
        return self.info(schedule, now)

    async def update(self, schedule_id: str, **changes: Any) -> ScheduleInfo:
        """Change the given fields of a schedule (checked as ``create`` checks them). A new cron,
        timezone or start_date, or a resume, counts from now: no run before it is missed."""
        schedule = await self._get(schedule_id)
        store = await self._store()
        merged: dict[str, Any] = {k: getattr(schedule, k) for k in FIELDS}
        if "notebook_path" in changes and "kernel_name" not in changes:
            merged["kernel_name"] = None  # the new notebook's own kernelspec
        merged.update(changes)
        if "env_overrides" in changes:
            merged["env_overrides"] = changes["env_overrides"]
        checked = await self._check(merged, schedule)
        now = time.time()
        restart = any(checked[k] != getattr(schedule, k) for k in ("cron", "timezone", "start_date")) or (
            checked["active"] and not schedule.active
        )

        def change(record: Schedule) -> None:
            for key, value in checked.items():
                setattr(record, key, value)
            record.updated_at = now
            if restart:
                record.cursor = self._start_cursor(checked, now)
            if not record.active:
                record.waiting.clear()

        updated = store.update(schedule.schedule_id, change)
        if updated is None:
            raise ScheduleNotFound(f"schedule_id {shown(schedule_id)} was deleted meanwhile.")
        self.scheduler.wake()
        return self.info(updated, now)

    async def pause(self, schedule_id: str) -> ScheduleInfo:
        """Stop running a schedule until ``resume``; its runs in between are not missed but skipped."""
        return await self.update(schedule_id, active=False)

    async def resume(self, schedule_id: str) -> ScheduleInfo:
        """Run a paused schedule again, from its next time after now."""
        return await self.update(schedule_id, active=True)

    async def delete(self, schedule_id: str) -> None:
        """Delete a schedule; its runs' job records and output notebooks stay (a running one runs on)."""
        schedule = await self._get(schedule_id)
        store = await self._store()
        store.delete(schedule.schedule_id)
        self.scheduler.wake()

    async def run_now(self, schedule_id: str) -> tuple[ScheduleInfo, Job | None, str]:
        """Run a schedule now (paused or not), as a run of it; returns the schedule, the job and a sentence.

        With the previous run still active: ``overlap="skip"`` raises Conflict, ``"queue"`` makes
        the run wait for it (no job yet). A run that cannot start is a failed job, as on time.
        """
        schedule = await self._get(schedule_id)
        store = await self._store()
        now = time.time()
        active = self.scheduler.active_run(schedule)
        if active is not None and schedule.overlap == "skip":
            raise Conflict(
                f"schedule {schedule.schedule_id} has a run still {active.status} (job {active.job_id}) and its "
                "overlap is 'skip': wait for the run to end or cancel it, or set overlap to 'queue'."
            )
        if active is not None:
            if len(schedule.waiting) >= MAX_WAITING_RUNS:
                raise Conflict(f"{MAX_WAITING_RUNS} runs of schedule {schedule.schedule_id} already wait.")
            store.update(schedule.schedule_id, lambda r: r.waiting.append(now))
            message = f"The run waits for job {active.job_id} to end, then starts."
            return await self.get(schedule.schedule_id), None, message
        job = await self.scheduler.submit(schedule, now, "started", "Run now.")
        message = f"Job {job.job_id} started." if job.status != "failed" else f"The run could not start: {job.message}"
        return await self.get(schedule.schedule_id), job, message

    async def preview(
        self,
        cron: Any,
        timezone: Any = "UTC",
        count: int = 3,
        notebook_path: str | None = None,
        output_path: str | None = None,
    ) -> dict[str, Any]:
        """The next ``count`` (1-20) times of a cron expression in a timezone (ISO 8601 with offset),
        the expression in English and, given a notebook, the output path template a schedule of it
        gets and the first run's output path. Raises InvalidArgument naming ``cron`` or ``timezone``."""
        cron = check_cron(cron)
        tz = check_timezone(timezone)
        times = upcoming(cron, tz, time.time(), Bounds(), max(1, min(int(count), 20)))
        result: dict[str, Any] = {
            "cron": cron,
            "timezone": tz.key,
            "description": describe(cron),
            "next_runs": [iso(t, tz) for t in times],
        }
        if notebook_path:
            api_path = self.jobs.notebooks.api_path(notebook_path, argument="notebook_path")
            template = check_output_template(output_path) if output_path else self._default_output(api_path)
            result["output_path"] = template
            result["example_output_path"] = render_output_path(template, api_path, times[0], tz) if times else None
        return result

    # -- checks and shapes -----------------------------------------------------------------

    def _default_output(self, notebook_path: str) -> str:
        directory = ""
        if self.jobs.app.output_directory:
            directory = normalize_api_path(
                self.jobs.app.output_directory, self.jobs.contents_manager, argument="output_directory", allow_root=True
            )
        return default_output_template(notebook_path, directory)

    async def _check(self, fields: dict[str, Any], existing: Schedule | None) -> dict[str, Any]:
        """Every field checked and normalized (kernel_name and timeout_seconds resolved as a job's)."""
        unknown = sorted(set(fields) - set(FIELDS) - {"env_overrides"})
        if unknown:
            raise InvalidArgument(f"Unknown field(s) {', '.join(unknown)}; a schedule has: {', '.join(FIELDS)}.")
        if fields.get("env_overrides"):
            raise InvalidArgument(
                "env_overrides are not accepted on schedules: their values would have to be stored on disk with "
                "the schedule. Set the variables in the Jupyter server's environment (every job gets it)."
            )
        cron = check_cron(fields.get("cron"))
        tz = check_timezone(fields.get("timezone"))
        overlap = check_choice(fields.get("overlap"), "overlap", ("skip", "queue"))
        catch_up = check_choice(fields.get("catch_up"), "catch_up", ("run_once", "skip"))
        active = fields.get("active")
        if active is None:
            active = True
        if not isinstance(active, bool):
            raise InvalidArgument(f"active must be true or false, got {shown(active)}.")
        start = parse_bound(fields.get("start_date"), "start_date", tz, end=False)
        end = parse_bound(fields.get("end_date"), "end_date", tz, end=True)
        if start is not None and end is not None and end < start:
            raise InvalidArgument(f"end_date {fields['end_date']!r} is before start_date {fields['start_date']!r}.")
        end_changed = existing is None or fields.get("end_date") != existing.end_date
        if end is not None and end_changed and end < time.time():
            raise InvalidArgument(f"end_date {fields['end_date']!r} is in the past: the schedule would never run.")
        if not isinstance(fields.get("notebook_path"), str) or not fields["notebook_path"]:
            raise InvalidArgument("notebook_path is required: the notebook to run, relative to the server root.")
        allow_undeclared = fields.get("allow_undeclared_parameters")
        if allow_undeclared is None:
            allow_undeclared = False
        request = await self.jobs.submission.check(
            fields["notebook_path"],
            parameters=fields.get("parameters"),
            allow_undeclared_parameters=allow_undeclared,
            kernel_name=fields.get("kernel_name"),
            timeout_seconds=check_timeout(fields.get("timeout_seconds"), float(self.jobs.app.job_timeout or 0)),
        )
        template = fields.get("output_path")
        template = check_output_template(template) if template else self._default_output(request.notebook_path)
        sample = upcoming(cron, tz, max(time.time(), start or 0.0), Bounds(start, end), 1)
        if not sample and end is not None:
            raise InvalidArgument(f"cron {cron!r} has no run between start_date and end_date.")
        example = render_output_path(template, request.notebook_path, sample[0] if sample else time.time(), tz)
        example = self.jobs.notebooks.api_path(example, argument="output_path", new_file=True)
        if example == request.notebook_path:
            raise InvalidArgument(f"output_path {template!r} is the notebook itself: Papermill would overwrite it.")
        return {
            "notebook_path": request.notebook_path,
            "cron": cron,
            "timezone": tz.key,
            "parameters": request.parameters,
            "allow_undeclared_parameters": allow_undeclared,
            "kernel_name": request.kernel_name,
            "output_path": template,
            "timeout_seconds": request.timeout_seconds,
            "overlap": overlap,
            "catch_up": catch_up,
            "start_date": fields.get("start_date") or None,
            "end_date": fields.get("end_date") or None,
            "active": active,
        }

    @staticmethod
    def _start_cursor(fields: dict[str, Any], now: float) -> float:
        """Where a new (or restarted) schedule counts from: now, or just before its start_date."""
        start = parse_bound(fields.get("start_date"), "start_date", ZoneInfo(fields["timezone"]), end=False)
        return now if start is None else max(now, start - 1e-3)

    def info(self, schedule: Schedule, now: float) -> ScheduleInfo:
        """The schedule as the tool and the REST API show it."""
        tz = ZoneInfo(schedule.timezone)
        upcoming_runs = next_runs(schedule, now, NEXT_RUNS)
        if not schedule.active:
            status, message = "paused", "Paused: it runs again once resumed."
        elif not upcoming_runs:
            status, message = "ended", "Ended: no run is left before its end_date."
        else:
            status, message = "active", f"Next run {iso(upcoming_runs[0], tz)}."
        if schedule.problem:
            message += f" {schedule.problem} The schedule stays: fix the cause, or update it."
        if schedule.active and not self.scheduler.running:
            message += " " + self.scheduler.not_running_reason()
        runs = sorted(
            (j for j in self.jobs.queue.jobs.values() if j.schedule_id == schedule.schedule_id),
            key=lambda j: j.created_at,
            reverse=True,
        )[:LAST_RUNS]
        return ScheduleInfo(
            **{k: getattr(schedule, k) for k in FIELDS},
            schedule_id=schedule.schedule_id,
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
            created_by=schedule.created_by,
            status=status,  # type: ignore[arg-type]
            message=message,
            description=describe(schedule.cron),
            next_runs=[iso(t, tz) for t in upcoming_runs],
            waiting_runs=[iso(t, tz) for t in schedule.waiting],
            last_runs=[
                ScheduleRun(
                    job_id=j.job_id,
                    status=j.status,
                    scheduled_for=iso(j.scheduled_for, tz) if j.scheduled_for is not None else None,
                    created_at=j.created_at,
                    completed_at=j.completed_at,
                    output_path=j.output_path,
                    message=j.message,
                    error_reason=j.error.reason if j.error else None,
                )
                for j in runs
            ],
            history=list(reversed(schedule.history)),
        )
