"""Fixtures of the agent-change tests: they run in both notebook modes (file, and open in JupyterLab's
real-time collaboration), with a REST client of the changes API and MCP clients with a name."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp.types import Implementation

from ..conftest import result_json
from ..integrity.conftest import merged
from ..live.fixtures import (  # noqa: F401  (fixtures)
    collaboration_config,
    data_notebook,
    lab,
    make_notebook,
    mcp_client,
    merge_config,
    notebook_backend,
)


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    notebook_backend: str,  # noqa: F811
    jp_root_dir: Any,
    request: Any,
) -> Any:
    """The suite's server, with collaboration in live mode, plus what a test passes with
    ``parametrize("jp_server_config", [...], indirect=True)``."""
    if notebook_backend == "live":
        jp_server_config = merge_config(jp_server_config, collaboration_config(jp_root_dir))
    return merged(jp_server_config, getattr(request, "param", {}))


@pytest.fixture
def agent(mcp_client: Callable[..., Any]) -> Callable[..., AbstractAsyncContextManager[Any]]:  # noqa: F811
    """``async with agent("claude-code") as client``: an MCP client that names itself."""

    def connect(name: str = "review-agent", **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        return mcp_client(client_info=Implementation(name=name, version="1"), **kwargs)

    return connect


OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "changes-openapi.yaml"


def assert_matches_openapi(schema_name: str, instance: dict[str, Any]) -> None:
    """Check a response against docs/changes-openapi.yaml, so that the document stays true."""
    validator = pytest.importorskip("openapi_schema_validator")
    spec = yaml.safe_load(OPENAPI.read_text())
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    validator.validate(instance, schema, cls=validator.OAS30Validator)


async def call(client: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool and return its JSON result (fails on a tool error)."""
    return result_json(await client.call_tool(tool, arguments))


class ChangesAPI:
    """The changes REST API, as JupyterLab's review uses it (each call its own HTTP client)."""

    def __init__(self, contents_api: Callable[..., Any]) -> None:
        self.contents_api = contents_api

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        async with self.contents_api() as http:
            return await http.request(method, url, **kwargs)

    async def list(self, path: str) -> list[dict[str, Any]]:
        response = await self.request("GET", "jupyter-mcp-ext/changes", params={"path": path})
        assert response.status_code == 200, response.text
        return list(response.json()["changes"])

    async def get(self, change_id: str) -> dict[str, Any]:
        response = await self.request("GET", f"jupyter-mcp-ext/changes/{change_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def revert(self, change_id: str) -> Any:
        return await self.request("POST", f"jupyter-mcp-ext/changes/{change_id}/revert", json={})

    async def revert_all(self, ids: list[str]) -> Any:
        return await self.request("POST", "jupyter-mcp-ext/changes/revert", json={"ids": ids})

    async def keep(self, change_id: str) -> Any:
        return await self.request("POST", f"jupyter-mcp-ext/changes/{change_id}/keep", json={})


@pytest.fixture
def changes_api(contents_api: Callable[..., Any]) -> ChangesAPI:
    return ChangesAPI(contents_api)
