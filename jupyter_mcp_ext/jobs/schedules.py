"""Schedules of notebook jobs (service layer): the record, its cron times in its timezone, and what is due.

A schedule (a job definition, in jupyter-scheduler's words) runs a notebook as an ordinary job at the
times of a 5-field cron expression, evaluated in an IANA timezone by cronsim, which follows Debian's
cron through daylight-saving changes: a local time that does not exist that day runs at the first
instant after the gap, a fixed local time that occurs twice runs once (an expression that runs every
hour or minute keeps running each real hour or minute). Everything here is pure: the current time is
an argument, so the logic is tested at any instant; ``scheduler.py`` feeds it the real clock.
"""

from __future__ import annotations

import math
import posixpath
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, Field

from ..exceptions import InvalidArgument, NotFound
from ..notebooks.paths import shown
from .models import JobStarter

#: The folder, beside the notebook, where scheduled runs write their output notebooks by default.
RUNS_FOLDER = "scheduled-runs"
#: The default output file name of a scheduled run (in ``RUNS_FOLDER``).
DEFAULT_OUTPUT_NAME = "{name}-{date}-{time}.ipynb"
#: The placeholders an ``output_path`` template may hold.
PLACEHOLDERS = ("name", "date", "time")
#: A run found due at most this many seconds after its time is on time; later, it was missed (the
#: server was down, the machine asleep, or the clock jumped) and ``catch_up`` applies.
ON_TIME_SECONDS = 30.0
#: A wall clock that went back by up to this much does not run the times it repeats again (Vixie
#: cron's rule); further back, the schedule starts again from the new time.
CLOCK_BACK_TOLERANCE_SECONDS = 3 * 3600.0
#: Most due times counted one by one in a single look (more are reported as "at least").
MAX_DUE_COUNT = 10_000
#: History entries a schedule keeps (oldest dropped first).
MAX_HISTORY = 100
#: Runs that may wait for the previous one with ``overlap="queue"``; more are skipped and reported.
MAX_WAITING_RUNS = 10
#: An example of a valid cron expression, for error messages.
CRON_EXAMPLE = "'0 7 * * 1-5' (07:00 on weekdays)"

Overlap = Literal["skip", "queue"]
CatchUp = Literal["run_once", "skip"]
HistoryEvent = Literal["started", "skipped_overlap", "missed", "caught_up"]


class ScheduleNotFound(NotFound):
    """No schedule has the given schedule_id."""


class ScheduleEvent(BaseModel):
    """One entry of a schedule's history: a run started (on time, or now by run_now), caught up after
    runs were missed, skipped because the previous run was still active, or runs missed.

    ``time`` is the run's scheduled time (ISO 8601 with the schedule's offset); for ``missed``, the
    first missed time, with ``last_time`` the last and ``count`` how many."""

    event: HistoryEvent
    time: str
    recorded_at: float = Field(description="When the server recorded it, in seconds since the epoch.")
    job_id: str | None = None
    count: int = 1
    last_time: str | None = None
    message: str | None = None


class Schedule(BaseModel):
    """A stored schedule. Paths are API paths; ``output_path`` is a template of ``{name}``, ``{date}``
    and ``{time}``; times are seconds since the epoch.

    ``cursor`` is the latest scheduled time already handled (run, skipped or recorded as missed): the
    next run is the first cron time after it, so a time is never handled twice, whatever the clock does.
    ``waiting`` holds the scheduled times of runs that wait for the previous one (``overlap="queue"``).
    ``problem`` says why the latest run could not start (cleared by the next run that starts)."""

    schedule_id: str
    notebook_path: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    allow_undeclared_parameters: bool = False
    kernel_name: str
    output_path: str
    timeout_seconds: float
    cron: str
    timezone: str = "UTC"
    active: bool = True
    overlap: Overlap = "skip"
    catch_up: CatchUp = "run_once"
    start_date: str | None = None
    end_date: str | None = None
    created_at: float
    updated_at: float
    created_by: JobStarter | None = None
    cursor: float
    waiting: list[float] = Field(default_factory=list)
    problem: str | None = None
    history: list[ScheduleEvent] = Field(default_factory=list)

    def record(self, entry: ScheduleEvent) -> None:
        """Append a history entry, keeping the latest ``MAX_HISTORY``."""
        self.history.append(entry)
        del self.history[:-MAX_HISTORY]


