"""What MCP clients ask before they connect is answered without warning lines in the server's log: OAuth discovery
(a 404 that names the token, so that no client starts an OAuth flow) and the GET probe of the endpoint."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx2
import pytest

from .conftest import TOKEN

DOCUMENTS = ("oauth-protected-resource", "oauth-authorization-server", "openid-configuration")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def probes(server_url: str) -> list[str]:
    """The URLs mcp-remote and the SDKs' clients try, for the endpoint at ``<server_url>mcp`` (RFC 9728 and
    RFC 8414: the well-known path at the root, before the endpoint's path; OpenID Connect: after it too)."""
    parts = urlsplit(server_url)
    root, path = f"{parts.scheme}://{parts.netloc}", f"{parts.path}mcp"
    urls = [f"{root}/.well-known/{document}{suffix}" for document in DOCUMENTS for suffix in (path, "")]
    return [*urls, f"{server_url}mcp/.well-known/openid-configuration", f"{server_url}.well-known/{DOCUMENTS[1]}"]


@pytest.mark.parametrize("jp_base_url", ["/", "/user/ada/"])
async def test_oauth_discovery_gets_a_quiet_404_that_names_the_token(server_url, jp_base_url, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    async with httpx2.AsyncClient(timeout=30) as http:
        answers = [await http.get(url) for url in probes(server_url)]
        heads = [await http.head(url) for url in probes(server_url)[:2]]
    for answer in answers:
        assert answer.status_code == 404, answer.url
        assert answer.json()["message"].startswith("This Jupyter server does not use OAuth: send its token")
        assert "authorization_servers" not in answer.text and "WWW-Authenticate" not in answer.headers
    assert [h.status_code for h in heads] == [404, 404]
    assert warnings_of(caplog) == []
    assert any("404 GET /.well-known/oauth-protected-resource" in r.getMessage() for r in caplog.records)


async def test_the_get_probe_of_the_endpoint_is_logged_at_debug_and_real_refusals_still_warn(
    mcp_url, server_url, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    headers = {"Authorization": f"token {TOKEN}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=30) as http:
        probe = await http.get(mcp_url, headers=headers)
        quiet = warnings_of(caplog)
        caplog.clear()
        elsewhere = await http.get(f"{server_url}no-such-page", headers=headers)
    async with httpx2.AsyncClient(timeout=30) as http:  # without the login cookie the token earned
        no_token = await http.get(mcp_url, headers={"Accept": headers["Accept"]})
    assert probe.status_code == 400 and quiet == []
    assert no_token.status_code == 401 and elsewhere.status_code == 404
    loud = warnings_of(caplog)
    assert any("401 GET" in line for line in loud) and any(
        "404 GET" in line and "no-such-page" in line for line in loud
    )
