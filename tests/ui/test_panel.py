"""Browser tests of the MCP sidebar panel in a real JupyterLab, driven by headless Chromium."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, run_lab

PANEL_ID = "jupyter-mcp-ext-panel"
PANEL_TAB = f'li.lm-TabBar-tab[data-id="{PANEL_ID}"]'
SCREENSHOT = Path("/tmp/panel.png")


pytestmark = [pytest.mark.ui, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    """`jupyter lab` on a free port with its own config, data and runtime dirs and a temp root dir."""
    with run_lab(tmp_path_factory.mktemp("lab")) as server:
        _check_extension_installed(server)
        yield server


def _check_extension_installed(server: LabProcess) -> None:
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


@pytest.fixture
def lab_page(browser: Browser, lab_server: LabProcess) -> Iterator[Page]:
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


def test_sidebar_panel_shows_endpoint_url_and_server_status(lab_server: LabProcess, lab_page: Page) -> None:
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
    lab_server: LabProcess, lab_page: Page
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
