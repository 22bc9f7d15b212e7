"""No result over max_result_chars: cut at cell and output boundaries, with the call that returns the rest."""

from __future__ import annotations

import nbformat
import pytest

from ..conftest import listed_cells, result_json

BUDGET = 6_000


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "MCPExtensionApp": {"max_result_chars": BUDGET}}


def big_notebook(root, path="big.ipynb", cells=300, output_chars=300):
    nb = nbformat.v4.new_notebook()
    for i in range(cells):
        cell = nbformat.v4.new_code_cell(f"print('row {i}')  # " + "x" * 40)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"row {i} " + "y" * output_chars + "\n")]
        cell.execution_count = i + 1
        nb.cells.append(cell)
    nbformat.write(nb, str(root / path))
    return nb


def call_of(hint: str) -> dict:
    """The arguments of the read_cells(...) call a continuation hint names."""
    import ast

    text = hint[hint.index("read_cells(") + len("read_cells") :]
    text = text[: text.index(")") + 1]
    node = ast.parse(f"f{text}").body[0].value
    return {k.arg: ast.literal_eval(k.value) for k in node.keywords}


@pytest.mark.parametrize("mode", ["list", "all"])
async def test_following_the_continuation_reads_every_cell_once_within_the_budget(mcp_client, jp_root_dir, mode):
    big_notebook(jp_root_dir)
    seen, pages = [], 0
    args = {"path": "big.ipynb", "mode": mode}
    async with mcp_client() as client:
        while True:
            result = await client.call_tool("read_cells", args)
            assert len(result.content[0].text) <= BUDGET
            data = result_json(result)
            seen += [c["index"] for c in (listed_cells(data) if mode == "list" else data["cells"])]
            pages += 1
            if "next_start_index" not in data:
                break
            assert data["next_start_index"] == seen[-1] + 1
            args = call_of(data["truncated"])
    assert seen == list(range(300)) and pages > 2


async def test_a_call_can_ask_for_more_than_the_budget(mcp_client, jp_root_dir):
    big_notebook(jp_root_dir, cells=40)
    async with mcp_client() as client:
        whole = result_json(
            await client.call_tool("read_cells", {"path": "big.ipynb", "mode": "all", "max_result_chars": 0})
        )
        listed = await client.call_tool("list_notebook_files", {})
    assert len(whole["cells"]) == 40 and "truncated" not in whole
    assert "truncated" not in result_json(listed)


async def test_one_cell_larger_than_the_budget_is_cut_between_outputs_and_names_the_call_for_all(
    mcp_client, jp_root_dir
):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("for i in range(40): print(i)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": f"{i} " + "z" * 400}) for i in range(40)]
    nb.cells.append(cell)
    nbformat.write(nb, str(jp_root_dir / "one.ipynb"))
    async with mcp_client() as client:
        cut = await client.call_tool("read_cells", {"path": "one.ipynb", "mode": "single", "index": 0})
        data = result_json(cut)
        again = result_json(await client.call_tool("read_cells", call_of(data["cell"]["omitted"])))
    assert len(cut.content[0].text) <= BUDGET
    shown = data["cell"]["outputs"]
    assert 0 < len(shown) < 40 and [o["text"].split()[0] for o in shown] == [str(i) for i in range(len(shown))]
    assert f"Outputs {len(shown)}-39" in data["cell"]["omitted"]
    assert len(again["cell"]["outputs"]) == 40 and "omitted" not in again["cell"]


async def test_read_notebook_cut_short_names_the_rest_and_cannot_be_written_back(mcp_client, jp_root_dir):
    stored = big_notebook(jp_root_dir, cells=60)
    before = (jp_root_dir / "big.ipynb").read_bytes()
    async with mcp_client() as client:
        result = await client.call_tool("read_notebook", {"path": "big.ipynb"})
        data = result_json(result)
        written = await client.call_tool("write_notebook", {"path": "big.ipynb", "content": data["notebook"]})
        # The call the hint names returns the rest, from the first cell left out.
        hint = data["truncated"]
        rest = result_json(await client.call_tool("read_cells", call_of(hint)))
    assert len(result.content[0].text) <= BUDGET
    assert len(data["notebook"]["cells"]) == data["next_start_index"] < 60
    assert rest["cells"][0]["index"] == data["next_start_index"]
    sources = [c["source"] for c in data["notebook"]["cells"] + rest["cells"]]
    assert sources == [c.source for c in stored.cells][: len(sources)] and len(sources) > data["next_start_index"]
    assert written.is_error and "cut short" in written.content[0].text and "delete" in written.content[0].text
    assert (jp_root_dir / "big.ipynb").read_bytes() == before


async def test_list_notebook_files_pages_within_the_budget(mcp_client, jp_root_dir):
    for i in range(120):
        nbformat.write(nbformat.v4.new_notebook(), str(jp_root_dir / f"notebook_with_a_long_name_{i:03}.ipynb"))
    names, start = [], 0
    async with mcp_client() as client:
        while True:
            result = await client.call_tool("list_notebook_files", {"start_index": start})
            assert len(result.content[0].text) <= BUDGET
            data = result_json(result)
            names += [f["name"] for f in data["files"]]
            if "next_start_index" not in data:
                break
            start = data["next_start_index"]
    assert names == sorted(f"notebook_with_a_long_name_{i:03}.ipynb" for i in range(120)) and data["count"] == 120


async def test_inspect_outputs_of_a_long_notebook_stays_within_the_budget(mcp_client, jp_root_dir):
    big_notebook(jp_root_dir, cells=300)
    async with mcp_client() as client:
        result = await client.call_tool("inspect_notebook", {"path": "big.ipynb", "mode": "full"})
    data = result_json(result)
    assert len(result.content[0].text) <= BUDGET
    analysis = data["output_analysis"]
    assert analysis["code_cells"] == 300 and len(analysis["cells"]) < 300
    assert f"start_index={analysis['next_start_index']}" in analysis["truncated"]