class ScheduleRun(BaseModel):
    """One run of a schedule, as its schedule lists it (the job's full record is at its job_id)."""

    job_id: str
    status: str
    scheduled_for: str | None = Field(default=None, description="The run's scheduled time, ISO 8601.")
    created_at: float
    completed_at: float | None = None
    output_path: str
    message: str | None = None
    error_reason: str | None = None


class ScheduleInfo(BaseModel):
    """A schedule as the tool and the REST API show it: its fields, ``status`` ("active", "paused", or
    "ended" when no run is left before its end_date), a ``message`` saying what happens next and any
    problem, the cron expression in English, the next runs (ISO 8601 with the timezone's offset), the
    runs waiting for the previous one, the latest runs (newest first) and the history (newest first)."""

    schedule_id: str
    notebook_path: str
    parameters: dict[str, Any]
    allow_undeclared_parameters: bool = False
    kernel_name: str
    output_path: str
    timeout_seconds: float
    cron: str
    timezone: str
    active: bool
    overlap: Overlap
    catch_up: CatchUp
    start_date: str | None
    end_date: str | None
    created_at: float
    updated_at: float
    created_by: JobStarter | None
    status: Literal["active", "paused", "ended"]
    message: str
    description: str
    next_runs: list[str]
    waiting_runs: list[str]
    last_runs: list[ScheduleRun]
    history: list[ScheduleEvent]


# -- checking the fields ------------------------------------------------------------------------


def check_cron(cron: Any) -> str:
    """The cron expression with its fields separated by single spaces. Raises InvalidArgument naming
    ``cron`` with a valid example when it is not 5 fields cronsim accepts, or never matches."""
    if not isinstance(cron, str) or not cron.strip():
        raise InvalidArgument(
            f"cron is required: 5 fields (minute hour day-of-month month day-of-week), e.g. {CRON_EXAMPLE}."
        )
    text = " ".join(cron.split())
    fields = text.split(" ")
    if len(fields) != 5 or text.startswith("@"):
        raise InvalidArgument(
            f"cron {shown(cron)} has {len(fields)} field{'s' if len(fields) != 1 else ''}: give 5 (minute hour "
            f"day-of-month month day-of-week), e.g. {CRON_EXAMPLE}, or '*/15 * * * *' (every 15 minutes)."
        )
    try:
        iterator = CronSim(text, datetime(2000, 1, 1, tzinfo=timezone.utc))
        next(iterator)
    except (CronSimError, StopIteration, ValueError) as e:
        why = str(e) or "it never matches"
        raise InvalidArgument(
            f"cron {shown(cron)} is not a valid cron expression ({why}): 5 fields (minute 0-59, hour 0-23, "
            f"day-of-month 1-31, month 1-12, day-of-week 0-7), e.g. {CRON_EXAMPLE}."
        ) from e
    return text


