"""Notebooks open in JupyterLab with real-time collaboration: the agent edits the shared document."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import nbformat
import pytest
from mcp.types import Implementation

from ..conftest import MODES, error_text, listed_cells, poll, result_json
from .conftest import collaboration

SESSION_EVENTS = "https://schema.jupyter.org/jupyter_collaboration/session/v1"


async def call(client: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    return result_json(await client.call_tool(tool, arguments))


def on_disk(jp_root_dir: Any, path: str) -> Any:
    return nbformat.read(str(jp_root_dir / path), as_version=4)


def room_events(jp_serverapp: Any) -> list[dict[str, Any]]:
    """The collaboration rooms' session events (load, save, overwrite, ...) from now on."""
    events: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=SESSION_EVENTS, listener=listener)
    return events


async def file_sources(jp_root_dir: Any, path: str, expected: list[str], timeout: float = 20.0) -> list[str]:
    """Poll until the file's cell sources are ``expected`` (the room's autosave writes them)."""

    async def saved() -> bool:
        try:
            return [c.source for c in on_disk(jp_root_dir, path).cells] == expected
        except Exception:
            return False

    await poll(saved, timeout=timeout, what=f"{path} to be saved with {expected!r}")
    return expected


async def test_an_agents_edits_appear_in_the_open_notebook_and_the_room_saves_them(
    mcp_client, make_notebook, open_lab, jp_root_dir, jp_serverapp
):
    make_notebook("analysis.ipynb", ["import math", "math.pi"])
    events = room_events(jp_serverapp)
    async with open_lab("analysis.ipynb") as tab, mcp_client() as client:
        first_id = tab.doc.ycells[0]["id"]
        added = await call(client, "add_cell", path="analysis.ipynb", cell_type="markdown", source="# Results")
        await tab.wait_for(lambda: tab.sources() == ["import math", "math.pi", "# Results"], what="the new cell")
        updated = await call(client, "update_cell", path="analysis.ipynb", cell_id=first_id, source="import math as m")
        await tab.wait_for(lambda: tab.sources()[0] == "import math as m", what="the updated cell")
        removed = await call(client, "remove_cell", path="analysis.ipynb", index=1)
        await tab.wait_for(lambda: tab.sources() == ["import math as m", "# Results"], what="the removal")
        assert str(tab.doc.ycells[1]["id"]) == added["cell_id"]
        assert (updated["cell_index"], updated["cell_id"]) == (0, first_id)
        assert removed["removed_index"] == 1 and removed["cell_count"] == 2
        await file_sources(jp_root_dir, "analysis.ipynb", ["import math as m", "# Results"])
        # The event logger hands events to listeners in tasks of their own: they may come a moment later.
        await poll(_async(lambda: any(e.get("action") == "save" for e in events)), what="the room's save event")
    assert [e for e in events if e.get("action") == "overwrite"] == [], "the room never reloaded the file"


async def test_typing_in_one_cell_while_the_agent_adds_twenty_cells_loses_nothing(
    mcp_client, make_notebook, open_lab, jp_root_dir, jp_serverapp
):
    make_notebook("typing.ipynb", ["x = 1", "# notes: "])
    events = room_events(jp_serverapp)
    pieces = [f"<{i}>" for i in range(40)]
    async with open_lab("typing.ipynb") as tab, mcp_client() as client:
        notes_id = str(tab.doc.ycells[1]["id"])

        async def person() -> None:
            for piece in pieces:
                tab.type_into(notes_id, piece)
                await asyncio.sleep(0.01)

        async def agent() -> list[dict[str, Any]]:
            return [
                await call(client, "add_cell", path="typing.ipynb", cell_type="code", source=f"step_{i} = {i}")
                for i in range(20)
            ]

        _, answers = await asyncio.gather(person(), agent())
        expected_notes = "# notes: " + "".join(pieces)
        await tab.wait_for(lambda: len(tab.sources()) == 22, what="the agent's 20 cells")
        read = await call(client, "read_cells", path="typing.ipynb", mode="single", cell_id=notes_id)
        assert read["cell"]["source"] == expected_notes, "the agent reads what the person typed"
        expected = ["x = 1", expected_notes] + [f"step_{i} = {i}" for i in range(20)]
        assert tab.sources() == expected
        assert [a["cell_index"] for a in answers] == list(range(2, 22))
        await file_sources(jp_root_dir, "typing.ipynb", expected)
    assert [e for e in events if e.get("action") == "overwrite"] == []


