"""A person reviews and undoes what an agent changed in a notebook, in file mode and with the notebook open
in JupyterLab (live): every change is listed with who made it and which cells, and reverting it restores
those cells without touching the rest."""

from __future__ import annotations

import datetime as dt

import nbformat

from ..conftest import listed_cells, poll
from .conftest import assert_matches_openapi, call


async def sources(client, path: str) -> list[str]:
    """What the notebook holds now, as the agent reads it (the live document when it is open)."""
    cells = (await call(client, "read_cells", path=path, mode="all"))["cells"]
    return [c["source"] for c in cells]


async def test_each_agent_edit_is_listed_with_its_client_tool_time_and_cells(agent, make_notebook, changes_api):
    path = make_notebook("a.ipynb", ["x = 1", "y = 2"])
    async with agent("claude-code") as client:
        added = await call(client, "add_cell", path=path, cell_type="code", source="z = 3")
        updated = await call(client, "update_cell", path=path, index=0, source="x = 10")
        removed = await call(client, "remove_cell", path=path, index=1)
    changes = await changes_api.list(path)
    assert [c["tool"] for c in changes] == ["remove_cell", "update_cell", "add_cell"], "newest first"
    assert {c["client"] for c in changes} == {"claude-code"}
    assert changes[2]["cells"] == [added["cell_id"]]
    assert changes[1]["cells"] == [updated["cell_id"]]
    assert changes[0]["cells"] == [removed["cell_id"]]
    assert changes[1]["summary"] == "updated cell 0 (source)"
    assert changes[2]["summary"] == "added cell 2: z = 3"
    assert not any(c["reverted"] or c["kept"] for c in changes)
    assert abs(dt.datetime.fromisoformat(changes[0]["time"]).timestamp() - dt.datetime.now().timestamp()) < 120
    detail = await changes_api.get(changes[1]["id"])
    for change in changes:
        assert_matches_openapi("Change", change)
    assert_matches_openapi("ChangeDetail", detail)
    assert [s["cell"]["source"] for s in detail["before"]] == ["x = 1"]
    assert [s["cell"]["source"] for s in detail["after"]] == ["x = 10"]


