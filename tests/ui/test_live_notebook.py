"""A notebook open in JupyterLab with real-time collaboration, driven by headless Chromium while an MCP
client edits and runs it: the agent's cells and outputs appear in the page without a reload or a
"File Changed" dialog, and what the person types meanwhile survives on the page, in the agent's reads
and in the saved file."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, run_lab

SCREENSHOT = Path("/tmp/live-notebook.png")
#: Seconds within which an agent's change must show in the page.
SHOWS_WITHIN = 10.0


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    """`jupyter lab` with jupyter-collaboration and this extension, on a free port and a temp root."""
    base = tmp_path_factory.mktemp("live-lab")
    with run_lab(
        base,
        "--ServerApp.jpserver_extensions="
        "{'jupyter_mcp_ext': True, 'jupyter_server_ydoc': True, 'jupyter_server_fileid': True}",
        f"--SQLiteYStore.db_path={base / 'ystore.db'}",
        f"--BaseFileIdManager.db_path={base / 'fileid.db'}",
    ) as server:
        yield server


class Agent:
    """An MCP client over HTTP, run on an event loop of its own thread (Playwright's sync API has this one)."""

    def __init__(self, lab: LabProcess) -> None:
        self.lab = lab
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: Any = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        # The client's context is entered and left in one task (anyio's cancel scopes require it).
        self._session = self.call_soon(self._run())
        if not self._ready.wait(timeout=60):
            raise AssertionError(f"the MCP client did not connect: {self._session}")

    def call_soon(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def _run(self) -> None:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        self._stop = asyncio.Event()
        headers = {"Authorization": f"token {self.lab.token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{self.lab.url}mcp", http_client=http)
            info = Implementation(name="test-agent", version="1")
            async with Client(transport, mode="legacy", client_info=info) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        async def run() -> dict[str, Any]:
            result = await self.client.call_tool(tool, arguments)
            assert not result.is_error, result.content[0].text
            return result.structured_content or json.loads(result.content[0].text)

        return self.call_soon(run()).result(timeout=120)

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._session.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def agent(lab: LabProcess) -> Iterator[Agent]:
    client = Agent(lab)
    try:
        yield client
    finally:
        client.close()


def _cells_text(page: Any) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content')).map(e => e.innerText)"
    )


def _wait(check: Any, what: str, timeout: float = SHOWS_WITHIN) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what} (last: {value!r})")
        time.sleep(0.1)


def test_the_agents_cell_and_its_output_appear_in_the_open_notebook_while_the_person_types(lab, agent, browser):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 21"), nbformat.v4.new_code_cell("# notes")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(lab.root / "analysis.ipynb"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page.goto(f"{lab.url}lab/tree/analysis.ipynb?reset&token={lab.token}")
        page.locator(".jp-Notebook .jp-Cell").nth(1).wait_for()
        _wait(lambda: _cells_text(page) == ["x = 21", "# notes"], "the notebook's cells", timeout=60)
        url = page.url

        # The agent adds a cell and runs it; the cell and its output show up in the page.
        added = agent.call("add_cell", path="analysis.ipynb", cell_type="code", source="print('agent says', 2 * 21)")
        _wait(lambda: len(_cells_text(page)) == 3, "the agent's cell in the page")
        kernel_id = agent.call("start_kernel", kernel_name="python3")["kernel_id"]
        run = agent.call(
            "execute_on_kernel",
            kernel_id=kernel_id,
            mode="notebook_cell",
            path="analysis.ipynb",
            cell_id=added["cell_id"],
        )
        assert run["status"] == "ok"
        output = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
        _wait(lambda: "agent says 42" in (output.all_inner_texts() or [""])[0], "the agent's output in the page")

        # The person types in cell 1 while the agent adds ten cells.
        editor = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".cm-content")
        editor.click()
        page.keyboard.press("End")
        typing_done = threading.Event()
        adding = agent.call_soon(_add_cells(agent, 10, typing_done))
        typed = [f" t{i}" for i in range(10)]
        for piece in typed:
            page.keyboard.type(piece, delay=20)
        typing_done.set()
        adding.result(timeout=120)
        expected_notes = "# notes" + "".join(typed)
        _wait(lambda: len(_cells_text(page)) == 13, "the ten cells in the page")
        assert _cells_text(page)[1] == expected_notes, "what the person typed is still on the page"
        read = agent.call("read_cells", path="analysis.ipynb", mode="single", index=1)
        assert read["cell"]["source"] == expected_notes, "the agent reads what the person typed"

        def saved() -> bool:
            try:
                cells = nbformat.read(str(lab.root / "analysis.ipynb"), as_version=4).cells
            except Exception:  # the room is writing the file right now (in place)
                return False
            return len(cells) == 13 and cells[1].source == expected_notes

        _wait(saved, "the saved file with the person's typing and the agent's cells", timeout=20)
        assert page.url == url, "the page was not reloaded"
        assert page.locator(".jp-Dialog").count() == 0, "no dialog (no 'File Changed')"
        assert "agent says 42" in output.inner_text()

        # The agent is listed in jupyter-collaboration's "Online Collaborators", with the notebook.
        page.locator('li.lm-TabBar-tab[data-id="jp-collaboration-panel"]').click()
        panel = page.locator("#jp-collaboration-panel")
        _wait(lambda: "test-agent" in panel.inner_text(), "the agent among the online collaborators")
        page.screenshot(path=str(SCREENSHOT))
    finally:
        page.close()


async def _add_cells(agent: Agent, count: int, typing_done: threading.Event) -> None:
    for i in range(count):
        result = await agent.client.call_tool(
            "add_cell", {"path": "analysis.ipynb", "cell_type": "markdown", "source": f"agent note {i}"}
        )
        assert not result.is_error, result.content[0].text
        if not typing_done.is_set():
            await asyncio.sleep(0.05)
