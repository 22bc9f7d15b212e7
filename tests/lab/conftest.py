"""Fixtures of the tests of the person's context: the suite's server with extra config, and a REST client of
``jupyter-mcp-ext/context`` as the Lab extension uses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from ..integrity.conftest import merged


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The suite's server config, plus what a test passes with ``parametrize("jp_server_config", [...], indirect=True)``."""
    return merged(jp_server_config, getattr(request, "param", {}))


class ContextAPI:
    """``jupyter-mcp-ext/context`` with the token, as the Lab extension uses it (each call its own HTTP client)."""

    def __init__(self, contents_api: Callable[..., httpx2.AsyncClient]) -> None:
        self.contents_api = contents_api

    async def request(self, method: str, **kwargs: Any) -> httpx2.Response:
        async with self.contents_api() as http:
            return await http.request(method, "jupyter-mcp-ext/context", **kwargs)

    async def report(self, body: Any) -> httpx2.Response:
        return await self.request("POST", json=body)

    async def current(self) -> dict[str, Any]:
        response = await self.request("GET")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def context_api(contents_api: Callable[..., httpx2.AsyncClient]) -> ContextAPI:
    return ContextAPI(contents_api)


def report(tab: str = "tab-a", path: str | None = "a.ipynb", **fields: Any) -> dict[str, Any]:
    """A Lab tab's report as the Lab extension sends it: the notebook ``path`` with its first cell active."""
    body: dict[str, Any] = {"tab": tab, "path": path, "open_notebooks": [path] if path else []}
    if path is not None:
        body.update(cell_index=0, cell_id="c0", cell_type="code", selected_cells=[{"index": 0, "id": "c0"}])
    body.update(fields)
    return body
