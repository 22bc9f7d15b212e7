"""Agent changes in a real JupyterLab, driven by headless Chromium while a real MCP client edits the open
notebook: the toolbar counts the changes, the review shows each one's diff, and Revert puts the cell back in
the open notebook without a reload or a "File Changed" dialog, with real-time collaboration (the module's Lab)
and without it (a Lab of its own). Screenshots of the review, the toolbar item and a marked cell, in the light
and the dark theme, go to the test's tmp directory, and also to $AGENT_CHANGES_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, MCPAgent, run_lab

AGENT_NAME = "claude-code"
EXPECT_TIMEOUT_MS = 20_000
TOOLBAR_ITEM = ".jp-NotebookPanel .jp-mcp-ext-AgentChangesItem"
REVIEW = ".jp-mcp-ext-ChangesReview"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _collaboration_installed() -> bool:
    try:
        import jupyter_server_ydoc  # noqa: F401
    except ImportError:
        return False
    return True


pytestmark = [
    pytest.mark.ui,
    pytest.mark.kernel,
    NEEDS_CHROMIUM,
    pytest.mark.skipif(
        not _collaboration_installed(), reason='jupyter-collaboration is not installed (pip install ".[collaboration]")'
    ),
]


class ChangesLab(LabProcess):
    """A JupyterLab subprocess with this extension, and the REST calls the tests check the server with."""

    def request(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def changes(self, path: str) -> list[dict[str, Any]]:
        return list(self.request("GET", f"jupyter-mcp-ext/changes?path={path}")["changes"])

    def write_notebook(self, name: str, sources: list[str]) -> str:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        nb.metadata["kernelspec"] = KERNELSPEC
        nbformat.write(nb, str(self.root / name))
        return name


def _lab_args(base: Path, collaboration: bool) -> list[str]:
    """Lab with this extension and jupyter-collaboration; ``collaboration`` False turns real-time collaboration
    off in the page (notebooks then open from the file, and an agent's edit changes the file on disk)."""
    return [
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.jpserver_extensions="
        "{'jupyter_mcp_ext': True, 'jupyter_server_ydoc': True, 'jupyter_server_fileid': True}",
        f"--YDocExtension.disable_rtc={not collaboration}",
        f"--SQLiteYStore.db_path={base / 'ystore.db'}",
        f"--BaseFileIdManager.db_path={base / 'fileid.db'}",
        f"--MCPExtensionApp.changes_db_path={base / 'changes' / 'changes.sqlite'}",
    ]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChangesLab]:
    """`jupyter lab` with real-time collaboration and this extension, on a free port and a temp root."""
    base = tmp_path_factory.mktemp("changes-lab")
    with run_lab(base, *_lab_args(base, collaboration=True)) as server:
        yield ChangesLab(**vars(server))


