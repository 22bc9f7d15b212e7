"""``jupyter-mcp-ext/context`` and ``get_active_notebook`` without a browser: what a Lab tab reports is what the
tool answers, in both protocol modes; a report that is not one is refused with a 400 that names the field; the
route is authenticated and authorized as Jupyter's contents API."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from jupyter_server.auth.authorizer import Authorizer

from ..conftest import MODES, result_json
from .conftest import report


async def active_notebook(mcp_client: Any, mode: str = "legacy") -> dict[str, Any]:
    async with mcp_client(mode=mode) as client:
        return result_json(await client.call_tool("get_active_notebook", {}))


@pytest.mark.parametrize("mode", MODES)
async def test_with_no_lab_open_the_tool_says_so_plainly(mcp_client, mode):
    answer = await active_notebook(mcp_client, mode)
    assert answer["status"] == "no_lab" and "No JupyterLab is open" in answer["message"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_tool_answers_what_the_lab_reported_and_the_get_route_the_same(context_api, mcp_client, mode):
    sent = report("tab-1", "work/a.ipynb", cell_index=2, cell_id="c2", open_notebooks=["work/a.ipynb", "b.ipynb"])
    assert (await context_api.report(sent)).status_code == 204
    answer = await active_notebook(mcp_client, mode)
    assert (answer["status"], answer["path"], answer["cell_index"], answer["cell_id"]) == (
        "active",
        "work/a.ipynb",
        2,
        "c2",
    )
    assert answer["open_notebooks"] == ["b.ipynb"] and answer["focused_at"].endswith("Z")
    got = await context_api.current()
    assert {k: v for k, v in answer.items() if k not in ("success", "seconds_since_focus")} == {
        k: v for k, v in got.items() if k != "seconds_since_focus"
    }


async def test_a_tab_that_closes_or_turns_sharing_off_is_forgotten(context_api, mcp_client):
    await context_api.report(report("tab-1", "a.ipynb"))
    await context_api.report(report("tab-2", "b.ipynb"))
    closed = await context_api.request("DELETE", params={"tab": "tab-2"})
    assert closed.status_code == 204 and (await active_notebook(mcp_client))["path"] == "a.ipynb"
    off = await context_api.request("DELETE", params={"tab": "tab-1", "reason": "off"})
    answer = await active_notebook(mcp_client)
    assert off.status_code == 204 and answer["status"] == "off" and "turned off" in answer["message"]


@pytest.mark.parametrize(
    "body, says",
    [
        ("not json", "not valid JSON"),
        ([report()], "must be a JSON object"),
        ({"path": "a.ipynb"}, "tab: Field required"),
        (report(tab="has space"), "tab: String should match pattern"),
        (report(focus="a.ipynb"), "unknown field focus"),
        (report(cell_index=-1), "cell_index: Input should be greater than or equal to 0"),
        (report(cell_index="3"), "cell_index: Input should be a valid integer"),
        (report(heartbeat="yes"), "heartbeat: Input should be a valid boolean"),
        (report(path="a\x00.ipynb"), "path: String should match pattern"),
        (report(cell_type="sql"), "cell_type: Input should be 'code', 'markdown' or 'raw'"),
        (report(selected_cells=[{"index": i} for i in range(101)]), "selected_cells: List should have at most 100"),
        (report(text_selection={"start": {"line": 0}, "end": {"line": 0, "column": 0}}), "text_selection.start.column"),
    ],
)
async def test_a_report_that_is_not_one_is_400_naming_the_field(context_api, body, says):
    content = body if isinstance(body, str) else None
    kwargs: dict[str, Any] = {"content": content} if content is not None else {"json": body}
    response = await context_api.request("POST", **kwargs)
    assert response.status_code == 400 and says in response.json()["message"], response.text
    assert (await context_api.current())["status"] == "no_lab", "nothing was taken"


@pytest.mark.parametrize(
    "params, says",
    [({}, "tab is required"), ({"tab": "a/b"}, "tab is required"), ({"tab": "t", "reason": "bored"}, "reason must")],
)
async def test_a_delete_without_a_tab_or_with_an_unknown_reason_is_400(context_api, params, says):
    response = await context_api.request("DELETE", params=params)
    assert response.status_code == 400 and says in response.json()["message"]


async def test_the_route_needs_the_token(server_url):
    async with httpx2.AsyncClient(base_url=server_url, timeout=30) as http:
        got = await http.get("jupyter-mcp-ext/context")
        posted = await http.post("jupyter-mcp-ext/context", json=report())
    assert (got.status_code, posted.status_code) == (403, 403)


class ReadOnlyContents(Authorizer):
    """Lets a user read notebooks (and use MCP), but not change them."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "contents" and action == "write")


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": ReadOnlyContents}}], indirect=True)
async def test_a_user_who_may_not_write_contents_may_read_the_focus_but_not_report_it(context_api, mcp_client):
    posted = await context_api.report(report())
    deleted = await context_api.request("DELETE", params={"tab": "tab-a"})
    assert (posted.status_code, deleted.status_code) == (403, 403)
    assert (await context_api.current())["status"] == "no_lab"
    assert (await active_notebook(mcp_client))["status"] == "no_lab"


class NoContents(Authorizer):
    """Lets a user use MCP, but not read notebooks."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "contents"


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": NoContents}}], indirect=True)
async def test_the_tool_needs_read_on_contents(mcp_client):
    async with mcp_client() as client:
        result = await client.call_tool("get_active_notebook", {})
    assert result.is_error and "read contents" in result.content[0].text
