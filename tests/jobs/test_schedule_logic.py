"""The schedule logic at chosen instants: cron times in a timezone across daylight-saving changes, what is
due, missed and caught up after the server was down or the clock moved, and the output path template.

These are the only tests with a clock of their own (``now`` is an argument of the logic); the tests of a
real server wait for the real minute (test_schedules.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jupyter_mcp_ext.exceptions import InvalidArgument
from jupyter_mcp_ext.jobs.schedules import (
    ON_TIME_SECONDS,
    Bounds,
    Schedule,
    check_cron,
    check_output_template,
    check_timezone,
    iso,
    next_runs,
    parse_bound,
    plan,
    render_output_path,
    upcoming,
)

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> float:
    """An instant, from ISO 8601 with its offset."""
    return datetime.fromisoformat(text).timestamp()


def schedule(cron: str, cursor: str, **fields: Any) -> Schedule:
    return Schedule(
        schedule_id="sch_test",
        notebook_path="reports/daily.ipynb",
        kernel_name="python3",
        output_path="reports/scheduled-runs/{name}-{date}-{time}.ipynb",
        timeout_seconds=300,
        cron=cron,
        timezone=fields.pop("timezone", "Europe/Paris"),
        created_at=0,
        updated_at=0,
        cursor=at(cursor),
        **fields,
    )


def times(cron: str, after: str, count: int = 4, tz: ZoneInfo = PARIS) -> list[str]:
    return [iso(t, tz) for t in upcoming(cron, tz, at(after), Bounds(), count)]


def test_a_daily_time_that_does_not_exist_in_paris_runs_at_the_first_instant_after_the_gap() -> None:
    # 2026-03-29: Paris clocks go from 02:00 CET straight to 03:00 CEST; 02:30 does not exist that day.
    assert times("30 2 * * *", "2026-03-28T12:00:00+01:00", 3) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_a_daily_time_that_occurs_twice_in_paris_runs_once() -> None:
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice that night.
    assert times("30 2 * * *", "2026-10-24T12:00:00+02:00", 3) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    # Counting again from the first 02:30 (a restart right after the run) does not run the second one.
    assert times("30 2 * * *", "2026-10-25T02:30:00+02:00", 1) == ["2026-10-26T02:30:00+01:00"]


def test_weekday_mornings_keep_their_local_time_across_both_transitions() -> None:
    spring = times("0 7 * * 1-5", "2026-03-26T12:00:00+01:00", 3)
    autumn = times("0 7 * * 1-5", "2026-10-22T12:00:00+02:00", 3)
    assert spring == ["2026-03-27T07:00:00+01:00", "2026-03-30T07:00:00+02:00", "2026-03-31T07:00:00+02:00"]
    assert autumn == ["2026-10-23T07:00:00+02:00", "2026-10-26T07:00:00+01:00", "2026-10-27T07:00:00+01:00"]


def test_an_hourly_schedule_runs_every_real_hour_through_both_transitions() -> None:
    # As Debian's cron: an expression that repeats every hour runs each real hour, so the repeated
    # hour runs in both of its occurrences and the missing hour is not made up twice.
    assert times("0 * * * *", "2026-03-29T00:30:00+01:00", 3) == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]
    assert times("0 * * * *", "2026-10-25T01:30:00+02:00", 3) == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_a_run_found_due_on_time_starts_and_nothing_is_missed() -> None:
    s = schedule("0 7 * * *", "2026-12-07T07:00:00+01:00")
    decided = plan(s, at("2026-12-08T07:00:01+01:00"))
    assert decided.run == at("2026-12-08T07:00:00+01:00") and decided.event == "started"
    assert decided.missed_count == 0 and decided.cursor == decided.run


def test_runs_missed_while_the_server_was_down_are_caught_up_once_or_skipped() -> None:
    down_since = "2026-12-08T06:10:00+01:00"  # the last time handled before the server stopped
    now = at("2026-12-08T09:20:00+01:00")
    once = plan(schedule("0 * * * *", down_since), now)
    skip = plan(schedule("0 * * * *", down_since, catch_up="skip"), now)

    assert once.missed_count == skip.missed_count == 3
    assert iso(once.missed_first, PARIS) == "2026-12-08T07:00:00+01:00"
    assert iso(once.missed_last, PARIS) == "2026-12-08T09:00:00+01:00"
    assert once.event == "caught_up" and once.run == at("2026-12-08T09:00:00+01:00")
    assert skip.run is None
    assert once.cursor == skip.cursor == at("2026-12-08T09:00:00+01:00")
    # Nothing is due again once handled.
    assert plan(schedule("0 * * * *", iso(once.cursor, PARIS)), now).run is None


def test_a_run_found_later_than_the_on_time_window_counts_as_missed() -> None:
    s = schedule("0 7 * * *", "2026-12-07T07:00:00+01:00", catch_up="skip")
    decided = plan(s, at("2026-12-08T07:00:00+01:00") + ON_TIME_SECONDS + 1)
    assert decided.missed_count == 1 and decided.run is None


def test_a_run_late_because_another_server_made_the_schedule_while_this_one_slept_still_starts() -> None:
    s = schedule("0 7 * * *", "2026-12-08T06:59:20+01:00", catch_up="skip")  # made at 06:59:20 elsewhere
    now = at("2026-12-08T07:00:50+01:00")  # the owner wakes up to 60 s later and finds it
    assert plan(s, now).run is None  # as if the server had been down: skipped
    decided = plan(s, now, unseen_since=at("2026-12-08T06:59:20+01:00"))
    assert decided.run == at("2026-12-08T07:00:00+01:00") and decided.event == "started"


def test_a_clock_set_back_repeats_no_run_and_far_back_starts_again_from_now() -> None:
    s = schedule("0 * * * *", "2026-12-08T09:00:00+01:00")  # the 09:00 run was made
    back_an_hour = plan(s, at("2026-12-08T08:30:00+01:00"))
    back_a_day = plan(s, at("2026-12-07T09:30:00+01:00"))
    assert back_an_hour.run is None and back_an_hour.cursor == s.cursor  # 09:00 is not run again
    assert back_a_day.clock_back > 3600 and back_a_day.cursor == at("2026-12-07T09:30:00+01:00")
    assert back_a_day.run is None


def test_a_clock_set_ahead_runs_the_time_it_lands_on_and_reports_the_times_jumped_over() -> None:
    s = schedule("*/10 * * * *", "2026-12-08T09:00:00+01:00")
    decided = plan(s, at("2026-12-08T09:40:05+01:00"))
    assert decided.run == at("2026-12-08T09:40:00+01:00") and decided.event == "started"
    assert decided.missed_count == 3 and iso(decided.missed_last, PARIS) == "2026-12-08T09:30:00+01:00"


def test_start_and_end_dates_bound_the_runs_in_the_schedules_timezone() -> None:
    s = schedule("0 7 * * *", "2026-12-01T00:00:00+01:00", start_date="2026-12-10", end_date="2026-12-12")
    runs = [iso(t, PARIS) for t in next_runs(s, at("2026-12-01T00:00:00+01:00"), 5)]
    assert runs == ["2026-12-10T07:00:00+01:00", "2026-12-11T07:00:00+01:00", "2026-12-12T07:00:00+01:00"]
    assert plan(s, at("2026-12-05T07:00:00+01:00")).run is None


def test_a_paused_schedule_has_no_next_run_and_does_nothing() -> None:
    s = schedule("* * * * *", "2026-12-08T07:00:00+01:00", active=False)
    assert next_runs(s, at("2026-12-08T07:00:00+01:00")) == []
    assert plan(s, at("2026-12-08T09:00:00+01:00")).run is None


def test_the_output_path_template_is_rendered_in_the_schedules_timezone() -> None:
    when = at("2026-03-29T03:00:00+02:00")
    path = render_output_path("reports/scheduled-runs/{name}-{date}-{time}.ipynb", "reports/daily.ipynb", when, PARIS)
    assert path == "reports/scheduled-runs/daily-2026-03-29-030000.ipynb"
    assert render_output_path("{name}.ipynb", "a.ipynb", when, ZoneInfo("UTC")) == "a.ipynb"


@pytest.mark.parametrize(
    ("check", "value", "names"),
    [
        (check_cron, "61 * * * *", ["cron", "0 7 * * 1-5"]),
        (check_cron, "* * * *", ["cron", "5"]),
        (check_cron, "@daily", ["cron"]),
        (check_cron, "0 0 31 2 *", ["cron"]),
        (check_timezone, "Mars/Olympus", ["timezone", "Europe/Paris"]),
        (check_timezone, "../../etc/passwd", ["timezone"]),
        (check_output_template, "out/{user}.ipynb", ["output_path", "{user}", "{name}"]),
        (check_output_template, "out/{name}.txt", ["output_path", ".ipynb"]),
    ],
)
def test_bad_fields_are_refused_with_the_fields_name_and_what_is_valid(check: Any, value: str, names: list) -> None:
    with pytest.raises(InvalidArgument) as error:
        check(value)
    assert all(name in str(error.value) for name in names), str(error.value)


def test_dates_are_iso_8601_in_the_schedules_timezone_unless_they_carry_an_offset() -> None:
    assert parse_bound("2026-12-10", "start_date", PARIS, end=False) == at("2026-12-10T00:00:00+01:00")
    assert parse_bound("2026-12-10T18:00", "end_date", PARIS, end=True) == at("2026-12-10T18:00:00+01:00")
    assert parse_bound("2026-12-10T17:00:00Z", "end_date", PARIS, end=True) == at("2026-12-10T18:00:00+01:00")
    with pytest.raises(InvalidArgument, match="start_date"):
        parse_bound("next monday", "start_date", PARIS, end=False)
