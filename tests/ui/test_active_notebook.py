"""The person's active notebook, from a real JupyterLab in headless Chromium to a real MCP client: the notebook and
cell clicked are what get_active_notebook answers; another notebook, or another browser tab, focused later wins;
the setting turned off in Lab's Settings Editor withdraws it; a closed Lab leaves the plain "no Lab" answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Browser, Page, expect

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, MCPAgent, run_lab

pytestmark = [pytest.mark.ui, NEEDS_CHROMIUM]

#: The Lab reports a change about half a second after it (debounced); the tool is asked until then.
REPORT_TIMEOUT = 20.0
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    """`jupyter lab` with this extension (and real-time collaboration where it is installed: its paths carry the
    "RTC:" drive, which the report leaves out)."""
    with run_lab(tmp_path_factory.mktemp("active-lab"), "--LabApp.expose_app_in_browser=True") as server:
        yield server


@pytest.fixture(scope="module")
def agent(lab: LabProcess) -> Iterator[MCPAgent]:
    client = MCPAgent(lab, "active-notebook-agent")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``open_page(lab, path)``: a new browser tab with JupyterLab showing the notebook ``path``."""
    pages: list[Page] = []

    def open_(lab: LabProcess, path: str) -> Page:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        pages.append(page)
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{lab.url}lab/tree/{path}?reset&token={lab.token}")
        page.locator(CELLS).first.wait_for()
        return page

    try:
        yield open_
    finally:
        for page in pages:
            if not page.is_closed():
                page.close()


def write_notebook(lab: LabProcess, name: str, sources: list[str]) -> list[str]:
    """Write a notebook of code cells under the Lab's root; return its cell ids."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(lab.root / name))
    return [cell["id"] for cell in nb.cells]


def answer_when(agent: MCPAgent, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """Ask get_active_notebook until its answer passes ``check``; fail with the last answer after a while."""
    deadline = time.monotonic() + REPORT_TIMEOUT
    while True:
        answer = agent.call("get_active_notebook")
        if check(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"get_active_notebook never answered {what}; last: {answer}")
        time.sleep(0.2)


def click_cell(page: Page, index: int) -> None:
    page.locator(CELLS).nth(index).locator(".cm-content").click()


def on_cell(path: str, index: int, cell_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda a: (a.get("path"), a.get("cell_index"), a.get("cell_id")) == (path, index, cell_id)


def test_the_cell_the_person_clicks_is_the_active_cell_and_another_notebook_focused_later_wins(
    lab: LabProcess, agent: MCPAgent, open_page: Callable[..., Page]
) -> None:
    a_ids = write_notebook(lab, "a.ipynb", ["x = 1", "y = 2", "print(x + y)"])
    b_ids = write_notebook(lab, "b.ipynb", ["import math", "math.pi"])
    page = open_page(lab, "a.ipynb")

    click_cell(page, 2)
    answer = answer_when(agent, on_cell("a.ipynb", 2, a_ids[2]), "a.ipynb's third cell")
    assert answer["status"] == "active" and answer["cell_type"] == "code"
    assert answer["selected_cells"] == [{"index": 2, "id": a_ids[2]}]
    assert answer["text_selection"]["start"]["line"] == 0, "the cursor in the cell being edited"
    assert answer["focused_at"].endswith("Z") and answer["seconds_since_focus"] < 60

    page.evaluate("window.jupyterapp.commands.execute('docmanager:open', {path: 'b.ipynb'})")
    expect(page.locator(CELLS)).to_have_count(2)
    click_cell(page, 1)
    answer = answer_when(agent, on_cell("b.ipynb", 1, b_ids[1]), "b.ipynb's second cell")
    assert answer["open_notebooks"] == ["a.ipynb"]


def test_with_two_browser_tabs_the_most_recent_focus_wins_and_a_closed_tab_hands_back(
    lab: LabProcess, agent: MCPAgent, open_page: Callable[..., Page]
) -> None:
    first_ids = write_notebook(lab, "first.ipynb", ["a = 1", "b = 2"])
    second_ids = write_notebook(lab, "second.ipynb", ["c = 3"])
    first = open_page(lab, "first.ipynb")
    click_cell(first, 1)
    answer_when(agent, on_cell("first.ipynb", 1, first_ids[1]), "the first tab's cell")

    second = open_page(lab, "second.ipynb")
    click_cell(second, 0)
    answer_when(agent, on_cell("second.ipynb", 0, second_ids[0]), "the second tab, focused last")

    first.bring_to_front()
    click_cell(first, 0)
    answer_when(agent, on_cell("first.ipynb", 0, first_ids[0]), "the first tab, focused again")

    # Closing the tab focused last hands the answer back to the other one at once, not after minutes.
    second.bring_to_front()
    click_cell(second, 0)
    answer_when(agent, on_cell("second.ipynb", 0, second_ids[0]), "the second tab, focused last")
    second.close(run_before_unload=True)
    answer_when(agent, on_cell("first.ipynb", 0, first_ids[0]), "the first tab, once the second closed")


def set_sharing(page: Page, on: bool) -> None:
    """Turn "Share the active notebook with MCP clients" on or off as a person does: in the Settings Editor."""
    page.evaluate("window.jupyterapp.commands.execute('settingeditor:open', {query: 'MCP: active notebook'})")
    checkbox = page.get_by_label("Share the active notebook with MCP clients")
    checkbox.wait_for()
    if checkbox.is_checked() != on:
        checkbox.click()
    expect(checkbox).to_be_checked(checked=on)


def test_sharing_turned_off_in_the_settings_withdraws_the_report_until_turned_on_again(
    lab: LabProcess, agent: MCPAgent, open_page: Callable[..., Page]
) -> None:
    ids = write_notebook(lab, "private.ipynb", ["secret = 1", "secret * 2"])
    page = open_page(lab, "private.ipynb")
    click_cell(page, 1)
    answer_when(agent, on_cell("private.ipynb", 1, ids[1]), "the clicked cell")

    set_sharing(page, False)
    answer = answer_when(agent, lambda a: a["status"] == "off", 'status "off"')
    assert "turned off" in answer["message"] and "path" not in answer
    page.locator('.lm-TabBar-tab:has-text("private.ipynb")').click()
    click_cell(page, 0)
    time.sleep(2)  # a report would come within half a second
    assert agent.call("get_active_notebook")["status"] == "off", "nothing is reported while sharing is off"

    set_sharing(page, True)
    page.locator('.lm-TabBar-tab:has-text("private.ipynb")').click()
    click_cell(page, 0)
    answer_when(agent, on_cell("private.ipynb", 0, ids[0]), "the cell, once sharing is on again")


def test_when_the_last_lab_tab_closes_the_answer_says_no_lab_is_open(
    lab: LabProcess, agent: MCPAgent, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    write_notebook(lab, "last.ipynb", ["z = 26"])
    page = open_page(lab, "last.ipynb")
    click_cell(page, 0)
    answer_when(agent, lambda a: a.get("path") == "last.ipynb", "last.ipynb")
    page.close(run_before_unload=True)
    answer = answer_when(agent, lambda a: a["status"] == "no_lab", 'status "no_lab"')
    assert "No JupyterLab is open" in answer["message"]
