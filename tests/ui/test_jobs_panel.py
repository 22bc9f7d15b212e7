"""Browser tests of the Notebook Jobs panel in a real JupyterLab, driven by headless Chromium.

Jobs are started the ways a user starts them: by an MCP client over HTTP (the real SDK client), and from
the panel's "Run as Job…" dialog. Screenshots of the panel in the light and the dark theme go to the test's
tmp directory, and also to $JOBS_PANEL_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, run_lab

PANEL_ID = "jupyter-mcp-ext-jobs-panel"
PANEL_TAB = f'li.lm-TabBar-tab[data-id="{PANEL_ID}"]'
JOB_NOTEBOOKS = Path(__file__).resolve().parents[1] / "jobs" / "notebooks"
EXPECT_TIMEOUT_MS = 30_000
CLIENT_NAME = "ui-test-agent"


pytestmark = [pytest.mark.ui, pytest.mark.kernel, NEEDS_CHROMIUM]


class JobsLab(LabProcess):
    """A JupyterLab subprocess with the extension and real notebooks, and the calls the tests make on it."""

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API with the token; the decoded JSON answer (None for 204)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"jupyter-mcp-ext/jobs/{job_id}")

    def wait_job(self, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if predicate(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")
            time.sleep(0.2)

    def mcp_job(self, notebook_path: str, **arguments: Any) -> dict[str, Any]:
        """Start a job the way an agent does: execute_notebook(mode="async") with the real MCP client."""
        return _in_thread(self._mcp_job(notebook_path, arguments))

    async def _mcp_job(self, notebook_path: str, arguments: dict[str, Any]) -> dict[str, Any]:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        headers = {"Authorization": f"token {self.token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            transport = streamable_http_client(f"{self.url}mcp", http_client=http)
            async with Client(transport, mode="legacy", client_info=Implementation(name=CLIENT_NAME, version="1")) as c:
                result = await c.call_tool(
                    "execute_notebook", {"notebook_path": notebook_path, "mode": "async", **arguments}
                )
        assert not result.is_error, result.content
        return result.structured_content


def _in_thread(coro: Any) -> Any:
    """Run a coroutine on a loop of its own thread (the sync Playwright API owns this thread's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _write_notebooks(root: Path) -> None:
    for source in JOB_NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(source, root / source.name)
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # Several slow cells: the progress bar visibly moves.
    slow = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    slow.cells = [nbformat.v4.new_code_cell(f"import time\ntime.sleep(0.8)\nprint('step {i}')") for i in range(8)]
    nbformat.write(slow, str(root / "slow_steps.ipynb"))
    # A parameters cell with the kinds of values Papermill's inference reads.
    report = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    parameters = nbformat.v4.new_code_cell(
        "quarter = 'Q1'  # the quarter to report on\nn: int = 10\nrate = 0.5\nverbose = False"
    )
    parameters.metadata["tags"] = ["parameters"]
    report.cells = [parameters, nbformat.v4.new_code_cell("print(quarter, n, rate, verbose)")]
    nbformat.write(report, str(root / "report.ipynb"))
    broken = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    broken.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(broken, str(root / "broken.ipynb"))


@pytest.fixture(scope="module")
def jobs_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobsLab]:
    """`jupyter lab` on a free port with its own config, data, runtime and job database, and real notebooks."""
    base = tmp_path_factory.mktemp("jobs-lab")
    (base / "root").mkdir()
    _write_notebooks(base / "root")
    with run_lab(
        base,
        "--LabApp.expose_app_in_browser=True",
        f"--MCPExtensionApp.jobs_db_path={base / 'jobdata' / 'jobs.sqlite'}",
        "--MCPExtensionApp.max_concurrent_jobs=3",
        ready="jupyter-mcp-ext/jobs",
    ) as lab:
        yield JobsLab(**vars(lab))


