"""A first end-to-end check: the endpoint lists tools and reads a notebook."""

from __future__ import annotations

import pytest

from .conftest import MODES, listed_cells, result_json


@pytest.mark.parametrize("mode", MODES)
async def test_lists_tools_and_reads_cells(mcp_client, make_notebook, mode):
    make_notebook("a.ipynb", ["print(1)", ("markdown", "# Title")])
    async with mcp_client(mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"read_notebook", "read_cells", "add_cell"} <= tools
        data = result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))
        assert [c["preview"] for c in listed_cells(data)] == ["print(1)", "# Title"]
