"""The MCP App views in a real host: headless Chromium runs the host side of npm ``@modelcontextprotocol/ext-apps``
(``AppBridge``), which renders the view the server serves (``ui://jupyter-mcp-ext/...``) in a sandboxed iframe and
forwards its tool calls to the server through a real MCP client that declared Apps support. Screenshots of each
view go to ``$JUPYTER_MCP_EXT_SCREENSHOTS`` (or the test's temporary folder)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import subprocess
import threading
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import NEEDS_CHROMIUM, LabProcess, run_lab

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.kernel, NEEDS_CHROMIUM]

EXT_APPS = "@modelcontextprotocol/ext-apps@2.0.4"
HOST_JS = """
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

// Render a view as a host does: a sandboxed iframe (scripts, no same origin), the bridge connected before the
// view's first message, then the tool's input and result.
window.mountView = async (html, theme, toolInput, toolResult) => {
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.cssText = "width: 760px; height: 600px; border: 1px solid #888; display: block";
  document.body.appendChild(iframe);
  const bridge = new AppBridge(null, { name: "test-host", version: "1" }, { serverTools: {}, logging: {} },
                               { hostContext: { theme, displayMode: "inline" } });
  bridge.oncalltool = async (params) => JSON.parse(await window.hostCallTool(params.name, JSON.stringify(params.arguments || {})));
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: toolInput });
  await bridge.sendToolResult(toolResult);
  return true;
};
"""
APPS = {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}


def chart_png(width: int = 360, height: int = 180) -> bytes:
    """A bar chart as a PNG, made with the standard library."""
    bars = [0.35, 0.8, 0.55, 0.95, 0.6]
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            slot, inside = divmod(x, width // len(bars))
            bar = bars[min(slot, len(bars) - 1)]
            filled = inside > 10 and height - y < bar * (height - 20)
            row += bytes((54, 112, 196) if filled else (250, 250, 250))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def host_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The host side of ext-apps bundled for the browser (npm: ext-apps with its peers, esbuild)."""
    folder = tmp_path_factory.mktemp("apps-host")
    env = {**os.environ, "npm_config_cache": os.environ.get("npm_config_cache", str(folder / "npm-cache"))}
    npm = ["npm", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([*npm, "init", "-y"], cwd=folder, env=env, check=True, capture_output=True)
    subprocess.run([*npm, "install", EXT_APPS, "esbuild@0.25"], cwd=folder, env=env, check=True, capture_output=True)
    (folder / "host.js").write_text(HOST_JS)
    subprocess.run(
        ["npx", "esbuild", "host.js", "--bundle", "--format=iife", "--outfile=host.bundle.js", "--log-level=error"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return (folder / "host.bundle.js").read_text()


class AppsClient:
    """A real MCP client that declared MCP Apps support, on an event loop of its own thread (Playwright's sync API
    owns the test's); it gives whole results as JSON, as a host passes them to a view."""

    def __init__(self, lab: LabProcess) -> None:
        self.lab = lab
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: Any = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._session = asyncio.run_coroutine_threadsafe(self._run(), self.loop)
        if not self._ready.wait(timeout=60):
            raise AssertionError(f"the MCP client did not connect: {self._session}")

    async def _run(self) -> None:
        import httpx2
        from mcp import Client
        from mcp.client.extension import advertise
        from mcp.client.streamable_http import streamable_http_client

        self._stop = asyncio.Event()
        headers = {"Authorization": f"token {self.lab.token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{self.lab.url}mcp", http_client=http)
            extensions = [advertise(name, settings) for name, settings in APPS.items()]
            async with Client(transport, mode="legacy", extensions=extensions) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.run(self.client.call_tool(name, arguments))
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    def view_of(self, tool: str) -> str:
        """The HTML of the view that ``tool`` links (``_meta.ui.resourceUri``), read from the server."""
        tools = {t.name: t for t in self.run(self.client.list_tools()).tools}
        uri = (tools[tool].meta or {})["ui"]["resourceUri"]
        (content,) = self.run(self.client.read_resource(uri)).contents
        assert content.mime_type == "text/html;profile=mcp-app"
        return content.text

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._session.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def apps_lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("apps-lab")
    with run_lab(base) as lab:
        client = AppsClient(lab)
        try:
            yield lab, client
        finally:
            client.close()


def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("JUPYTER_MCP_EXT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_view(browser: Any, host_script: str, client: AppsClient, tool: str, arguments: dict, result: dict, theme: str):
    page = browser.new_page(viewport={"width": 800, "height": 640}, color_scheme=theme)
    page.expose_function("hostCallTool", lambda name, args: json.dumps(client.call(name, json.loads(args))))
    page.set_content(
        f"<!doctype html><html><body style='margin:0;padding:8px;background:{'#222' if theme == 'dark' else '#eee'}'>"
        f"<script>{host_script}</script></body></html>"
    )
    page.evaluate(
        "([html, theme, input, result]) => window.mountView(html, theme, input, result)",
        [client.view_of(tool), theme, arguments, result],
    )
    return page, page.frame_locator("iframe")


def test_the_job_view_shows_a_running_jobs_progress_and_log_and_cancels_it(browser, host_script, apps_lab, tmp_path):
    lab, client = apps_lab
    cells = [
        nbformat.v4.new_code_cell(f"import time; print('step {i}', flush=True); time.sleep(1.2)") for i in range(6)
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(lab.root / "steps.ipynb"))
    arguments = {"notebook_path": "steps.ipynb", "mode": "async"}
    result = client.call("execute_notebook", arguments)
    page, view = open_view(browser, host_script, client, "execute_notebook", arguments, result, "light")
    view.locator("#status.running").wait_for(timeout=60_000)
    view.locator("#current-section:not([hidden])").wait_for(timeout=30_000)
    view.locator("#log", has_text="step 1").wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots(tmp_path) / "job-view-running-light.png"))
    assert "steps.ipynb" in view.locator("#title").inner_text()
    assert "of 6 cells" in view.locator("#cells").inner_text()

    view.locator("#cancel").click()
    view.locator("#status.cancelled").wait_for(timeout=60_000)
    page.screenshot(path=str(screenshots(tmp_path) / "job-view-cancelled-light.png"))
    status = client.call("manage_async_job", {"operation": "status", "job_id": result["structuredContent"]["job_id"]})
    assert status["structuredContent"]["status"] == "cancelled"
    page.close()


def test_the_job_view_in_dark_shows_a_finished_job(browser, host_script, apps_lab, tmp_path):
    lab, client = apps_lab
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('all done')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(lab.root / "quick.ipynb"))
    arguments = {"notebook_path": "quick.ipynb", "mode": "sync"}
    result = client.call("execute_notebook", arguments)
    page, view = open_view(browser, host_script, client, "execute_notebook", arguments, result, "dark")
    view.locator("#status.completed").wait_for(timeout=30_000)
    view.locator("#log", has_text="all done").wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots(tmp_path) / "job-view-completed-dark.png"))
    assert view.locator("html").get_attribute("data-theme") == "dark"
    assert view.locator("#percent").inner_text() == "100%"
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_notebook_view_renders_cells_outputs_and_a_chart(browser, host_script, apps_lab, tmp_path, theme):
    lab, client = apps_lab
    chart = nbformat.v4.new_code_cell("plot_sales()", execution_count=3)
    chart.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Quarterly sales\n"),
        nbformat.v4.new_output(
            "display_data", data={"image/png": base64.b64encode(chart_png()).decode(), "text/plain": "<Figure 360x180>"}
        ),
    ]
    failing = nbformat.v4.new_code_cell("1 / 0", execution_count=4)
    failing.outputs = [
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Q1 report\nSales by *region*, from `sales.csv`."), chart, failing]
    )
    nbformat.write(nb, str(lab.root / "report.ipynb"))
    arguments = {"path": "report.ipynb", "mode": "list"}
    result = client.call("read_cells", arguments)
    page, view = open_view(browser, host_script, client, "read_cells", arguments, result, theme)
    view.locator("#count", has_text="3 cells").wait_for(timeout=30_000)
    image = view.locator("img")
    image.wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots(tmp_path) / f"notebook-view-{theme}.png"))
    assert view.locator("h1", has_text="Q1 report").count() == 1
    assert image.evaluate("img => img.naturalWidth") == 360
    assert "ZeroDivisionError: division by zero" in view.locator(".error").inner_text()
    assert view.locator(".prompt").first.inner_text() == "[3]:"
    page.close()
