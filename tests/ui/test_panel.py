"""Browser tests of the MCP sidebar panel in a real JupyterLab, driven by headless Chromium. Screenshots of the
panel as a new user first sees it (light and dark theme, 1400x900, and a small window where the sidebar is at its
narrowest) go to the test's tmp directory, and also to $MCP_PANEL_SCREENSHOTS when it is set."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from .lab import NEEDS_CHROMIUM, UI_TIMEOUT_MS, LabProcess, MCPAgent, run_lab

PANEL_ID = "jupyter-mcp-ext-panel"
PANEL_TAB = f'li.lm-TabBar-tab[data-id="{PANEL_ID}"]'
SCREENSHOT = Path("/tmp/panel.png")


pytestmark = [pytest.mark.ui, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    """`jupyter lab` on a free port with its own config, data and runtime dirs and a temp root dir."""
    with run_lab(tmp_path_factory.mktemp("lab"), "--LabApp.expose_app_in_browser=True") as server:
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


def _breaks_inside_a_segment(page: Page, selector: str) -> list[str]:
    """The parts of a URL or path shown by ``selector`` (text between its break points) that the browser broke
    across lines: none, when it breaks only where it should (after a "/")."""
    return page.evaluate(
        """selector => {
          const node = document.querySelector(selector);
          const broken = [];
          const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
          for (let text = walker.nextNode(); text; text = walker.nextNode()) {
            const range = document.createRange();
            range.selectNodeContents(text);
            const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
            if (lines.size > 1) broken.push(text.textContent);
          }
          return broken;
        }""",
        selector,
    )


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_screenshots_of_the_panel_as_a_new_user_sees_it_in_the_light_and_the_dark_theme(
    browser: Browser, lab_server: LabProcess, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    shots: dict[str, Path] = {}
    backgrounds: dict[str, str] = {}
    try:
        page.goto(f"{lab_server.url}lab?reset&token={lab_server.token}")
        page.locator(".jp-Launcher").wait_for()
        page.locator(PANEL_TAB).click()
        panel = page.locator(f"#{PANEL_ID}")
        clients = panel.locator(".jp-mcp-ext-sessions")
        expect(clients).to_have_text("none connected")
        page.mouse.move(700, 450)
        panel.screenshot(path=str(tmp_path / "mcp-panel-light-no-client-panel.png"))
        agent = MCPAgent(lab_server, "claude-code")
        try:
            panel.get_by_role("button", name="Refresh the server status").click()
            expect(clients).to_have_text("1 connected")
            for theme in ("JupyterLab Light", "JupyterLab Dark"):
                name = "dark" if "Dark" in theme else "light"
                page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
                expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
                page.set_viewport_size({"width": 1400, "height": 900})
                page.wait_for_timeout(600)  # the theme's stylesheet applies
                page.mouse.move(700, 450)
                page.evaluate("document.activeElement && document.activeElement.blur()")
                shots[name] = tmp_path / f"mcp-panel-{name}.png"
                page.screenshot(path=str(shots[name]))
                panel.screenshot(path=str(tmp_path / f"mcp-panel-{name}-panel.png"))
                backgrounds[name] = panel.evaluate("node => getComputedStyle(node).backgroundColor")
                # Everything a new user needs is above the fold at 1400x900: the endpoint and the client set-up.
                button = panel.locator(".jp-mcp-ext-copyWithToken").bounding_box()
                assert button is not None and button["y"] + button["height"] <= 900, button
                assert _breaks_inside_a_segment(page, f"#{PANEL_ID} .jp-mcp-ext-url .jp-mcp-ext-code") == []
                # A small window: the sidebar at its narrowest.
                page.set_viewport_size({"width": 1024, "height": 700})
                page.wait_for_timeout(400)
                page.screenshot(path=str(tmp_path / f"mcp-panel-{name}-narrow.png"))
                assert _breaks_inside_a_segment(page, f"#{PANEL_ID} .jp-mcp-ext-url .jp-mcp-ext-code") == []
        finally:
            agent.close()
    finally:
        page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
        page.close()
    keep = os.environ.get("MCP_PANEL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("mcp-panel-*.png"):
            shutil.copy(shot, Path(keep) / shot.name)

    assert all(shot.stat().st_size > 20_000 for shot in shots.values())
    assert _luminance(backgrounds["dark"]) < 0.2 < 0.8 < _luminance(backgrounds["light"])
