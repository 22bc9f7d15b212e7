"""The MCP App views are linked from their tools only for clients that declared MCP Apps support; other clients
see the tools and their results as before."""

from __future__ import annotations

import re

import pytest
from mcp.client.extension import advertise

from ..conftest import MODES

APPS = advertise("io.modelcontextprotocol/ui", {"mimeTypes": ["text/html;profile=mcp-app"]})
VIEWS = {
    "execute_notebook": "ui://jupyter-mcp-ext/job",
    "manage_async_job": "ui://jupyter-mcp-ext/job",
    "read_cells": "ui://jupyter-mcp-ext/notebook",
}


@pytest.mark.parametrize("mode", MODES)
async def test_an_apps_client_sees_each_tools_view_and_reads_it(mcp_client, mode):
    async with mcp_client(mode=mode, extensions=[APPS]) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        views = {uri: (await client.read_resource(uri)).contents[0] for uri in set(VIEWS.values())}
    assert {name: (tools[name].meta or {}).get("ui", {}).get("resourceUri") for name in VIEWS} == VIEWS
    for view in views.values():
        assert view.mime_type == "text/html;profile=mcp-app"
        assert view.meta["ui"]["csp"] == {
            "connectDomains": [],
            "resourceDomains": [],
            "frameDomains": [],
            "baseUriDomains": [],
        }
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', view.text).group(1)
        assert "default-src 'none'" in csp and "connect-src 'none'" in csp
        assert "fetch(" not in view.text and "XMLHttpRequest" not in view.text and "http://" not in view.text
        assert 'data-theme="dark"' in view.text


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_apps_sees_no_view_and_the_same_results(mcp_client, make_notebook, mode):
    make_notebook("plain.ipynb", ["1"])
    async with mcp_client(mode=mode) as plain, mcp_client(mode=mode, extensions=[APPS]) as apps:
        tools = {t.name: t for t in (await plain.list_tools()).tools}
        without = await plain.call_tool("read_cells", {"path": "plain.ipynb"})
        with_apps = await apps.call_tool("read_cells", {"path": "plain.ipynb"})
    assert all("ui" not in (tools[name].meta or {}) for name in VIEWS)
    assert without.model_dump() == with_apps.model_dump()
