"""No lost updates: concurrent edits of one notebook over MCP are serialized inside the server."""

from __future__ import annotations

import asyncio
from collections import Counter

import nbformat
import pytest

from ..conftest import MODES, listed_cells, result_json

CALLS = 100


@pytest.mark.parametrize("mode", MODES)
async def test_a_hundred_concurrent_add_cell_calls_leave_a_hundred_new_cells(
    mcp_client, make_notebook, jp_root_dir, mode
):
    make_notebook("busy.ipynb", ["# existing 0", "# existing 1"])
    sources = [f"cell_{i} = {i}" for i in range(CALLS)]
    async with mcp_client(mode=mode) as first, mcp_client(mode=mode) as second:
        clients = [first, second]
        results = await asyncio.gather(
            *(
                clients[i % 2].call_tool("add_cell", {"path": "busy.ipynb", "cell_type": "code", "source": source})
                for i, source in enumerate(sources)
            )
        )
    answers = [result_json(r) for r in results]
    assert sorted(a["cell_index"] for a in answers) == list(range(2, 2 + CALLS)), "each call got its own index"
    assert sorted(a["cell_count"] for a in answers) == list(range(3, 3 + CALLS))
    nb = nbformat.read(str(jp_root_dir / "busy.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert len(nb.cells) == 2 + CALLS
    assert [c.source for c in nb.cells[:2]] == ["# existing 0", "# existing 1"]
    assert Counter(c.source for c in nb.cells[2:]) == Counter(sources)
    assert len({c.id for c in nb.cells}) == len(nb.cells), "cell ids stay unique"
    index_of_id = {a["cell_id"]: a["cell_index"] for a in answers}
    assert all(index_of_id[c.id] == i for i, c in enumerate(nb.cells) if i >= 2), "reported indices match the file"


async def test_concurrent_updates_and_inserts_on_one_notebook_all_land(mcp_client, make_notebook, jp_root_dir):
    make_notebook("mixed.ipynb", [f"v{i} = 0" for i in range(20)])
    async with mcp_client() as client:
        updates = [
            client.call_tool("update_cell", {"path": "mixed.ipynb", "index": i, "source": f"v{i} = 1"})
            for i in range(20)
        ]
        inserts = [
            client.call_tool("add_cell", {"path": "mixed.ipynb", "cell_type": "markdown", "source": f"note {i}"})
            for i in range(20)
        ]
        results = await asyncio.gather(*updates, *inserts)
    assert all(not r.is_error for r in results)
    nb = nbformat.read(str(jp_root_dir / "mixed.ipynb"), as_version=4)
    assert [c.source for c in nb.cells[:20]] == [f"v{i} = 1" for i in range(20)]
    assert sorted(c.source for c in nb.cells[20:]) == sorted(f"note {i}" for i in range(20))


@pytest.mark.parametrize("mode", MODES)
async def test_cell_id_names_the_same_cell_while_another_client_inserts_cells_above_it(
    mcp_client, make_notebook, jp_root_dir, mode
):
    make_notebook("ids.ipynb", [f"v{i} = 0" for i in range(5)])
    async with mcp_client(mode=mode) as agent, mcp_client(mode=mode) as other:
        listed = result_json(await agent.call_tool("read_cells", {"path": "ids.ipynb"}))
        ids = [c["id"] for c in listed_cells(listed)]
        inserts = [
            other.call_tool(
                "add_cell", {"path": "ids.ipynb", "cell_type": "markdown", "source": f"above {i}", "index": 0}
            )
            for i in range(10)
        ]
        updates = [
            agent.call_tool("update_cell", {"path": "ids.ipynb", "cell_id": cell_id, "source": f"v{i} = 1"})
            for i, cell_id in enumerate(ids)
        ]
        results = await asyncio.gather(*inserts, *updates)
    answers = [result_json(r) for r in results[10:]]
    assert [a["cell_id"] for a in answers] == ids
    nb = nbformat.read(str(jp_root_dir / "ids.ipynb"), as_version=4)
    by_id = {c.id: c.source for c in nb.cells}
    assert [by_id[i] for i in ids] == [f"v{i} = 1" for i in range(5)], "each update landed on its cell"
    assert len(nb.cells) == 15 and sorted(c.source for c in nb.cells[:10]) == sorted(f"above {i}" for i in range(10))