def check_timezone(name: Any) -> ZoneInfo:
    """The IANA timezone ``name`` (e.g. ``Europe/Paris``); raises InvalidArgument naming ``timezone``."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("timezone must be an IANA timezone name, e.g. 'Europe/Paris' or 'UTC'.")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise InvalidArgument(
            f"timezone {shown(name)} is not an IANA timezone known to this server: give a name such as "
            "'Europe/Paris', 'America/New_York' or 'UTC'."
        ) from e


def check_output_template(template: Any) -> str:
    """An ``output_path`` template: a notebook path that may hold ``{name}``, ``{date}``, ``{time}``.
    Raises InvalidArgument naming ``output_path`` for another placeholder or a path not ending in .ipynb."""
    if not isinstance(template, str) or not template.strip():
        raise InvalidArgument("output_path must be a notebook path, e.g. 'reports/{name}-{date}.ipynb'.")
    try:
        names = [name for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError as e:
        raise InvalidArgument(f"output_path {shown(template)} has an unbalanced '{{' or '}}' ({e}).") from e
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        raise InvalidArgument(
            f"output_path {shown(template)} uses {', '.join('{' + n + '}' for n in unknown)}: the placeholders "
            "are {name} (the notebook's name), {date} (YYYY-MM-DD) and {time} (HHMMSS), in the schedule's timezone."
        )
    if not template.endswith(".ipynb"):
        raise InvalidArgument(f"output_path {shown(template)} must end in '.ipynb'.")
    return template


def check_choice(value: Any, argument: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidArgument(f"{argument} {shown(value)} is not valid: use one of {', '.join(map(repr, choices))}.")
    return str(value)


def parse_bound(value: Any, argument: str, tz: ZoneInfo, *, end: bool) -> float | None:
    """``start_date`` / ``end_date`` as seconds since the epoch, or None when not given.

    A date (``2026-12-31``) means the start of that day for ``start_date`` and its end for
    ``end_date`` (both inclusive), in the schedule's timezone; a date and time without an offset is in
    that timezone; one with an offset (or ``Z``) is that instant. Raises InvalidArgument naming the argument.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{argument} must be an ISO 8601 date or date and time, e.g. '2026-12-31'.")
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            # fold=0: a midnight in a DST gap is the first instant after the gap; a repeated one, the first.
            return datetime.combine(day, time(), tzinfo=tz).timestamp() - (1e-6 if end else 0.0)
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError as e:
        raise InvalidArgument(
            f"{argument} {shown(value)} is not an ISO 8601 date or date and time: e.g. '2026-12-31' or "
            "'2026-12-31T18:00' (in the schedule's timezone) or '2026-12-31T17:00:00Z'."
        ) from e
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()