@collaboration(document_save_delay=60)
async def test_the_agent_reads_what_the_person_typed_before_it_is_saved(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("unsaved.ipynb", ["total = 0"])
    async with open_lab("unsaved.ipynb") as tab, mcp_client() as client:
        tab.type_into(str(tab.doc.ycells[0]["id"]), "\ntotal += 1")
        tab.insert_cell(1, "print(total)")

        async def seen() -> Any:
            data = await call(client, "read_cells", path="unsaved.ipynb", mode="all")
            return [c["source"] for c in data["cells"]] == ["total = 0\ntotal += 1", "print(total)"]

        await poll(seen, what="the person's unsaved edits in read_cells")
        notebook = (await call(client, "read_notebook", path="unsaved.ipynb"))["notebook"]
    assert [c["source"] for c in on_disk(jp_root_dir, "unsaved.ipynb").cells] == ["total = 0"], "not saved yet"
    assert notebook["cells"][1]["source"] == "print(total)" and notebook["nbformat_minor"] == 5
    nbformat.validate(nbformat.from_dict(notebook))


async def test_the_agent_reads_the_notebook_the_room_saves(data_notebook, open_lab, jp_root_dir, jp_serverapp):
    path = data_notebook("notebook2.ipynb")  # nbformat 4.0, a PNG, a PDF and text outputs
    notebooks = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].notebooks
    async with open_lab(path) as tab:
        await notebooks.get(path)  # the first read converts the whole document; the next one, the changed cell
        code = next(i for i, c in enumerate(tab.doc.ycells) if c["cell_type"] == "code")
        tab.type_into(str(tab.doc.ycells[code]["id"]), "\n# typed")
        with tab.doc.ydoc.transaction():
            tab.doc.ycells[code]["execution_count"] = 41.0  # JavaScript's numbers are floats

        async def saved() -> bool:
            try:
                cell = on_disk(jp_root_dir, path).cells[code]
            except Exception:  # the room is writing it
                return False
            return cell.source.endswith("# typed") and cell.execution_count == 41

        await poll(saved, what="the room's save of the person's changes")
        _, read = await notebooks.get(path)
    assert _untrusted(read) == on_disk(jp_root_dir, path)


def _untrusted(nb: Any) -> Any:
    """The notebook without JupyterLab's ``trusted`` marks, which the ContentsManager's save strips
    (and the tools leave out of what they show)."""
    cells = [{**c, "metadata": {k: v for k, v in c.metadata.items() if k != "trusted"}} for c in nb.cells]
    return nbformat.from_dict({**nb, "cells": cells})


