"""The changes API refuses what it cannot do with a 4xx that says what is wrong, and changes nothing: bad and
unknown ids, paths outside the root, a notebook deleted or replaced since, a change already reverted, a user
the Authorizer does not let write. The store keeps within its bound."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from jupyter_server.auth.authorizer import Authorizer

from .conftest import call


@pytest.fixture(params=["file"])
def notebook_backend(request: Any) -> str:
    """These tests are about the API, not the back end: the file only."""
    return str(request.param)


async def test_unknown_and_malformed_ids_are_404_and_400_naming_the_id(changes_api):
    unknown = await changes_api.revert("chg_000000000000")
    malformed = await changes_api.request("GET", "jupyter-mcp-ext/changes/not-an-id")
    assert unknown.status_code == 404 and "chg_000000000000" in unknown.json()["message"]
    assert malformed.status_code == 400 and "'not-an-id' is not a change id" in malformed.json()["message"]
    assert malformed.json()["reason"] == "InvalidArgument"


@pytest.mark.parametrize(
    "body, says",
    [
        ({}, "ids must be a non-empty list"),
        ({"ids": "chg_000000000000"}, "ids must be a non-empty list"),
        ({"ids": []}, "ids must be a non-empty list"),
        ({"ids": ["chg_000000000000"], "force": True}, "Unknown field(s) force"),
    ],
)
async def test_a_batch_revert_with_a_bad_body_is_400(changes_api, body, says):
    response = await changes_api.request("POST", "jupyter-mcp-ext/changes/revert", json=body)
    assert response.status_code == 400 and says in response.json()["message"]


async def test_listing_needs_a_notebook_path_inside_the_root(changes_api):
    missing = await changes_api.request("GET", "jupyter-mcp-ext/changes")
    outside = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": "../../etc/x.ipynb"})
    not_notebook = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": "data.csv"})
    assert missing.status_code == 400 and "path is required" in missing.json()["message"]
    assert outside.status_code == 403 and "leaves the server root" in outside.json()["message"]
    assert not_notebook.status_code == 400 and "not a notebook path" in not_notebook.json()["message"]


async def test_a_change_already_reverted_is_409_and_a_deleted_notebook_is_409(
    agent, make_notebook, changes_api, jp_root_dir
):
    path = make_notebook("d.ipynb", ["a"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="b")
        await call(client, "add_cell", path=path, cell_type="code", source="c")
    update = (await changes_api.list(path))[1]
    assert (await changes_api.revert(update["id"])).status_code == 200
    again = await changes_api.revert(update["id"])
    assert again.status_code == 409 and "already reverted" in again.json()["message"]
    add = (await changes_api.list(path))[1]
    (jp_root_dir / path).unlink()
    gone = await changes_api.revert(add["id"])
    assert gone.status_code == 409 and "no longer exists" in gone.json()["message"]
    assert not (jp_root_dir / path).exists(), "nothing was written"


async def test_a_notebook_replaced_by_a_non_notebook_is_409_and_the_file_is_left_alone(
    agent, make_notebook, changes_api, jp_root_dir
):
    path = make_notebook("n.ipynb", ["a"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="b")
    (change,) = await changes_api.list(path)
    (jp_root_dir / path).write_text("name,value\n1,2\n")
    response = await changes_api.revert(change["id"])
    assert response.status_code == 409 and "no longer a readable notebook" in response.json()["message"]
    assert (jp_root_dir / path).read_text() == "name,value\n1,2\n"


async def test_reverting_a_created_notebook_moves_it_to_the_trash_and_that_revert_brings_it_back(
    agent, changes_api, jp_root_dir
):
    async with agent() as client:
        await call(client, "create_notebook", path="made/new.ipynb")
        await call(client, "add_cell", path="made/new.ipynb", cell_type="code", source="x = 1")
    add, create = await changes_api.list("made/new.ipynb")
    assert create["kind"] == "create" and create["tool"] == "create_notebook"
    lone = await changes_api.revert(create["id"])
    assert lone.status_code == 409, "a cell was added since: it is not the notebook as it was created"
    response = await changes_api.revert_all([add["id"], create["id"]])
    assert response.status_code == 200, response.text
    assert not (jp_root_dir / "made" / "new.ipynb").exists()
    (delete,) = response.json()["changes"]
    assert (await changes_api.revert(delete["id"])).status_code == 200
    assert (jp_root_dir / "made" / "new.ipynb").exists()


class ReadOnlyContents(Authorizer):
    """Lets a user use MCP and read notebooks, but not change files."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "contents" and action == "write")


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": ReadOnlyContents}}], indirect=True)
async def test_a_user_who_may_not_write_contents_can_list_changes_but_not_revert_or_keep(changes_api):
    listed = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": "x.ipynb"})
    revert = await changes_api.revert("chg_000000000000")
    keep = await changes_api.keep("chg_000000000000")
    assert listed.status_code == 200 and listed.json()["changes"] == []
    assert (revert.status_code, keep.status_code) == (403, 403)