def check_timeout(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidArgument(
            f"timeout_seconds {shown(value)} is not valid: give a number of seconds >= 0 (0 means no limit)."
        )
    return float(value)


def default_output_template(notebook_path: str, output_directory: str = "") -> str:
    """``scheduled-runs/{name}-{date}-{time}.ipynb`` in the notebook's folder (or in the server's
    ``output_directory`` when it has one)."""
    folder = output_directory if output_directory else posixpath.dirname(notebook_path)
    return posixpath.join(folder, RUNS_FOLDER, DEFAULT_OUTPUT_NAME)


# -- times --------------------------------------------------------------------------------------


def iso(epoch: float, tz: ZoneInfo) -> str:
    """An instant as ISO 8601 with the timezone's offset there and then, e.g. ``2026-12-08T07:00:00+01:00``."""
    return datetime.fromtimestamp(epoch, tz).isoformat(timespec="seconds")


def render_output_path(template: str, notebook_path: str, when: float, tz: ZoneInfo) -> str:
    """The output path of the run scheduled at ``when``: ``{name}`` the notebook's stem, ``{date}``
    YYYY-MM-DD and ``{time}`` HHMMSS of ``when`` in the schedule's timezone."""
    local = datetime.fromtimestamp(when, tz)
    name = posixpath.splitext(posixpath.basename(notebook_path))[0]
    return template.format(name=name, date=local.strftime("%Y-%m-%d"), time=local.strftime("%H%M%S"))


def cron_times(cron: str, tz: ZoneInfo, after: float) -> Any:
    """An iterator of the cron times strictly after ``after`` (seconds since the epoch), as epoch seconds."""
    for moment in CronSim(cron, datetime.fromtimestamp(after, tz)):
        yield moment.timestamp()


def describe(cron: str) -> str:
    """The cron expression in English (cronsim's explanation), e.g. "At 07:00 on Monday through Friday"."""
    try:
        return str(CronSim(cron, datetime(2000, 1, 1, tzinfo=timezone.utc)).explain())
    except Exception:  # an explanation is a courtesy: an expression cronsim runs but cannot explain stays as it is
        return cron


@dataclass
class Bounds:
    """The instants a schedule runs within: ``start`` and ``end`` inclusive, None when open."""

    start: float | None = None
    end: float | None = None

    @classmethod
    def of(cls, schedule: Schedule) -> Bounds:
        tz = ZoneInfo(schedule.timezone)
        return cls(
            parse_bound(schedule.start_date, "start_date", tz, end=False),
            parse_bound(schedule.end_date, "end_date", tz, end=True),
        )


def next_runs(schedule: Schedule, now: float, count: int = 5) -> list[float]:
    """The next ``count`` run times of an active schedule after ``now`` (and after its cursor), within its
    start and end dates; [] when it is paused or has ended."""
    if not schedule.active:
        return []
    return upcoming(schedule.cron, ZoneInfo(schedule.timezone), max(now, schedule.cursor), Bounds.of(schedule), count)


def upcoming(cron: str, tz: ZoneInfo, after: float, bounds: Bounds, count: int) -> list[float]:
    """The first ``count`` cron times after ``after`` within ``bounds``."""
    if bounds.start is not None:
        after = max(after, bounds.start - 1e-3)
    times: list[float] = []
    for when in cron_times(cron, tz, after):
        if bounds.end is not None and when > bounds.end:
            break
        times.append(when)
        if len(times) >= count:
            break
    return times


@dataclass
class Plan:
    """What to do for a schedule at one instant (``plan``).

    ``missed_count`` scheduled times were not run on time, from ``missed_first`` to ``missed_last``;
    ``run``: the scheduled time to run now, as ``event`` ("started": on time, "caught_up": for missed
    runs), or None; ``cursor``: the schedule's new cursor; ``clock_back``: seconds the clock went back
    when the schedule starts again from now."""

    cursor: float
    missed_count: int = 0
    missed_first: float | None = None
    missed_last: float | None = None
    run: float | None = None
    event: HistoryEvent = "started"
    clock_back: float = 0.0


def plan(schedule: Schedule, now: float, unseen_since: float | None = None) -> Plan:
    """Decide what a schedule does at ``now``: the cron times in (cursor, now] within its dates are due.

    The latest due time, when found within ``ON_TIME_SECONDS`` of it, runs ("started"); earlier due
    times were missed. So does one after ``unseen_since``, however late: the scheduler could not know of
    it (the schedule was made or changed by another server sharing the database while it slept). When every due time is older than that (the server was down, the machine
    asleep, the clock jumped ahead), they were all missed, and ``catch_up`` says whether one run is
    made now for them ("caught_up"). A clock that went back repeats no time already handled; beyond
    ``CLOCK_BACK_TOLERANCE_SECONDS`` the schedule starts again from ``now``. A paused schedule does nothing.
    """
    if not schedule.active:
        return Plan(cursor=schedule.cursor)
    if schedule.cursor - now > CLOCK_BACK_TOLERANCE_SECONDS:
        return Plan(cursor=now, clock_back=schedule.cursor - now)
    tz = ZoneInfo(schedule.timezone)
    bounds = Bounds.of(schedule)
    due: list[float] = []
    count = 0
    after = schedule.cursor if bounds.start is None else max(schedule.cursor, bounds.start - 1e-3)
    for when in cron_times(schedule.cron, tz, after):
        if when > now or (bounds.end is not None and when > bounds.end):
            break
        count += 1
        due = [due[0], when] if due else [when]
        if count >= MAX_DUE_COUNT:  # e.g. an every-minute schedule left for a week: jump to the end
            last = _last_due(schedule.cron, tz, now, bounds)
            if last is not None and last > when:
                due = [due[0], last]
                count += 1  # at least
            break
    if not due:
        return Plan(cursor=schedule.cursor)
    first, last = due[0], due[-1]
    if now - last <= ON_TIME_SECONDS or (unseen_since is not None and last >= unseen_since):
        if count == 1:
            return Plan(cursor=last, run=last)
        # Earlier times were not run when due (the clock jumped ahead, or the loop was held up).
        earlier = _previous(schedule.cron, tz, first, last)
        return Plan(cursor=last, missed_count=count - 1, missed_first=first, missed_last=earlier, run=last)
    return Plan(
        cursor=last,
        missed_count=count,
        missed_first=first,
        missed_last=last,
        run=last if schedule.catch_up == "run_once" else None,
        event="caught_up",
    )


def _previous(cron: str, tz: ZoneInfo, first: float, last: float) -> float:
    """The cron time just before ``last`` (at least ``first``)."""
    previous = first
    for when in cron_times(cron, tz, max(first, last - 86400.0 * 31) - 1e-3):
        if when >= last:
            break
        previous = when
    return previous


def _last_due(cron: str, tz: ZoneInfo, now: float, bounds: Bounds) -> float | None:
    """The latest cron time at or before ``now`` within a day of it (for a count cut short)."""
    last = None
    for when in cron_times(cron, tz, now - 86400.0):
        if when > now or (bounds.end is not None and when > bounds.end):
            break
        last = when
    return last
