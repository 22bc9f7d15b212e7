"""Browser tests of the MCP sidebar panel in a real JupyterLab, driven by headless Chromium."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PANEL_ID = "jupyter-mcp-ext-panel"
PANEL_TAB = f'li.lm-TabBar-tab[data-id="{PANEL_ID}"]'
SCREENSHOT = Path("/tmp/panel.png")
SERVER_START_TIMEOUT = 90.0  # seconds; Lab answers after about 3 s on these machines
UI_TIMEOUT_MS = 60_000  # a cold first Lab page load on 2 cores takes a few seconds; leave room


@dataclass
class LabServer:
    """A JupyterLab subprocess: its base URL (ending in "/"), token and log file."""

    url: str
    token: str
    log: Path

    def get_json(self, path: str) -> Any:
        """GET `path` (relative to the base URL) with the token and decode the JSON body."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def _chromium_path() -> str | None:
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CHROMIUM = _chromium_path()

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason=f"Chromium is not installed (looked for {', '.join(CHROMIUM_PATHS)} and PATH; apt-get install chromium)",
    ),
]


# pytest-jupyter's autouse loop and cleanup fixtures clash with the sync Playwright API at teardown, and these
# tests run the server as a subprocess anyway: replace them here with no-ops.
@pytest.fixture
def jp_asyncio_loop() -> Iterator[None]:
    yield None


@pytest.fixture
def jp_server_cleanup() -> Iterator[None]:
    yield


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Run `jupyter lab` on a free port with its own config, data and runtime dirs and a temp root dir."""
    base = tmp_path_factory.mktemp("lab")
    root_dir = base / "root"
    config_dir = base / "config"
    for path in (root_dir, config_dir / "labconfig"):
        path.mkdir(parents=True)
    # The news toast would cover part of the screenshot; the user's own labconfig is not read here anyway.
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ)
    # Only the user-level dirs move: the system entries of JUPYTER_PATH (where pip puts the labextension and the
    # server extension's config) stay visible.
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
    )
    port = _free_port()
    token = secrets.token_hex(16)
    log = base / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, log=log)
            _wait_until_up(server, process)
            _check_extension_installed(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_up(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log.read_text()[-4000:]}")
        try:
            server.get_json("api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(
        f"jupyter lab did not answer /api/status in {SERVER_START_TIMEOUT} s:\n{server.log.read_text()[-4000:]}"
    )


def _check_extension_installed(server: LabServer) -> None:
    request = urllib.request.Request(server.url + "lab", headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
    config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert config is not None, "no jupyter-config-data in the /lab page"
    names = {extension["name"] for extension in json.loads(config.group(1)).get("federated_extensions", [])}
    if "jupyter-mcp-ext" not in names:
        pytest.fail(
            "JupyterLab does not list the jupyter-mcp-ext labextension: `pip install -e .` builds and installs it"
        )
    try:
        server.get_json("jupyter-mcp-ext/status")
    except urllib.error.HTTPError as error:
        pytest.fail(f"GET jupyter-mcp-ext/status answered {error.code}: is the server extension enabled?")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab_page(browser: Browser, lab_server: LabServer) -> Iterator[Page]:
    """A fresh page with JupyterLab loaded and its shell ready."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        # reset: each test starts from the default layout, not the one the previous test left in the workspace.
        page.goto(f"{lab_server.url}lab?reset&token={lab_server.token}")
        # The launcher opens once Lab has restored its (reset) layout: the shell is complete then.
        page.locator(".jp-Launcher").wait_for()
        yield page
    finally:
        page.close()


def test_sidebar_panel_shows_endpoint_url_and_server_status(lab_server: LabServer, lab_page: Page) -> None:
    status = lab_server.get_json("jupyter-mcp-ext/status")

    lab_page.locator(PANEL_TAB).click()

    panel = lab_page.locator(f"#{PANEL_ID}")
    expect(panel).to_be_visible()
    endpoint = f"{lab_server.url}mcp"
    expect(panel.locator(".jp-mcp-ext-url .jp-mcp-ext-code")).to_have_text(endpoint)
    expect(panel.locator(".jp-mcp-ext-version")).to_have_text(status["version"])
    expect(panel.locator(".jp-mcp-ext-toolCount")).to_have_text(str(status.get("tool_count", len(status["tools"]))))
    expect(panel.locator(".jp-mcp-ext-error")).to_have_count(0)
    snippet = panel.locator(".jp-mcp-ext-snippet .jp-mcp-ext-code")
    expect(snippet).to_contain_text(f"claude mcp add --transport http jupyter {endpoint}")
    expect(panel.locator(".jp-mcp-ext-readOnly")).to_have_text("no")
    # Lab's own page config carries the token; the panel must not.
    assert lab_server.token not in panel.inner_html()
    lab_page.screenshot(path=str(SCREENSHOT))


def test_panel_offers_each_clients_snippet_and_copies_the_token_only_when_asked(
    lab_server: LabServer, lab_page: Page
) -> None:
    lab_page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    lab_page.locator(PANEL_TAB).click()
    panel = lab_page.locator(f"#{PANEL_ID}")
    select = panel.locator(".jp-mcp-ext-clientSelect")
    expect(select.locator("option")).to_have_count(6)
    select.select_option("vscode")
    snippet = panel.locator(".jp-mcp-ext-snippet .jp-mcp-ext-code")
    expect(snippet).to_contain_text('"type": "http"')
    expect(snippet).to_contain_text('"Authorization": "token <token>"')
    panel.locator(".jp-mcp-ext-copyWithToken").click()
    expect(panel.locator(".jp-mcp-ext-note")).to_contain_text("Copied with the token")
    copied = lab_page.evaluate("navigator.clipboard.readText()")
    assert f'"Authorization": "token {lab_server.token}"' in copied and f"{lab_server.url}mcp" in copied
    assert lab_server.token not in panel.inner_html(), "the token went to the clipboard, not the page"


def test_palette_command_opens_panel(lab_page: Page) -> None:
    expect(lab_page.locator(f"#{PANEL_ID}")).to_be_hidden()

    lab_page.keyboard.press("Control+Shift+C")
    palette_input = lab_page.locator(".lm-CommandPalette-input")
    palette_input.fill("Show MCP panel")
    lab_page.locator(".lm-CommandPalette-item", has_text=re.compile(r"^Show MCP panel")).first.click()

    expect(lab_page.locator(f"#{PANEL_ID}")).to_be_visible()
    expect(lab_page.locator(f"#{PANEL_ID} .jp-mcp-ext-url .jp-mcp-ext-code")).to_have_text(re.compile(r"/mcp$"))