async def test_the_changes_api_needs_the_token(server_url):
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.get(f"{server_url}jupyter-mcp-ext/changes", params={"path": "x.ipynb"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "jp_server_config", [{"MCPExtensionApp": {"changes_max_bytes": 20_000}}], indirect=True, ids=["20KB"]
)
async def test_the_record_keeps_within_its_size_bound_dropping_the_oldest(
    agent, make_notebook, changes_api, jp_serverapp
):
    path = make_notebook("big.ipynb", ["start"])
    async with agent() as client:
        for n in range(12):
            await call(client, "update_cell", path=path, index=0, source=f"v = {n}  # " + "x" * 2000)
    changes = await changes_api.list(path)
    store = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].changes.store
    assert store.total_bytes() <= 20_000
    assert 1 < len(changes) < 12, "the newest stay, the oldest went"
    newest = await changes_api.get(changes[0]["id"])
    assert newest["after"][0]["cell"]["source"].startswith("v = 11")


def fileid_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_server_fileid": True}}}


@pytest.mark.parametrize("jp_server_config", [fileid_config()], indirect=True, ids=["fileid"])
async def test_changes_follow_their_notebook_through_a_rename_and_revert_there(
    agent, make_notebook, changes_api, contents_api, jp_root_dir
):
    path = make_notebook("before.ipynb", ["a = 1"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="a = 2")
    async with contents_api() as http:
        renamed = await http.patch("api/contents/before.ipynb", json={"path": "after.ipynb"})
        assert renamed.status_code == 200, renamed.text
    (change,) = await changes_api.list("after.ipynb")
    assert change["path"] == "after.ipynb" and await changes_api.list("before.ipynb") == []
    assert (await changes_api.revert(change["id"])).status_code == 200
    async with agent() as client:
        cell = (await call(client, "read_cells", path="after.ipynb", mode="single", index=0))["cell"]
    assert cell["source"] == "a = 1"


async def test_the_list_gives_only_what_is_still_to_review_when_asked_and_the_newest_n(
    agent, make_notebook, changes_api
):
    path = make_notebook("p.ipynb", ["a", "b", "c"])
    async with agent() as client:
        for i in range(3):
            await call(client, "update_cell", path=path, index=i, source=f"{i}!")
    newest, middle, oldest = await changes_api.list(path)
    assert (await changes_api.keep(oldest["id"])).status_code == 200
    assert (await changes_api.revert(middle["id"])).status_code == 200
    pending = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": path, "pending": "true"})
    assert [c["id"] for c in pending.json()["changes"]] == [newest["id"]]
    limited = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": path, "limit": "2"})
    assert len(limited.json()["changes"]) == 2 and limited.json()["changes"][1]["id"] == newest["id"]
    bad = await changes_api.request("GET", "jupyter-mcp-ext/changes", params={"path": path, "limit": "-1"})
    assert bad.status_code == 400 and "limit must be an integer >= 0" in bad.json()["message"]


async def test_each_record_revert_and_keep_is_an_event_that_matches_its_schema(
    agent, make_notebook, changes_api, jp_serverapp
):
    import jsonschema
    import yaml

    from jupyter_mcp_ext.events import CHANGE_EVENT_SCHEMA_ID, CHANGE_EVENT_SCHEMA_PATH

    schema = yaml.safe_load(CHANGE_EVENT_SCHEMA_PATH.read_text())
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        jsonschema.validate(data, schema)
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=CHANGE_EVENT_SCHEMA_ID, listener=listener)
    try:
        path = make_notebook("e.ipynb", ["a", "b"])
        async with agent("claude-code") as client:
            first = await call(client, "update_cell", path=path, index=0, source="A")
            await call(client, "update_cell", path=path, index=1, source="B")
        second, one = await changes_api.list(path)
        await changes_api.revert(one["id"])
        await changes_api.keep(second["id"])
        await asyncio.sleep(0.2)  # listeners run in tasks of their own
    finally:
        jp_serverapp.event_logger.remove_listener(schema_id=CHANGE_EVENT_SCHEMA_ID, listener=listener)
    actions = [(e["action"], e["tool"]) for e in seen]
    assert actions == [
        ("recorded", "update_cell"),
        ("recorded", "update_cell"),
        ("recorded", "revert"),
        ("reverted", "update_cell"),
        ("kept", "update_cell"),
    ]
    assert seen[0]["client"] == "claude-code" and seen[0]["cells"] == [first["cell_id"]]
    assert seen[3]["reverted"] is True and seen[4]["kept"] is True