@pytest.fixture
def agent(lab: ChangesLab) -> Iterator[MCPAgent]:
    client = MCPAgent(lab, AGENT_NAME)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def open_notebook(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``open_notebook(lab, path)``: a new page with JupyterLab showing the notebook ``path``."""
    pages: list[Page] = []
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    def open_(lab: LabProcess, path: str, width: int = 1400, height: int = 900) -> Page:
        page = browser.new_page(viewport={"width": width, "height": height})
        pages.append(page)
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(f"{lab.url}lab/tree/{path}?reset&token={lab.token}")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
        # The page is never reloaded in these tests: a reload would drop this mark.
        page.evaluate("window.__notReloaded = true")
        return page

    try:
        yield open_
    finally:
        expect.set_options(timeout=5_000)
        for page in pages:
            page.close()


def cell_sources(page: Page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell .jp-InputArea-editor'))"
        ".map(e => e.querySelector('.cm-content').innerText)"
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = EXPECT_TIMEOUT_MS / 1000) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what} (last: {value!r})")
        time.sleep(0.1)


def open_review(page: Page) -> Locator:
    page.locator(TOOLBAR_ITEM).click()
    review = page.locator(REVIEW)
    expect(review).to_be_visible()
    return review


def card(page: Page, change_id: str) -> Locator:
    return page.locator(f'{REVIEW} .jp-mcp-ext-ChangeCard[data-change-id="{change_id}"]')


def type_into_cell(page: Page, index: int, text: str) -> None:
    editor = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(text, delay=10)
    page.keyboard.press("Escape")


def toolbar_count(page: Page) -> str | None:
    """The text of the notebook's "N agent changes" item, None while it is hidden (with the review open beside
    the notebook, the narrower toolbar may have moved it into its "more" menu, where it counts all the same)."""
    return page.evaluate(
        "() => { const item = document.querySelector('.jp-mcp-ext-AgentChangesItem');"
        " return item && !item.classList.contains('lm-mod-hidden') ? item.textContent : null; }"
    )


def no_dialog_and_no_reload(page: Page) -> None:
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded"


def test_the_toolbar_counts_the_agents_changes_and_follows_a_second_edit(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page]
) -> None:
    path = lab.write_notebook("count.ipynb", ["x = 1", "y = 2"])
    page = open_notebook(lab, path)
    item = page.locator(TOOLBAR_ITEM)
    expect(item).to_be_hidden()

    updated = agent.call("update_cell", path=path, index=0, source="x = 10")
    expect(item).to_have_text("1 agent change")
    added = agent.call("add_cell", path=path, cell_type="code", source="z = 3")
    expect(item).to_have_text("2 agent changes")

    # The cells the agent changed (the first and the last) carry the marker, with who and when.
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(page.locator(".jp-Notebook .jp-Cell.jp-mcp-ext-mod-agentChanged")).to_have_count(2)
    expect(cells.nth(1)).not_to_have_class(re.compile("agentChanged"))
    for index, change_id in ((0, lab.changes(path)[1]["id"]), (2, lab.changes(path)[0]["id"])):
        expect(cells.nth(index)).to_have_attribute("data-agent-change", change_id)
        expect(cells.nth(index).locator(".jp-mcp-ext-CellMarker")).to_have_attribute(
            "title", re.compile(rf"^changed by {AGENT_NAME}, (just now|1 min ago) \((update|add)_cell\)")
        )
    assert updated["cell_id"] != added["cell_id"]
    assert cell_sources(page) == ["x = 10", "y = 2", "z = 3"]
    no_dialog_and_no_reload(page)


def test_the_review_shows_the_old_and_the_new_source_of_each_change(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page]
) -> None:
    path = lab.write_notebook("diff.ipynb", ["total = price * qty", "print(total)"])
    page = open_notebook(lab, path)
    agent.call("update_cell", path=path, index=0, source="total = price * qty * (1 - discount)")
    agent.call("add_cell", path=path, cell_type="markdown", source="## Totals after discount", index=1)
    update, add = reversed(lab.changes(path))
    expect(page.locator(TOOLBAR_ITEM)).to_have_text("2 agent changes")

    review = open_review(page)

    expect(review.locator(".jp-mcp-ext-ChangesReview-title")).to_have_text("Agent changes in diff.ipynb")
    expect(review.locator(".jp-mcp-ext-SessionGroup-client")).to_have_text([AGENT_NAME])
    diff = card(page, update["id"]).locator(".jp-mcp-ext-CellDiff")
    expect(diff.locator(".cm-deletedChunk")).to_have_text("total = price * qty")
    expect(diff.locator(".cm-content > .cm-line")).to_have_text(["total = price * qty * (1 - discount)"])
    expect(diff.locator(".cm-changedText")).to_have_text(" * (1 - discount)")
    added = card(page, add["id"]).locator(".jp-mcp-ext-CellDiff.jp-mod-added")
    expect(added.locator(".jp-mcp-ext-CellDiff-header")).to_contain_text("cell 1 · markdown")
    expect(added.locator(".cm-content > .cm-line")).to_have_text(["## Totals after discount"])
    # Newest first; the review sits beside the notebook, and the keyboard starts on the first action.
    ids = review.locator(".jp-mcp-ext-ChangeCard").evaluate_all("cards => cards.map(c => c.dataset.changeId)")
    assert ids == [add["id"], update["id"]]
    assert page.evaluate("document.activeElement.textContent") == "Revert"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Keep"
    boxes = [page.locator(sel).bounding_box() for sel in (".jp-NotebookPanel", ".jp-mcp-ext-ChangesReviewWidget")]
    assert boxes[0] and boxes[1] and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1


def test_revert_restores_the_cell_in_the_open_notebook_without_a_reload_or_a_dialog_and_can_be_undone(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page]
) -> None:
    path = lab.write_notebook("revert.ipynb", ["a = 1", "b = 2"])
    page = open_notebook(lab, path)
    agent.call("update_cell", path=path, index=1, source="b = 20")
    wait_for(lambda: cell_sources(page) == ["a = 1", "b = 20"], "the agent's edit in the page")
    (change,) = lab.changes(path)
    review = open_review(page)

    card(page, change["id"]).get_by_role("button", name="Revert this change").click()

    wait_for(lambda: cell_sources(page) == ["a = 1", "b = 2"], "the reverted cell in the page")
    wait_for(lambda: toolbar_count(page) is None, "the toolbar item hidden")
    expect(page.locator(".jp-Notebook .jp-Cell.jp-mcp-ext-mod-agentChanged")).to_have_count(0)
    expect(review.locator(".jp-mcp-ext-ChangesReview-notice")).to_have_text("Reverted: updated cell 1 (source).")
    assert [c["source"] for c in agent.call("read_cells", path=path, mode="all")["cells"]] == ["a = 1", "b = 2"]
    no_dialog_and_no_reload(page)

    # The reverted change waits below, greyed, and its revert can be undone.
    history = review.locator(".jp-mcp-ext-ChangesHistory")
    history.get_by_role("button", name=re.compile(r"Reverted and kept \(1\)")).click()
    card(page, change["id"]).get_by_role("button", name=re.compile("Undo revert")).click()
    wait_for(lambda: cell_sources(page) == ["a = 1", "b = 20"], "the change back in the page")
    wait_for(lambda: toolbar_count(page) == "1 agent change", "the count back")
    no_dialog_and_no_reload(page)


def test_a_revert_of_a_cell_the_person_typed_in_since_is_refused_naming_the_cell_and_changes_nothing(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page]
) -> None:
    path = lab.write_notebook("conflict.ipynb", ["rate = 0.1", "print(rate)"])
    page = open_notebook(lab, path)
    agent.call("update_cell", path=path, index=0, source="rate = 0.2")
    wait_for(lambda: cell_sources(page)[0] == "rate = 0.2", "the agent's edit in the page")
    type_into_cell(page, 0, "  # checked")
    wait_for(
        lambda: (
            agent.call("read_cells", path=path, mode="single", index=0)["cell"]["source"] == "rate = 0.2  # checked"
        ),
        "the typing in the server's document",
    )
    (change,) = lab.changes(path)
    open_review(page)

    card(page, change["id"]).get_by_role("button", name="Revert this change").click()

    error = card(page, change["id"]).locator(".jp-mcp-ext-ChangeCard-error")
    expect(error).to_contain_text("cannot be reverted")
    expect(error).to_contain_text("In conflict (changed since): cell 0")
    expect(card(page, change["id"]).locator(".jp-mcp-ext-CellDiff.jp-mod-conflict")).to_have_count(1)
    assert cell_sources(page) == ["rate = 0.2  # checked", "print(rate)"]
    assert not lab.changes(path)[0]["reverted"]
    assert toolbar_count(page) == "1 agent change"


def test_revert_all_of_a_session_since_here_reverts_the_later_changes_too_even_a_kept_one(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page]
) -> None:
    path = lab.write_notebook("since.ipynb", ["one", "two"])
    page = open_notebook(lab, path)
    agent.call("update_cell", path=path, index=0, source="ONE")
    agent.call("add_cell", path=path, cell_type="code", source="three")
    agent.call("update_cell", path=path, index=1, source="TWO")
    newest, middle, oldest = lab.changes(path)
    wait_for(lambda: cell_sources(page) == ["ONE", "TWO", "three"], "the agent's edits in the page")
    # The command (palette, notebook context menu) opens the same review as the toolbar item.
    page.evaluate("window.jupyterapp.commands.execute('jupyter-mcp-ext:review-agent-changes')")
    expect(page.locator(REVIEW)).to_be_visible()
    assert page.evaluate("window.jupyterapp.commands.label('jupyter-mcp-ext:review-agent-changes')") == (
        "Review Agent Changes"
    )

    card(page, middle["id"]).get_by_role("button", name=re.compile("^Keep")).click()
    wait_for(lambda: toolbar_count(page) == "2 agent changes", "the kept change out of the count")
    since = card(page, oldest["id"]).get_by_role("button", name=re.compile(r"^Revert all since here \(3\)"))
    since.click()

    wait_for(lambda: cell_sources(page) == ["one", "two"], "every change of the session reverted in the page")
    wait_for(lambda: toolbar_count(page) is None, "the toolbar item hidden")
    assert all(c["reverted"] for c in lab.changes(path) if c["id"] in (newest["id"], middle["id"], oldest["id"]))
    no_dialog_and_no_reload(page)


@pytest.fixture(scope="module")
def file_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChangesLab]:
    """`jupyter lab` with real-time collaboration off: notebooks open from their file."""
    base = tmp_path_factory.mktemp("changes-file-lab")
    with run_lab(base, *_lab_args(base, collaboration=False)) as server:
        yield ChangesLab(**vars(server))


def test_without_collaboration_a_revert_reloads_the_notebook_from_disk_and_a_later_save_needs_no_dialog(
    file_lab: ChangesLab, open_notebook: Callable[..., Page]
) -> None:
    lab = file_lab
    path = lab.write_notebook("file.ipynb", ["a = 1", "b = 2"])
    page = open_notebook(lab, path)
    page.evaluate("window.__context = window.jupyterapp.shell.currentWidget.context")
    context = "window.__context"
    assert page.evaluate(f"{context}.model.collaborative") is False

    # The kernel's language_info and kernelspec make a fresh notebook dirty: save, as a person does, until they
    # have all arrived.
    def saved_and_clean() -> bool:
        if page.evaluate(f"{context}.model.dirty"):
            page.evaluate(f"{context}.save()")
            return False
        page.wait_for_timeout(700)
        return not page.evaluate(f"{context}.model.dirty")

    wait_for(lambda: page.evaluate(f"!!{context}.model.getMetadata('language_info')"), "the kernel's language_info")
    wait_for(saved_and_clean, "the notebook saved, with nothing left unsaved")
    agent = MCPAgent(lab, AGENT_NAME)
    try:
        agent.call("update_cell", path=path, index=1, source="b = 20")
        page.evaluate(f"{context}.revert()")  # File ▸ Reload Notebook from Disk, without its confirmation
        wait_for(lambda: cell_sources(page) == ["a = 1", "b = 20"], "the agent's edit, reloaded from disk")
        (change,) = lab.changes(path)
        review = open_review(page)

        card(page, change["id"]).get_by_role("button", name="Revert this change").click()

        wait_for(lambda: cell_sources(page) == ["a = 1", "b = 2"], "the reverted file, reloaded")
        expect(review.locator(".jp-mcp-ext-ChangesReview-notice")).to_have_text("Reverted: updated cell 1 (source).")
        type_into_cell(page, 0, "  # mine")
        # A save whose file changed on disk since the notebook's last load or save asks "File Changed" first.
        page.evaluate(f"Promise.race([{context}.save(), new Promise(done => setTimeout(done, 5000))])")
        wait_for(
            lambda: (
                [c.source for c in nbformat.read(str(lab.root / path), as_version=4).cells]
                == ["a = 1  # mine", "b = 2"]
            ),
            "the person's save",
        )
        no_dialog_and_no_reload(page)

        # With unsaved typing the notebook is not reloaded (nothing of it is lost), and the review says so.
        agent.call("update_cell", path=path, index=1, source="b = 30")
        type_into_cell(page, 0, " # unsaved")
        (newest, _) = lab.changes(path)[0], None
        card(page, newest["id"]).get_by_role("button", name="Revert this change").click()
        expect(review.locator(".jp-mcp-ext-ChangesReview-notice")).to_contain_text("has unsaved changes")
        assert cell_sources(page)[0] == "a = 1  # mine # unsaved"
        no_dialog_and_no_reload(page)
    finally:
        agent.close()


def test_screenshots_of_the_review_the_toolbar_item_and_the_marked_cells_in_the_light_and_the_dark_theme(
    lab: ChangesLab, agent: MCPAgent, open_notebook: Callable[..., Page], tmp_path: Path
) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import pandas as pd\nsales = pd.DataFrame({'region': ['N', 'S'], 'amount': [3, 5]})"
            ),
            nbformat.v4.new_markdown_cell("## Sales by region\nSome notes."),
            nbformat.v4.new_code_cell("totals = sales.groupby('region').sum()\ntotals"),
            nbformat.v4.new_code_cell("print('done')"),
        ]
    )
    nb.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(nb, str(lab.root / "analysis.ipynb"))
    path = "analysis.ipynb"
    page = open_notebook(lab, path, height=1000)
    agent.call("update_cell", path=path, index=1, source="## Sales by region\nSome notes, checked against the totals.")
    added = agent.call("add_cell", path=path, cell_type="code", source="print('total:', 3 + 5)", index=3)
    agent.call("remove_cell", path=path, index=4)
    kernel_id = agent.call("start_kernel", kernel_name="python3")["kernel_id"]
    try:
        agent.call("execute_on_kernel", kernel_id=kernel_id, mode="notebook_cell", path=path, cell_id=added["cell_id"])
    finally:
        agent.call("stop_kernel", kernel_id=kernel_id)
    other = MCPAgent(lab, "codex")
    try:
        other.call(
            "update_cell",
            path=path,
            index=2,
            source="totals = sales.groupby('region').sum().sort_values('amount', ascending=False)\ntotals",
        )
    finally:
        other.close()
    expect(page.locator(TOOLBAR_ITEM)).to_have_text("5 agent changes")
    # The person edits the cell codex changed: its revert is refused (the review's screenshots show it).
    wait_for(lambda: "sort_values" in cell_sources(page)[2], "codex's edit in the page")
    type_into_cell(page, 2, "  # mine")
    page.mouse.move(0, 0)

    # Light: the notebook with its toolbar item and marked cells, then the review with the refused revert.
    page.screenshot(path=str(tmp_path / "agent-changes-light-notebook.png"))
    page.locator(".jp-NotebookPanel-toolbar").screenshot(path=str(tmp_path / "agent-changes-light-toolbar.png"))
    page.locator(".jp-Notebook .jp-Cell").nth(1).screenshot(path=str(tmp_path / "agent-changes-light-marked-cell.png"))
    review = open_review(page)
    refused = next(c for c in lab.changes(path) if c["client"] == "codex")
    card(page, refused["id"]).get_by_role("button", name="Revert this change").click()
    expect(card(page, refused["id"]).locator(".jp-mcp-ext-ChangeCard-error")).to_contain_text("cell 2")
    page.mouse.move(0, 0)

    shots: dict[str, Path] = {}
    backgrounds: dict[str, str] = {}
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            name = "dark" if "Dark" in theme else "light"
            page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
            expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
            page.wait_for_timeout(600)  # the theme's stylesheet applies
            shots[name] = tmp_path / f"agent-changes-{name}-review.png"
            page.screenshot(path=str(shots[name]))
            review.screenshot(path=str(tmp_path / f"agent-changes-{name}-review-panel.png"))
            backgrounds[name] = review.evaluate("node => getComputedStyle(node).backgroundColor")
        page.locator(".jp-Notebook .jp-Cell").nth(1).screenshot(
            path=str(tmp_path / "agent-changes-dark-marked-cell.png")
        )
        # A narrow review: the notebook and its review share a small window.
        page.set_viewport_size({"width": 980, "height": 800})
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "agent-changes-dark-narrow.png"))
    finally:
        page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    keep = os.environ.get("AGENT_CHANGES_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("agent-changes-*.png"):
            shutil.copy(shot, Path(keep) / shot.name)

    assert all(shot.stat().st_size > 40_000 for shot in (*shots.values(), tmp_path / "agent-changes-dark-narrow.png"))
    assert all(shot.stat().st_size > 2_000 for shot in tmp_path.glob("agent-changes-*.png"))
    assert _luminance(backgrounds["dark"]) < 0.2 < 0.8 < _luminance(backgrounds["light"])
    no_dialog_and_no_reload(page)


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