async def test_reverting_an_update_restores_the_source_and_keeps_the_other_cells(agent, make_notebook, changes_api):
    path = make_notebook("u.ipynb", ["a = 1", "b = 2", "c = 3"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=1, old_text="2", new_text="20")
        await call(client, "update_cell", path=path, index=2, source="c = 30")
        change = (await changes_api.list(path))[1]  # the first of the two
        response = await changes_api.revert(change["id"])
        assert response.status_code == 200, response.text
        assert await sources(client, path) == ["a = 1", "b = 2", "c = 30"]
    body = response.json()
    assert body["reverted"] == [change["id"]] and body["cells"] == change["cells"]
    for record in body["changes"]:
        assert_matches_openapi("Change", record)
    listed = {c["id"]: c for c in await changes_api.list(path)}
    assert listed[change["id"]]["reverted"] is True
    revert = listed[listed[change["id"]]["reverted_by"]]
    assert revert["tool"] == "revert" and revert["client"] == "JupyterLab" and revert["reverts"] == [change["id"]]


async def test_reverting_an_add_removes_the_cell_and_reverting_a_remove_puts_it_back_with_its_id(
    agent, make_notebook, changes_api
):
    path = make_notebook("r.ipynb", ["first", "second", "third"])
    async with agent() as client:
        ids = [c["id"] for c in listed_cells(await call(client, "read_cells", path=path))]
        await call(client, "add_cell", path=path, cell_type="markdown", source="# added", index=1)
        await call(client, "remove_cell", path=path, cell_id=ids[1])
        assert await sources(client, path) == ["first", "# added", "third"]
        remove, add = await changes_api.list(path)
        assert (await changes_api.revert(remove["id"])).status_code == 200
        cells = listed_cells(await call(client, "read_cells", path=path))
        assert [c["id"] for c in cells] == [ids[0], add["cells"][0], ids[1], ids[2]], "back between its neighbours"
        assert (await changes_api.revert(add["id"])).status_code == 200
        assert await sources(client, path) == ["first", "second", "third"]


async def test_reverting_write_notebook_undoes_it_cell_by_cell(agent, make_notebook, changes_api, jp_root_dir):
    path = make_notebook("w.ipynb", ["keep = 1", "change = 2", "drop = 3"])
    async with agent() as client:
        nb = (await call(client, "read_notebook", path=path))["notebook"]
        nb["cells"][1]["source"] = "change = 20"
        del nb["cells"][2]
        nb["cells"].append(nbformat.v4.new_markdown_cell("new"))
        await call(client, "write_notebook", path=path, content=nb)
        (change,) = await changes_api.list(path)
        detail = await changes_api.get(change["id"])
        assert change["tool"] == "write_notebook" and len(change["cells"]) == 3, (detail["before"], detail["after"])
        assert (await changes_api.revert(change["id"])).status_code == 200
        assert await sources(client, path) == ["keep = 1", "change = 2", "drop = 3"]


async def test_an_edit_the_person_made_since_refuses_the_revert_with_409_naming_the_cell_and_changes_nothing(
    agent, make_notebook, changes_api, lab, notebook_backend, contents_api
):
    path = make_notebook("c.ipynb", ["a = 1", "b = 2"])
    async with agent() as client:
        updated = await call(client, "update_cell", path=path, index=0, source="a = 10")
        if notebook_backend == "live":  # typed in the open notebook, not saved yet
            tab = lab.clients[path]
            await tab.wait_for(lambda: tab.sources()[0] == "a = 10", what="the agent's edit in the tab")
            tab.type_into(updated["cell_id"], "  # mine")

            async def typed() -> bool:
                return (await sources(client, path))[0].endswith("# mine")

            await poll(typed, what="the typing to reach the server's document")
        else:  # a save from JupyterLab, as its REST API makes it
            async with contents_api() as http:
                model = (await http.get(f"api/contents/{path}")).json()
                model["content"]["cells"][0]["source"] = "a = 10  # mine"
                assert (await http.put(f"api/contents/{path}", json={"type": "notebook", **model})).status_code == 200
        (change,) = await changes_api.list(path)
        response = await changes_api.revert(change["id"])
        assert response.status_code == 409, response.text
        assert_matches_openapi("Error", response.json())
        assert response.json()["cells"] == [updated["cell_id"]]
        assert updated["cell_id"] in response.json()["message"]
        assert await sources(client, path) == ["a = 10  # mine", "b = 2"]
    assert not (await changes_api.list(path))[0]["reverted"]


async def test_running_a_cell_since_is_no_conflict_and_its_new_outputs_stay(agent, make_notebook, changes_api):
    path = make_notebook("o.ipynb", ["print('old')"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="print('new')")
        kernel = await call(client, "start_kernel")
        try:
            await call(client, "execute_on_kernel", kernel_id=kernel["kernel_id"], mode="notebook", path=path)
        finally:
            await call(client, "stop_kernel", kernel_id=kernel["kernel_id"])
        update = next(c for c in await changes_api.list(path) if c["tool"] == "update_cell")
        assert (await changes_api.revert(update["id"])).status_code == 200
        cell = (await call(client, "read_cells", path=path, mode="single", index=0))["cell"]
    assert cell["source"] == "print('old')"
    assert "new" in str(cell["outputs"]), "the outputs of the run after the change stay"


async def test_a_revert_can_be_reverted(agent, make_notebook, changes_api):
    path = make_notebook("rr.ipynb", ["v = 1"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="v = 2")
        (change,) = await changes_api.list(path)
        revert = (await changes_api.revert(change["id"])).json()["changes"][0]
        assert await sources(client, path) == ["v = 1"]
        assert (await changes_api.revert(revert["id"])).status_code == 200
        assert await sources(client, path) == ["v = 2"]
    listed = {c["id"]: c for c in await changes_api.list(path)}
    assert listed[change["id"]]["reverted"] is False, "the agent's change is in effect again"
    assert listed[revert["id"]]["reverted"] is True


async def test_reverting_all_of_a_session_since_a_change_is_all_or_nothing(
    agent, make_notebook, changes_api, contents_api, notebook_backend, lab
):
    path = make_notebook("all.ipynb", ["one", "two"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="ONE")
        await call(client, "add_cell", path=path, cell_type="code", source="three")
        await call(client, "update_cell", path=path, index=1, source="TWO")
        ids = [c["id"] for c in await changes_api.list(path)]
        # The person edits the cell the agent added: its removal is refused, so nothing is reverted.
        added = listed_cells(await call(client, "read_cells", path=path))[2]["id"]
        await call(client, "update_cell", path=path, index=2, source="three!")  # stands for the person's typing
        ids_then = [c["id"] for c in await changes_api.list(path)]
        response = await changes_api.revert_all(ids)
        assert response.status_code == 409 and response.json()["cells"] == [added]
        assert await sources(client, path) == ["ONE", "TWO", "three!"]
        # Everything since the first change, the edit of the added cell included, goes at once.
        response = await changes_api.revert_all(ids_then)
        assert response.status_code == 200, response.text
        assert await sources(client, path) == ["one", "two"]


async def test_keep_takes_a_change_out_of_the_review_and_keeps_its_record(agent, make_notebook, changes_api):
    path = make_notebook("k.ipynb", ["k = 1"])
    async with agent() as client:
        await call(client, "update_cell", path=path, index=0, source="k = 2")
    (change,) = await changes_api.list(path)
    response = await changes_api.keep(change["id"])
    assert response.status_code == 200 and response.json()["kept"] is True
    assert (await changes_api.list(path))[0]["kept"] is True


async def test_outputs_an_agent_wrote_by_running_the_notebook_are_one_change_and_revert_to_the_old_ones(
    agent, make_notebook, changes_api, jp_root_dir
):
    path = make_notebook("run.ipynb", ["print('a')", "print('b')"])
    async with agent() as client:
        kernel = await call(client, "start_kernel")
        try:
            await call(client, "execute_on_kernel", kernel_id=kernel["kernel_id"], mode="notebook", path=path)
        finally:
            await call(client, "stop_kernel", kernel_id=kernel["kernel_id"])
        (change,) = await changes_api.list(path)
        assert change["tool"] == "execute_on_kernel" and len(change["cells"]) == 2
        assert change["summary"].startswith("updated cells 0, 1 (outputs")
        assert (await changes_api.revert(change["id"])).status_code == 200
        cells = (await call(client, "read_cells", path=path, mode="all"))["cells"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells)