@pytest.fixture
def page(browser: Browser, jobs_lab: JobsLab) -> Iterator[Page]:
    """A fresh page with JupyterLab loaded, its shell ready, and the Notebook Jobs panel open."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(UI_TIMEOUT_MS)
    # Jobs run and notebooks open on a machine that may be busy: expectations wait up to 30 s (not 5).
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        page.goto(f"{jobs_lab.url}lab?reset&token={jobs_lab.token}")
        page.locator(".jp-Launcher").wait_for()
        yield page
    finally:
        expect.set_options(timeout=5_000)
        page.close()


def open_panel(page: Page) -> Locator:
    page.locator(PANEL_TAB).click()
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel).to_be_visible()
    return panel


def row(page: Page, job_id: str) -> Locator:
    return page.locator(f'#{PANEL_ID} li.jp-mcp-ext-JobRow[data-job-id="{job_id}"]')


def test_an_mcp_job_appears_live_with_a_moving_progress_bar_and_then_completes(jobs_lab: JobsLab, page: Page) -> None:
    open_panel(page)
    list_requests: list[str] = []
    page.on(
        "request", lambda r: list_requests.append(r.url) if re.search(r"/jupyter-mcp-ext/jobs(\?|$)", r.url) else None
    )
    page.evaluate("window.__notReloaded = true")

    job_id = jobs_lab.mcp_job("slow_steps.ipynb")["job_id"]
    job_row = row(page, job_id)
    expect(job_row).to_be_visible()
    bar = job_row.locator(".jp-mcp-ext-JobRow-progressBar")
    widths: list[float] = []
    deadline = time.monotonic() + 60
    while job_row.get_attribute("data-status") != "completed" and time.monotonic() < deadline:
        if job_row.get_attribute("data-status") == "running":
            widths.append(float(bar.evaluate("node => parseFloat(node.style.width) || 0")))
        page.wait_for_timeout(150)

    expect(job_row.locator(".jp-mcp-ext-JobStatus")).to_have_text("Completed")
    assert page.evaluate("window.__notReloaded") is True
    moving = sorted(set(widths))
    assert len([w for w in moving if 0 < w < 100]) >= 2, f"the progress bar did not move: {widths}"
    expect(job_row.locator(".jp-mcp-ext-JobRow-starter")).to_have_text(CLIENT_NAME)
    expect(job_row.locator(".jp-mcp-ext-JobRow-name")).to_have_text("slow_steps")
    # Events carried the updates: the list was not polled for each change.
    assert len(list_requests) <= 2, list_requests
    assert jobs_lab.job(job_id)["status"] == "completed"


def test_cancel_a_running_job_from_the_panel_with_the_keyboard_after_confirming(jobs_lab: JobsLab, page: Page) -> None:
    open_panel(page)
    job_id = jobs_lab.mcp_job("keyboard_interrupt.ipynb")["job_id"]
    job_row = row(page, job_id)
    expect(job_row).to_have_attribute("data-status", "running")

    job_row.locator(".jp-mcp-ext-JobRow-name").focus()
    for _ in range(4):  # output, input, log, cancel
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Cancel the job?")
    dialog.get_by_role("button", name="Cancel Job").click()

    expect(job_row.locator(".jp-mcp-ext-JobStatus")).to_have_text("Cancelled")
    assert focused == "Cancel the job"
    assert jobs_lab.job(job_id)["status"] == "cancelled"


def test_open_the_output_notebook_from_a_job_row(jobs_lab: JobsLab, page: Page) -> None:
    job = jobs_lab.mcp_job("simple_execute.ipynb", parameters={"msg": "opened from the panel"})
    jobs_lab.wait_job(job["job_id"], lambda j: j["status"] == "completed")
    open_panel(page)

    row(page, job["job_id"]).locator(".jp-mcp-ext-JobRow-action.jp-mod-output").click()

    expect(page.locator(".jp-NotebookPanel .jp-OutputArea-output").first).to_contain_text("opened from the panel")
    path = page.evaluate("window.jupyterapp.shell.currentWidget.context.path")
    assert path == job["output_path"] == "simple_execute_output.ipynb"


def test_run_as_job_from_the_file_browser_injects_the_changed_parameters(jobs_lab: JobsLab, page: Page) -> None:
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
    page.locator('.jp-DirListing-item[data-file-type="notebook"]', has_text="report.ipynb").first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Run as Job…").click()
    dialog = page.locator(".jp-mcp-ext-RunJobDialog")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text("report.ipynb")
    quarter, n = dialog.locator('input[name="quarter"]'), dialog.locator('input[name="n"]')
    expect(quarter).to_have_value("Q1")
    expect(n).to_have_value("10")
    n_field = dialog.locator(".jp-mcp-ext-RunJob-field", has=page.locator('input[name="n"]'))
    expect(n_field.locator(".jp-mcp-ext-RunJob-type")).to_have_text("int")

    # A value that is not of the parameter's type: shown at the field, nothing is sent.
    run = dialog.get_by_role("button", name="Run the notebook as a job")
    n.fill("ten")
    expect(n_field.locator(".jp-mcp-ext-RunJob-fieldError")).to_contain_text("whole number")
    expect(run).to_be_disabled()
    n.fill("42")
    quarter.fill("Q4")
    expect(run).to_be_enabled()
    # A value the server refuses: its message is shown in the dialog, which stays open.
    dialog.locator('input[name="output"]').fill("../outside.ipynb")
    run.click()
    expect(dialog.locator(".jp-mcp-ext-RunJob-error")).to_contain_text("leaves the server root")
    expect(quarter).to_have_value("Q4")
    dialog.locator('input[name="output"]').fill("report_q4.ipynb")
    run.click()
    expect(dialog).to_have_count(0)

    panel = page.locator(f"#{PANEL_ID}")
    expect(panel).to_be_visible()
    new_row = panel.locator("li.jp-mcp-ext-JobRow", has_text="report").first
    expect(new_row.locator(".jp-mcp-ext-JobStatus")).to_have_text("Completed", timeout=60_000)
    expect(new_row.locator(".jp-mcp-ext-JobRow-params")).to_contain_text('quarter="Q4"')
    expect(new_row.locator(".jp-mcp-ext-JobRow-starter")).to_have_text("JupyterLab")
    job = jobs_lab.job(new_row.get_attribute("data-job-id") or "")
    assert job["parameters"] == {"quarter": "Q4", "n": 42} and job["output_path"] == "report_q4.ipynb"
    out = nbformat.read(str(jobs_lab.root / "report_q4.ipynb"), as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'quarter = "Q4"' in injected[0].source and "n = 42" in injected[0].source
    assert "rate" not in injected[0].source
    printed = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert "Q4 42 0.5 False" in printed

    # Rerun: a new job of the same notebook with the same parameters.
    new_row.locator(".jp-mcp-ext-JobRow-action.jp-mod-rerun").click()
    expect(panel.locator("li.jp-mcp-ext-JobRow", has_text="report")).to_have_count(2)
    rerun_id = panel.locator("li.jp-mcp-ext-JobRow", has_text="report").first.get_attribute("data-job-id") or ""
    rerun = jobs_lab.wait_job(rerun_id, lambda j: j["status"] == "completed")
    assert rerun["parameters"] == {"quarter": "Q4", "n": 42} and rerun["notebook_path"] == "report.ipynb"


def test_run_as_job_shows_the_refusal_of_a_parameter_the_notebook_no_longer_declares(
    jobs_lab: JobsLab, page: Page
) -> None:
    _parameters_notebook(jobs_lab.root / "renamed.ipynb", "quarter = 'Q1'\nn: int = 10")
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
    page.locator('.jp-DirListing-item[data-file-type="notebook"]', has_text="renamed.ipynb").first.click(button="right")
    page.locator(".lm-Menu-item", has_text="Run as Job…").click()
    dialog = page.locator(".jp-mcp-ext-RunJobDialog")
    quarter = dialog.locator('input[name="quarter"]')
    expect(quarter).to_have_value("Q1")
    # Someone renames the parameter while the dialog is open: the dialog still sends the old name.
    _parameters_notebook(jobs_lab.root / "renamed.ipynb", "period = 'Q1'\nn: int = 10")
    quarter.fill("Q4")
    dialog.get_by_role("button", name="Run the notebook as a job").click()

    error = dialog.locator(".jp-mcp-ext-RunJob-error")
    expect(error).to_contain_text("'quarter' is not a parameter of renamed.ipynb")
    expect(error).to_contain_text("declares period (str), n (int)")
    expect(dialog).to_have_count(1)
    assert not [
        j for j in jobs_lab.request("GET", "jupyter-mcp-ext/jobs")["jobs"] if j["notebook_path"] == "renamed.ipynb"
    ]
    dialog.get_by_role("button", name="Cancel").click()


def test_a_job_row_shows_the_jobs_warnings(jobs_lab: JobsLab, page: Page) -> None:
    # slow_steps.ipynb has no cell tagged parameters: Papermill puts the parameters first, and the row says so.
    job = jobs_lab.mcp_job("slow_steps.ipynb", output_path="warned.ipynb", parameters={"label": "Q3"})
    panel = open_panel(page)
    warning = row(page, job["job_id"]).locator(".jp-mcp-ext-JobRow-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("slow_steps.ipynb has no cell tagged 'parameters'")
    assert warning.get_attribute("title") == job["warnings"][0]
    assert warning.evaluate("node => getComputedStyle(node).borderLeftStyle") == "solid"
    expect(panel.locator(".jp-mcp-ext-JobRow-warning")).to_have_count(
        len([j for j in jobs_lab.request("GET", "jupyter-mcp-ext/jobs")["jobs"] if j.get("warnings")])
    )
    jobs_lab.request("POST", f"jupyter-mcp-ext/jobs/{job['job_id']}/cancel")


def _parameters_notebook(path: Path, parameters: str) -> None:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print('done')")]
    nbformat.write(nb, str(path))


def test_a_job_that_finishes_while_the_panel_is_closed_raises_a_notification_that_opens_its_output(
    jobs_lab: JobsLab, page: Page
) -> None:
    open_panel(page)
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
    expect(page.locator(f"#{PANEL_ID}")).to_be_hidden()

    job = jobs_lab.mcp_job("broken.ipynb")
    toast = page.locator(".Toastify__toast", has_text="broken.ipynb")
    expect(toast).to_contain_text("ZeroDivisionError", timeout=60_000)
    toast.get_by_role("button", name="Open Output").click()

    expect(page.locator(".jp-NotebookPanel .jp-OutputArea-output").last).to_contain_text("ZeroDivisionError")
    assert page.evaluate("window.jupyterapp.shell.currentWidget.context.path") == job["output_path"]


def test_the_log_view_follows_new_lines_while_the_job_runs(jobs_lab: JobsLab, page: Page) -> None:
    open_panel(page)
    job_id = jobs_lab.mcp_job("slow_steps.ipynb", output_path="slow_steps_log.ipynb")["job_id"]
    job_row = row(page, job_id)
    expect(job_row).to_have_attribute("data-status", "running")
    job_row.locator(".jp-mcp-ext-JobRow-action.jp-mod-log").click()

    lines = page.locator(".jp-mcp-ext-JobLog .jp-mcp-ext-JobLog-line.jp-mod-stdout")
    counts = []
    while job_row.get_attribute("data-status") == "running":
        counts.append(lines.count())
        page.wait_for_timeout(200)
    last = page.locator(
        ".jp-mcp-ext-JobLog-line.jp-mod-stdout .jp-mcp-ext-JobLog-text", has_text=re.compile(r"^\s*step 7\s*$")
    )
    expect(last).to_have_count(1)
    # Lines arrived in several reads while the job ran (8 cells of 0.8 s, one print each), not all at the end.
    assert len({c for c in counts if 0 < c < 8}) >= 2, f"the log did not follow the run: {counts}"
    expect(page.locator(".jp-mcp-ext-JobLog-status")).to_contain_text("Completed")


def test_filter_by_status_and_delete_a_finished_record(jobs_lab: JobsLab, page: Page) -> None:
    job = jobs_lab.mcp_job("broken.ipynb", output_path="broken_to_delete.ipynb")
    jobs_lab.wait_job(job["job_id"], lambda j: j["status"] == "failed")
    panel = open_panel(page)

    panel.locator(".jp-mcp-ext-JobsFilter select").select_option("failed")
    statuses = panel.locator("li.jp-mcp-ext-JobRow").evaluate_all("rows => rows.map(r => r.dataset.status)")
    failed_row = row(page, job["job_id"])
    expect(failed_row.locator(".jp-mcp-ext-JobRow-error")).to_have_text("Cell 1: ZeroDivisionError: division by zero")
    failed_row.locator(".jp-mcp-ext-JobRow-action.jp-mod-remove").click()

    expect(failed_row).to_have_count(0)
    assert statuses and set(statuses) == {"failed"}
    with pytest.raises(urllib.error.HTTPError) as gone:
        jobs_lab.job(job["job_id"])
    assert gone.value.code == 404
    assert (jobs_lab.root / "broken_to_delete.ipynb").exists()


def test_screenshots_of_the_panel_in_the_light_and_the_dark_theme(
    jobs_lab: JobsLab, page: Page, tmp_path: Path
) -> None:
    running = jobs_lab.mcp_job("keyboard_interrupt.ipynb", output_path="screenshot_running.ipynb")
    stepping = jobs_lab.mcp_job("slow_steps.ipynb", output_path="screenshot_steps.ipynb", parameters={"label": "Q3"})
    panel = open_panel(page)
    expect(row(page, running["job_id"])).to_have_attribute("data-status", "running")
    expect(row(page, stepping["job_id"]).locator(".jp-mcp-ext-JobRow-progressBar")).not_to_have_attribute(
        "style", re.compile(r"width: 0%"), timeout=60_000
    )
    shots = {}
    backgrounds = {}
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
        expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
        page.wait_for_timeout(500)  # the theme's stylesheet applies
        name = "dark" if "Dark" in theme else "light"
        shots[name] = tmp_path / f"jobs-panel-{name}.png"
        page.screenshot(path=str(shots[name]))
        panel.screenshot(path=str(tmp_path / f"jobs-panel-{name}-panel.png"))
        backgrounds[name] = panel.evaluate("node => getComputedStyle(node).backgroundColor")
    for job in (running, stepping):
        jobs_lab.request("POST", f"jupyter-mcp-ext/jobs/{job['job_id']}/cancel")
    keep = os.environ.get("JOBS_PANEL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for path in tmp_path.glob("jobs-panel-*.png"):
            shutil.copy(path, Path(keep) / path.name)

    assert all(path.stat().st_size > 10_000 for path in shots.values())
    assert backgrounds["light"] != backgrounds["dark"]
    assert _luminance(backgrounds["dark"]) < 0.2 < 0.8 < _luminance(backgrounds["light"])


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