async def test_cell_id_lands_on_the_intended_cell_after_the_person_inserts_cells_above(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("ids.ipynb", ["a = 1", "b = 2", "c = 3"])
    async with open_lab("ids.ipynb") as tab, mcp_client() as client:
        listed = await call(client, "read_cells", path="ids.ipynb")
        target = listed_cells(listed)[2]["id"]
        for i in range(3):
            tab.insert_cell(0, f"# inserted by the person {i}")
        await poll(lambda: _count(client, "ids.ipynb", 6), what="the person's inserted cells in the agent's reads")
        updated = await call(client, "update_cell", path="ids.ipynb", cell_id=target, source="c = 30")
        added = await call(client, "add_cell", path="ids.ipynb", cell_type="code", source="d = 4", cell_id=target)
        await tab.wait_for(lambda: tab.sources()[-2:] == ["c = 30", "d = 4"], what="the edits by cell_id")
    assert (updated["cell_index"], updated["cell_id"]) == (5, target)
    assert added["cell_index"] == 6
    await file_sources(
        jp_root_dir,
        "ids.ipynb",
        [*(f"# inserted by the person {i}" for i in (2, 1, 0)), "a = 1", "b = 2", "c = 30", "d = 4"],
    )


async def _count(client: Any, path: str, count: int) -> bool:
    return (await call(client, "read_cells", path=path))["cell_count"] == count


async def test_a_cell_id_the_person_deleted_is_an_error_naming_the_cells_around_it(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("gone.ipynb", [f"v{i}" for i in range(8)])
    before = on_disk(jp_root_dir, "gone.ipynb")
    async with open_lab("gone.ipynb") as tab, mcp_client() as client:
        ids = [c["id"] for c in listed_cells(await call(client, "read_cells", path="gone.ipynb"))]
        with tab.doc.ydoc.transaction():
            del tab.doc.ycells[tab.index_of(ids[4])]
        await poll(lambda: _count(client, "gone.ipynb", 7), what="the deletion in the agent's reads")
        message = error_text(
            await client.call_tool("update_cell", {"path": "gone.ipynb", "cell_id": ids[4], "source": "lost?"})
        )
    assert f"cell_id {ids[4]!r} is not in the notebook" in message and "deleted" in message
    assert ids[3] in message and ids[5] in message, "the cells now around the deleted one are named"
    assert "read_cells(mode='list')" in message
    await file_sources(jp_root_dir, "gone.ipynb", [f"v{i}" for i in range(8) if i != 4])
    assert "lost?" not in json.dumps([c.source for c in on_disk(jp_root_dir, "gone.ipynb").cells])
    assert len(before.cells) == 8


@collaboration(document_cleanup_delay=0.5)
async def test_an_edit_right_after_the_last_tab_closes_is_saved_before_the_room_is_dropped(
    mcp_client, make_notebook, open_lab, jp_root_dir, rooms
):
    make_notebook("closing.ipynb", ["keep = True"])
    async with mcp_client() as client:
        async with open_lab("closing.ipynb") as tab:
            room_id = tab.room_id
        # The tab is closed: the room stays in memory for document_cleanup_delay, then is dropped.
        await call(client, "add_cell", path="closing.ipynb", cell_type="code", source="after_close = 1")
        await poll(_async(lambda: room_id not in rooms()), what="the room to be dropped")
        await call(client, "add_cell", path="closing.ipynb", cell_type="code", source="no_room = 2")
    assert [c.source for c in on_disk(jp_root_dir, "closing.ipynb").cells] == [
        "keep = True",
        "after_close = 1",
        "no_room = 2",
    ]


async def test_edits_while_a_tab_opens_the_notebook_all_land_in_the_file_and_the_tab(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("opening.ipynb", ["start"])
    sources = [f"cell_{i}" for i in range(30)]
    async with mcp_client() as client:

        async def agent() -> None:
            for source in sources:
                await call(client, "add_cell", path="opening.ipynb", cell_type="code", source=source)

        editing = asyncio.create_task(agent())
        await asyncio.sleep(0.05)
        async with open_lab("opening.ipynb") as tab:
            await editing
            await tab.wait_for(lambda: tab.sources() == ["start", *sources], what="every cell in the tab")
            await file_sources(jp_root_dir, "opening.ipynb", ["start", *sources])


def _async(check: Any) -> Any:
    async def run() -> Any:
        return check()

    return run


@pytest.mark.parametrize("mode", MODES)
async def test_the_agent_appears_among_the_notebooks_collaborators_while_it_works(
    mcp_client, make_notebook, open_lab, open_lab_awareness, mode
):
    make_notebook("team.ipynb", ["x = 1"])
    async with (
        open_lab_awareness() as everyone,
        open_lab("team.ipynb") as tab,
        mcp_client(mode=mode, client_info=Implementation(name="claude-code", version="1")) as client,
    ):
        assert tab.others() == []
        await call(client, "add_cell", path="team.ipynb", cell_type="code", source="y = 2")
        states = await tab.wait_for(tab.others, what="the agent's awareness state")
        user = states[0]["user"]
        assert (user["name"], user["display_name"], user["initials"]) == ("claude-code", "claude-code", "CC")
        assert user["username"] == "mcp-claude-code" and user["color"].startswith("var(--jp-collaborator-color")
        online = await everyone.wait_for(everyone.others, what="the agent in the Online Collaborators")
        assert online[0]["user"]["name"] == "claude-code"
        assert (online[0]["current"], online[0]["documents"]) == ("notebook:team.ipynb", ["team.ipynb"])
        async with open_lab("team.ipynb", user="colleague") as late:
            joined = await late.wait_for(
                lambda: [s for s in late.others() if s["user"]["name"] == "claude-code"], what="the state in a new tab"
            )
    assert joined


@collaboration()
async def test_the_agent_leaves_the_collaborators_when_idle(mcp_client, make_notebook, open_lab, jp_serverapp):
    jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].notebooks.live.presence.idle_timeout = 1.0
    make_notebook("idle.ipynb", ["x = 1"])
    async with (
        open_lab("idle.ipynb") as tab,
        mcp_client(client_info=Implementation(name="agent", version="1")) as client,
    ):
        await call(client, "read_cells", path="idle.ipynb")
        await tab.wait_for(tab.others, what="the agent's awareness state")
        await tab.wait_for(lambda: not tab.others(), timeout=10, what="the agent to leave")


async def test_the_agents_reads_follow_every_change_the_person_makes(mcp_client, make_notebook, open_lab):
    make_notebook("busy.ipynb", [f"c{i}" for i in range(30)])
    rng = random.Random(9)
    async with open_lab("busy.ipynb") as tab, mcp_client() as client:

        async def person() -> None:
            for step in range(150):
                ids = [str(c["id"]) for c in tab.doc.ycells]
                action = rng.choice(["type", "type", "insert", "delete", "outputs"])
                if action == "type" or len(ids) < 5:
                    tab.type_into(rng.choice(ids), f"+{step}")
                elif action == "insert":
                    tab.insert_cell(rng.randrange(len(ids) + 1), f"new {step}")
                elif action == "delete":
                    with tab.doc.ydoc.transaction():
                        del tab.doc.ycells[rng.randrange(len(ids))]
                else:
                    code = [i for i, c in enumerate(tab.doc.ycells) if c["cell_type"] == "code"]
                    with tab.doc.ydoc.transaction():
                        tab.doc.ycells[rng.choice(code)]["execution_count"] = step
                await asyncio.sleep(0.005)

        async def agent() -> None:
            for i in range(15):
                await call(client, "read_cells", path="busy.ipynb", mode="list")
                await call(client, "add_cell", path="busy.ipynb", cell_type="markdown", source=f"agent {i}", index=0)

        await asyncio.gather(person(), agent())

        async def agrees() -> bool:
            data = await call(client, "read_cells", path="busy.ipynb", mode="all")
            mine = [(c["id"], c["source"], c.get("execution_count")) for c in data["cells"]]
            theirs = [(str(c["id"]), str(c["source"]), c.get("execution_count")) for c in tab.doc.ycells]
            return mine == [(i, s, int(n) if isinstance(n, float) else n) for i, s, n in theirs]

        await poll(agrees, what="the agent's read to equal the person's notebook")
        assert len(tab.doc.ycells) >= 15
