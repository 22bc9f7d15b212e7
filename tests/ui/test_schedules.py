"""Browser tests of schedules in a real JupyterLab: a schedule made from the "Run as Job…" dialog's Repeat
choice (with the next runs shown as it is chosen), seen in the panel's Schedules view with its next run, paused
from the keyboard; a failed scheduled run raises a notification. Screenshots of the view and the dialog in the
light and the dark theme go to the test's tmp directory, and to $JOBS_PANEL_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .lab import NEEDS_CHROMIUM, run_lab
from .test_jobs_panel import PANEL_ID, JobsLab, _write_notebooks, open_panel

pytestmark = [pytest.mark.ui, pytest.mark.kernel, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def jobs_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobsLab]:
    base = tmp_path_factory.mktemp("schedules-lab")
    (base / "root").mkdir()
    _write_notebooks(base / "root")
    with run_lab(
        base,
        "--LabApp.expose_app_in_browser=True",
        f"--MCPExtensionApp.jobs_db_path={base / 'jobdata' / 'jobs.sqlite'}",
        ready="jupyter-mcp-ext/schedules",
    ) as lab:
        yield JobsLab(**vars(lab))


@pytest.fixture
def page(browser, jobs_lab: JobsLab) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1280, "height": 860}, timezone_id="America/New_York")
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    try:
        page.goto(f"{jobs_lab.url}lab?reset&token={jobs_lab.token}")
        page.locator(".jp-Launcher").wait_for()
        yield page
    finally:
        expect.set_options(timeout=5_000)
        page.close()


def schedules_view(page: Page) -> Locator:
    panel = open_panel(page)
    panel.locator('.jp-mcp-ext-ViewSwitch-button[data-view="schedules"]').click()
    expect(panel.locator(".jp-mcp-ext-SchedulesList")).to_be_visible()
    return panel


def keep_screenshots(tmp_path: Path) -> None:
    keep = os.environ.get("JOBS_PANEL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for path in tmp_path.glob("schedules-*.png"):
            shutil.copy(path, Path(keep) / path.name)


def test_make_a_schedule_from_the_dialog_see_its_next_run_and_pause_it_from_the_keyboard(
    jobs_lab: JobsLab, page: Page, tmp_path: Path
) -> None:
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
    page.locator('.jp-DirListing-item[data-file-type="notebook"]', has_text="report.ipynb").first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Run as Job…").click()
    dialog = page.locator(".jp-mcp-ext-RunJobDialog")
    dialog.locator('input[name="quarter"]').fill("Q2")
    repeat = dialog.locator('select[name="repeat"]')
    preview = dialog.locator(".jp-mcp-ext-RunJob-preview")
    expect(preview).to_be_hidden()

    # A custom expression: the next runs follow what is typed, and a bad one says what is wrong.
    repeat.select_option("custom")
    expect(dialog.get_by_role("button", name="Create the schedule")).to_be_visible()
    cron = dialog.locator('input[name="cron"]')
    cron.fill("*/15 * * * *")
    expect(preview).to_contain_text("Every 15th minute")
    expect(preview.locator(".jp-mcp-ext-RunJob-previewRuns li")).to_have_count(3)
    cron.fill("61 * * * *")
    expect(preview).to_contain_text("cron '61 * * * *' is not a valid cron expression")
    expect(cron).to_have_attribute("aria-invalid", "true")

    # A preset: weekdays at 07:30 in Paris, shown in the browser's own time (New York).
    repeat.select_option("weekdays")
    dialog.locator('input[name="time"]').fill("07:30")
    dialog.locator('input[name="timezone"]').fill("Europe/Paris")
    expect(preview).to_contain_text("At 07:30 on Monday through Friday (Europe/Paris)")
    expect(preview.locator(".jp-mcp-ext-RunJob-previewRuns li")).to_have_count(3)
    first_run = preview.locator(".jp-mcp-ext-RunJob-previewRuns li").first.get_attribute("title") or ""
    expect(dialog.locator('input[name="output"]')).to_have_value("scheduled-runs/{name}-{date}-{time}.ipynb")
    expect(preview.locator(".jp-mcp-ext-RunJob-previewOutput")).to_contain_text("scheduled-runs/report-")
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        set_theme(page, theme)
        dialog.locator(".jp-Dialog-content").screenshot(
            path=str(tmp_path / f"schedules-dialog-{theme_name(theme)}.png")
        )
    set_theme(page, "JupyterLab Light")
    dialog.get_by_role("button", name="Create the schedule").click()
    expect(dialog).to_have_count(0)

    # The panel opens on the Schedules view, with the schedule and its next run in the browser's time.
    panel = page.locator(f"#{PANEL_ID}")
    schedule_row = panel.locator("li.jp-mcp-ext-ScheduleRow", has_text="report")
    expect(schedule_row).to_have_count(1)
    schedule = jobs_lab.request("GET", "jupyter-mcp-ext/schedules")["schedules"][0]
    assert schedule["cron"] == "30 7 * * 1-5" and schedule["timezone"] == "Europe/Paris"
    assert schedule["parameters"] == {"quarter": "Q2"} and schedule["next_runs"][0] == first_run
    expect(schedule_row.locator(".jp-mcp-ext-ScheduleRow-when")).to_have_text(
        "At 07:30 on Monday through Friday · Europe/Paris"
    )
    next_run = schedule_row.locator("time.jp-mcp-ext-ScheduleRow-nextRun")
    expect(next_run).to_have_attribute("datetime", first_run)
    local = datetime.fromisoformat(first_run).astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    expect(next_run).to_contain_text(local.strftime("%I:%M").lstrip("0"))  # 01:30 or 02:30 in New York
    expect(schedule_row.locator(".jp-mcp-ext-ScheduleStatus")).to_have_text("Active")

    # Pause it from the keyboard: Tab from the notebook's name along the row's buttons.
    schedule_row.locator(".jp-mcp-ext-JobRow-name").focus()
    for _ in range(3):  # the last run (none yet: not a button), run now, pause
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.action") == "pause":
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Pause the schedule"
    page.keyboard.press("Enter")
    expect(schedule_row.locator(".jp-mcp-ext-ScheduleStatus")).to_have_text("Paused")
    expect(schedule_row.locator(".jp-mcp-ext-ScheduleRow-next")).to_have_text("Paused: no run until resumed")
    assert jobs_lab.request("GET", f"jupyter-mcp-ext/schedules/{schedule['schedule_id']}")["active"] is False
    jobs_lab.request("PATCH", f"jupyter-mcp-ext/schedules/{schedule['schedule_id']}", {"active": True})
    keep_screenshots(tmp_path)


def test_a_failed_scheduled_run_raises_a_notification_while_the_panel_is_open(
    jobs_lab: JobsLab, page: Page, tmp_path: Path
) -> None:
    created = jobs_lab.request(
        "POST",
        "jupyter-mcp-ext/schedules",
        {"notebook_path": "broken.ipynb", "cron": "0 6 * * *", "timezone": "Asia/Tokyo"},
    )
    panel = schedules_view(page)
    schedule_row = panel.locator(f'li.jp-mcp-ext-ScheduleRow[data-schedule-id="{created["schedule_id"]}"]')
    expect(schedule_row).to_be_visible()

    schedule_row.locator('[data-action="run-now"]').click()
    toast = page.locator(".Toastify__toast", has_text="Scheduled run of broken.ipynb failed")
    expect(toast).to_contain_text("ZeroDivisionError", timeout=60_000)
    expect(schedule_row.locator(".jp-mcp-ext-ScheduleRow-last .jp-mcp-ext-JobStatus")).to_have_text("Failed")
    expect(panel).to_be_visible()

    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        set_theme(page, theme)
        panel.screenshot(path=str(tmp_path / f"schedules-panel-{theme_name(theme)}.png"))
        page.screenshot(path=str(tmp_path / f"schedules-lab-{theme_name(theme)}.png"))
    set_theme(page, "JupyterLab Light")
    keep_screenshots(tmp_path)
    shots = list(tmp_path.glob("schedules-panel-*.png"))
    assert len(shots) == 2 and all(path.stat().st_size > 5_000 for path in shots)


def set_theme(page: Page, theme: str) -> None:
    page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def theme_name(theme: str) -> str:
    return "dark" if "Dark" in theme else "light"
