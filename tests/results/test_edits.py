"""The edits agents expect: folders made for new notebooks, one exact piece of a source replaced, outputs cleared,
and a read view written back never losing what the file has."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from ..conftest import error_text, result_json


def on_disk(root, path):
    return nbformat.read(str(root / path), as_version=4)


async def test_create_write_and_add_cell_make_missing_folders(mcp_client, jp_root_dir):
    content = {
        "cells": [{"cell_type": "markdown", "source": "# hi", "metadata": {}}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    async with mcp_client() as client:
        created = result_json(await client.call_tool("create_notebook", {"path": "reports/2024/q1.ipynb"}))
        result_json(await client.call_tool("write_notebook", {"path": "drafts/a/b.ipynb", "content": content}))
        added = result_json(
            await client.call_tool("add_cell", {"path": "new/one.ipynb", "cell_type": "code", "source": "x = 1"})
        )
        again = result_json(
            await client.call_tool("add_cell", {"path": "new/one.ipynb", "cell_type": "code", "source": "y = 2"})
        )
    assert created["path"] == "reports/2024/q1.ipynb" and (jp_root_dir / "reports" / "2024").is_dir()
    assert on_disk(jp_root_dir, "drafts/a/b.ipynb").cells[0].source == "# hi"
    assert added["created"] is True and added["cell_index"] == 0 and "created" not in again
    nb = on_disk(jp_root_dir, "new/one.ipynb")
    assert [c.source for c in nb.cells] == ["x = 1", "y = 2"] and nb.metadata.kernelspec["name"] == "python3"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (".hidden/n.ipynb", "hidden"),
        ("a/.secret/n.ipynb", "hidden"),
        ("../outside/n.ipynb", "leaves the server root"),
        ("/etc/jupyter-mcp-test/n.ipynb", "outside the server root"),
    ],
)
async def test_folders_are_never_made_hidden_or_outside_the_root(mcp_client, jp_root_dir, path, words):
    async with mcp_client() as client:
        for tool, args in [
            ("create_notebook", {}),
            ("add_cell", {"cell_type": "code", "source": "x"}),
            ("write_notebook", {"content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}),
        ]:
            assert words in error_text(await client.call_tool(tool, {"path": path, **args}))
    assert sorted(p.name for p in jp_root_dir.iterdir()) == []
    assert not (jp_root_dir.parent / "outside").exists()


async def test_add_cell_with_a_bad_argument_creates_nothing(mcp_client, jp_root_dir):
    async with mcp_client() as client:
        text = error_text(
            await client.call_tool("add_cell", {"path": "x/n.ipynb", "cell_type": "code", "source": "a", "index": 3})
        )
    assert "index 3" in text and not (jp_root_dir / "x").exists()


async def test_add_cell_after_a_cell_id_of_a_notebook_that_does_not_exist_creates_nothing(mcp_client, jp_root_dir):
    async with mcp_client() as client:
        text = error_text(
            await client.call_tool(
                "add_cell", {"path": "y/n.ipynb", "cell_type": "code", "source": "a", "cell_id": "abc"}
            )
        )
    assert "cell_id 'abc'" in text and "omit cell_id" in text and not (jp_root_dir / "y").exists()


async def test_update_cell_replaces_one_exact_piece_and_keeps_the_rest(mcp_client, make_notebook, jp_root_dir):
    make_notebook("e.ipynb", ["import pandas as pd\ndf = pd.read_csv('a.csv')\ndf.head()"])
    async with mcp_client() as client:
        data = result_json(
            await client.call_tool(
                "update_cell", {"path": "e.ipynb", "index": 0, "old_text": "'a.csv'", "new_text": "'b.csv', sep=';'"}
            )
        )
        deleted = await client.call_tool(
            "update_cell", {"path": "e.ipynb", "index": 0, "old_text": "\ndf.head()", "new_text": ""}
        )
    cell = on_disk(jp_root_dir, "e.ipynb").cells[0]
    assert data == {"path": "e.ipynb", "cell_index": 0, "cell_id": cell.id, "updated": True, "success": True}
    assert not deleted.is_error
    assert cell.source == "import pandas as pd\ndf = pd.read_csv('b.csv', sep=';')"


async def test_update_cell_refuses_a_missing_or_ambiguous_piece_and_changes_nothing(
    mcp_client, make_notebook, jp_root_dir
):
    make_notebook("e.ipynb", ["x = 1\nprint(x)\nx = 1\n"])
    before = (jp_root_dir / "e.ipynb").read_bytes()
    async with mcp_client() as client:

        async def refused(**args):
            return error_text(await client.call_tool("update_cell", {"path": "e.ipynb", "index": 0, **args}))

        missing = await refused(old_text="y = 2", new_text="y = 3")
        spaced = await refused(old_text="print(x) ", new_text="print(x + 1)")
        twice = await refused(old_text="x = 1", new_text="x = 2")
        both = await refused(source="z", old_text="x", new_text="y")
        alone = await refused(old_text="x = 1")
        nothing = await refused()
    assert "old_text was not found in the source of cell 0" in missing and "exactly" in missing
    assert "other leading or trailing whitespace" in spaced
    assert "occurs 2 times" in twice and "lines 1, 3" in twice
    assert "not both" in both and "new_text is missing" in alone and "needs source" in nothing
    assert (jp_root_dir / "e.ipynb").read_bytes() == before


async def test_update_cell_can_clear_the_outputs_of_the_old_source(mcp_client, data_notebook, jp_root_dir):
    data_notebook("many_tracebacks.ipynb")
    async with mcp_client() as client:
        data = result_json(
            await client.call_tool(
                "update_cell", {"path": "many_tracebacks.ipynb", "index": 0, "source": "1 + 1", "clear_outputs": True}
            )
        )
    cell = on_disk(jp_root_dir, "many_tracebacks.ipynb").cells[0]
    assert data["outputs_cleared"] is True
    assert (cell.source, cell.outputs, cell.execution_count) == ("1 + 1", [], None)


@pytest.mark.kernel
@pytest.mark.parametrize("outputs", ["shaped", "summary", "none"])
async def test_a_notebook_read_as_a_view_and_written_back_keeps_every_output_and_metadata(
    analysis_notebook, jp_root_dir, outputs
):
    async with analysis_notebook() as client:
        before = on_disk(jp_root_dir, "analysis.ipynb")
        read = result_json(await client.call_tool("read_notebook", {"path": "analysis.ipynb", "outputs": outputs}))
        notebook = read["notebook"]
        notebook["cells"][1]["source"] = "region = 'south'"
        written = result_json(await client.call_tool("write_notebook", {"path": "analysis.ipynb", "content": notebook}))
    after = on_disk(jp_root_dir, "analysis.ipynb")
    assert after.cells[1].source == "region = 'south'"
    for old, new in zip(before.cells, after.cells, strict=True):
        assert new.get("outputs") == old.get("outputs") and new.get("execution_count") == old.get("execution_count")
        assert new.metadata == old.metadata
    if outputs != "none":
        assert "kept the outputs the file has" in written["message"]


@pytest.mark.kernel
async def test_shaped_outputs_on_a_cell_the_file_does_not_have_are_refused(analysis_notebook, jp_root_dir):
    async with analysis_notebook() as client:
        notebook = result_json(await client.call_tool("read_notebook", {"path": "analysis.ipynb"}))["notebook"]
        text = error_text(await client.call_tool("write_notebook", {"path": "copy.ipynb", "content": notebook}))
        cleared = {
            **notebook,
            "cells": [{**c, "outputs": []} if c["cell_type"] == "code" else c for c in notebook["cells"]],
        }
        result_json(await client.call_tool("write_notebook", {"path": "analysis.ipynb", "content": cleared}))
    assert "outputs='raw'" in text and not (jp_root_dir / "copy.ipynb").exists()
    assert all(c.outputs == [] for c in on_disk(jp_root_dir, "analysis.ipynb").cells if c.cell_type == "code")


async def test_a_save_racing_write_notebook_never_replaces_the_outputs_it_just_saved(
    mcp_client, jp_root_dir, contents_api
):
    # write_notebook keeps the file's outputs for cells written without them: it must take them from the
    # file as it is when it saves, not as it was a moment before, while JupyterLab saves new outputs.
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"v = {i}", id=f"cell-{i}") for i in range(400)]
    for cell in nb.cells:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="out 0\n")]
    nbformat.write(nb, str(jp_root_dir / "race.ipynb"))
    async with mcp_client() as client, contents_api() as http:
        view = result_json(await client.call_tool("read_notebook", {"path": "race.ipynb", "outputs": "none"}))
        model = (await http.get("api/contents/race.ipynb")).json()
        for k in range(1, 25):
            for cell in model["content"]["cells"]:
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"out {k}\n"}]

            async def lab_save(k=k):
                # Staggered by 0-28 ms, so that some saves land while write_notebook reads the file.
                await asyncio.sleep((k % 8) * 0.004)
                return await http.put("api/contents/race.ipynb", json={"type": "notebook", "content": model["content"]})

            agent_write = client.call_tool("write_notebook", {"path": "race.ipynb", "content": view["notebook"]})
            saved, written = await asyncio.gather(lab_save(), agent_write)
            assert saved.status_code == 200 and not written.is_error
            texts = {c.outputs[0].text for c in on_disk(jp_root_dir, "race.ipynb").cells}
            assert texts == {f"out {k}\n"}, f"round {k}: the file has outputs {sorted(texts)}"
