"""The notebook tools over real MCP HTTP: every tool and mode, spec result fields, real notebooks."""

from __future__ import annotations

import datetime
import json
import os
import platform

import nbformat
import pytest

from ..conftest import MODES, listed_cells, poll, result_json


async def call(client, tool: str, **arguments):
    return result_json(await client.call_tool(tool, arguments))


def on_disk(jp_root_dir, path: str) -> dict:
    """The notebook file as nbformat reads it (multi-line sources joined)."""
    return nbformat.read(str(jp_root_dir / path), as_version=4)


# -- read_notebook / write_notebook / create_notebook -------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_read_notebook_returns_the_whole_notebook_with_spec_fields(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("dir/a.ipynb", ["x = 1", ("markdown", "# Title"), ("raw", "raw text")])
    async with mcp_client(mode=mode) as client:
        data = await call(client, "read_notebook", path="dir/a.ipynb")
    assert data["success"] is True
    assert data["path"] == "dir/a.ipynb"
    assert data["cell_count"] == 3
    nb = data["notebook"]
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    assert [c["source"] for c in nb["cells"]] == ["x = 1", "# Title", "raw text"]
    assert [c["id"] for c in nb["cells"]] == [c["id"] for c in on_disk(jp_root_dir, "dir/a.ipynb")["cells"]]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("mode", MODES)
async def test_write_notebook_replaces_the_file_with_a_valid_notebook(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("w.ipynb", ["old"])
    content = {
        "cells": [
            {"cell_type": "markdown", "source": "# New", "metadata": {}},
            {"cell_type": "code", "source": ["a = 1\n", "a"], "metadata": {"tags": ["t"]}},
        ],
        "metadata": {"title": "written"},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    async with mcp_client(mode=mode) as client:
        data = await call(client, "write_notebook", path="w.ipynb", content=content)
    assert data["success"] is True and data["path"] == "w.ipynb" and data["cell_count"] == 2
    assert "2 cells" in data["message"]
    nb = nbformat.read(str(jp_root_dir / "w.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert [c.source for c in nb.cells] == ["# New", "a = 1\na"]
    assert nb.cells[1].metadata == {"tags": ["t"]} and nb.metadata.title == "written"
    assert all(c.get("id") for c in nb.cells), "nbformat 4.5 cells get ids"


async def test_a_notebook_read_with_shaped_outputs_and_written_back_keeps_the_outputs(
    mcp_client, data_notebook, jp_root_dir, lab
):
    data_notebook("many_tracebacks.ipynb")
    before = on_disk(jp_root_dir, "many_tracebacks.ipynb")
    async with mcp_client() as client:
        notebook = (await call(client, "read_notebook", path="many_tracebacks.ipynb"))["notebook"]
        notebook["cells"][0]["source"] = "# changed\n" + notebook["cells"][0]["source"]
        written = await call(client, "write_notebook", path="many_tracebacks.ipynb", content=notebook)
        reread = await call(client, "read_cells", path="many_tracebacks.ipynb", mode="all", outputs="raw")
    after = on_disk(jp_root_dir, "many_tracebacks.ipynb")
    assert after.cells[0].source.startswith("# changed\n")
    assert "kept the outputs the file has" in written["message"]
    for old, new, seen in zip(before.cells, after.cells, reread["cells"], strict=True):
        assert new.get("outputs") == old.get("outputs") == seen.get("outputs"), old.get("id")


async def test_write_notebook_accepts_the_notebook_as_json_text_and_creates_the_file(mcp_client, jp_root_dir):
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')")]))
    async with mcp_client() as client:
        data = await call(client, "write_notebook", path="fresh.ipynb", content=text)
    assert data["cell_count"] == 1
    assert on_disk(jp_root_dir, "fresh.ipynb")["cells"][0]["source"] == "print('hi')"


@pytest.mark.parametrize("mode", MODES)
async def test_create_notebook_writes_the_kernelspec_and_language_info_of_the_kernel(
    mcp_client, jp_serverapp, jp_root_dir, mode
):
    spec = jp_serverapp.kernel_spec_manager.get_kernel_spec("python3")
    async with mcp_client(mode=mode) as client:
        data = await call(client, "create_notebook", path="new.ipynb", kernel="python3")
    assert data["success"] is True and data["path"] == "new.ipynb" and data["kernel"] == "python3"
    nb = nbformat.read(str(jp_root_dir / "new.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert nb.cells == []
    assert nb.metadata.kernelspec == {"name": "python3", "display_name": spec.display_name, "language": "python"}
    info = nb.metadata.language_info
    assert info["name"] == "python" and info["file_extension"] == ".py" and info["mimetype"] == "text/x-python"
    assert info["version"] == platform.python_version()
    assert data["notebook"]["metadata"] == json.loads(json.dumps(nb.metadata))


async def test_create_notebook_refuses_an_existing_file_and_leaves_it_alone(mcp_client, make_notebook, jp_root_dir):
    make_notebook("exists.ipynb", ["keep me"])
    before = (jp_root_dir / "exists.ipynb").read_bytes()
    async with mcp_client() as client:
        result = await client.call_tool("create_notebook", {"path": "exists.ipynb"})
    assert result.is_error
    text = result.content[0].text
    assert "exists.ipynb" in text and "already exists" in text and "write_notebook" in text
    assert (jp_root_dir / "exists.ipynb").read_bytes() == before


# -- add_cell / update_cell / remove_cell ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_add_cell_appends_by_default_and_inserts_at_an_index(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("a.ipynb", ["first", "second"])
    async with mcp_client(mode=mode) as client:
        appended = await call(client, "add_cell", path="a.ipynb", cell_type="markdown", source="# end")
        inserted = await call(client, "add_cell", path="a.ipynb", cell_type="raw", source="top", index=0)
        middle = await call(client, "add_cell", path="a.ipynb", cell_type="code", source="mid", index=2)
    assert appended == {"path": "a.ipynb", "cell_index": 2, "cell_count": 3, "success": True, "cell_id": ANY_ID}
    assert (inserted["cell_index"], inserted["cell_count"]) == (0, 4)
    assert (middle["cell_index"], middle["cell_count"]) == (2, 5)
    cells = on_disk(jp_root_dir, "a.ipynb")["cells"]
    assert [(c["cell_type"], c["source"]) for c in cells] == [
        ("raw", "top"),
        ("code", "first"),
        ("code", "mid"),
        ("code", "second"),
        ("markdown", "# end"),
    ]
    assert cells[2]["id"] == middle["cell_id"] and cells[2]["outputs"] == []


class _AnyId:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and 1 <= len(other) <= 64

    def __repr__(self) -> str:
        return "<a cell id>"


ANY_ID = _AnyId()


async def test_add_cell_stores_the_given_metadata(mcp_client, make_notebook, jp_root_dir):
    make_notebook("m.ipynb", ["x"])
    async with mcp_client() as client:
        await call(
            client, "add_cell", path="m.ipynb", cell_type="code", source="n = 1", metadata={"tags": ["parameters"]}
        )
    assert on_disk(jp_root_dir, "m.ipynb")["cells"][1]["metadata"] == {"tags": ["parameters"]}


async def test_cell_ids_are_kept_through_edits_and_returned_on_read(mcp_client, make_notebook, jp_root_dir):
    make_notebook("ids.ipynb", ["a", "b", "c"])
    ids = [c["id"] for c in on_disk(jp_root_dir, "ids.ipynb")["cells"]]
    async with mcp_client() as client:
        new = await call(client, "add_cell", path="ids.ipynb", cell_type="code", source="new", index=1)
        await call(client, "update_cell", path="ids.ipynb", index=2, source="b2")
        await call(client, "remove_cell", path="ids.ipynb", index=3)
        listed = await call(client, "read_cells", path="ids.ipynb", mode="list")
        single = await call(client, "read_cells", path="ids.ipynb", mode="single", index=2)
        full = await call(client, "read_cells", path="ids.ipynb", mode="all")
    expected = [ids[0], new["cell_id"], ids[1]]
    assert [c["id"] for c in on_disk(jp_root_dir, "ids.ipynb")["cells"]] == expected
    assert [c["id"] for c in listed_cells(listed)] == expected
    assert [c["id"] for c in full["cells"]] == expected
    assert single["cell"]["id"] == ids[1] and single["cell"]["source"] == "b2"
    assert new["cell_id"] not in ids


@pytest.mark.parametrize("mode", MODES)
async def test_update_cell_replaces_the_source_and_keeps_metadata_outputs_and_id(
    mcp_client, data_notebook, jp_root_dir, mode
):
    data_notebook("many_tracebacks.ipynb")
    before = on_disk(jp_root_dir, "many_tracebacks.ipynb")["cells"][0]
    async with mcp_client(mode=mode) as client:
        data = await call(client, "update_cell", path="many_tracebacks.ipynb", index=0, source="# edited\n1 / 0")
    after = on_disk(jp_root_dir, "many_tracebacks.ipynb")["cells"][0]
    assert data == {
        "path": "many_tracebacks.ipynb",
        "cell_index": 0,
        "cell_id": after["id"],
        "updated": True,
        "success": True,
    }
    assert after["source"] == "# edited\n1 / 0"
    kept = {k: v for k, v in after.items() if k not in ("source", "id")}
    assert kept == {k: v for k, v in before.items() if k not in ("source", "id")}
    assert after["outputs"][0]["output_type"] == "error"


async def test_update_cell_keeps_the_metadata_of_a_parameters_cell(mcp_client, data_notebook, jp_root_dir):
    data_notebook("simple_execute.ipynb")
    async with mcp_client() as client:
        await call(client, "update_cell", path="simple_execute.ipynb", index=0, source="msg = 'hello'")
    nb = on_disk(jp_root_dir, "simple_execute.ipynb")
    assert nb["cells"][0]["metadata"] == {"tags": ["parameters"]}
    assert nb["cells"][0]["source"] == "msg = 'hello'"
    assert nb["metadata"]["celltoolbar"] == "Tags"
    # As JupyterLab saves a notebook it opened: nbformat 4.4 becomes 4.5, every cell gets an id.
    assert nb["nbformat_minor"] == 5 and all(c.get("id") for c in nb["cells"])
    nbformat.validate(nbformat.from_dict(nb))


async def test_read_tools_return_cell_metadata_as_the_file_has_it(mcp_client, data_notebook):
    data_notebook("simple_execute.ipynb")
    async with mcp_client() as client:
        single = await call(client, "read_cells", path="simple_execute.ipynb", mode="single", index=0)
        every = await call(client, "read_cells", path="simple_execute.ipynb", mode="all")
        whole = await call(client, "read_notebook", path="simple_execute.ipynb")
    assert single["cell"]["metadata"] == {"tags": ["parameters"]}
    assert [c["metadata"] for c in every["cells"]] == [{"tags": ["parameters"]}, {}, {}]
    assert [c["metadata"] for c in whole["notebook"]["cells"]] == [{"tags": ["parameters"]}, {}, {}]


@pytest.mark.parametrize("mode", MODES)
async def test_remove_cell_deletes_one_cell_and_reports_the_count(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("r.ipynb", ["a", "b", "c"])
    ids = [c["id"] for c in on_disk(jp_root_dir, "r.ipynb")["cells"]]
    async with mcp_client(mode=mode) as client:
        data = await call(client, "remove_cell", path="r.ipynb", index=1)
    assert data == {"path": "r.ipynb", "removed_index": 1, "cell_id": ids[1], "cell_count": 2, "success": True}
    assert [c["source"] for c in on_disk(jp_root_dir, "r.ipynb")["cells"]] == ["a", "c"]


# -- read_cells ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_read_cells_single_returns_one_full_cell(mcp_client, data_notebook, mode):
    data_notebook("many_tracebacks.ipynb")
    async with mcp_client(mode=mode) as client:
        data = await call(client, "read_cells", path="many_tracebacks.ipynb", mode="single", index=0)
    assert (data["path"], data["mode"], data["index"], data["success"]) == ("many_tracebacks.ipynb", "single", 0, True)
    cell = data["cell"]
    assert cell["cell_type"] == "code" and cell["source"].startswith("#")
    assert cell["outputs"][0]["ename"] and cell["outputs"][0]["traceback"]
    assert set(cell) >= {"cell_type", "source", "metadata", "outputs", "execution_count"}


@pytest.mark.parametrize("mode", MODES)
async def test_read_cells_range_reads_a_span_or_to_the_end(mcp_client, make_notebook, mode):
    make_notebook("r.ipynb", [f"c{i}" for i in range(6)])
    async with mcp_client(mode=mode) as client:
        span = await call(client, "read_cells", path="r.ipynb", mode="range", start_index=1, end_index=3)
        tail = await call(client, "read_cells", path="r.ipynb", mode="range", start_index=4)
    assert span["mode"] == "range" and (span["start_index"], span["end_index"], span["cell_count"]) == (1, 3, 6)
    assert [(c["index"], c["source"]) for c in span["cells"]] == [(1, "c1"), (2, "c2"), (3, "c3")]
    assert set(span["cells"][0]) >= {"index", "cell_type", "source", "metadata", "outputs", "execution_count"}
    assert (tail["start_index"], tail["end_index"]) == (4, 5)
    assert [c["source"] for c in tail["cells"]] == ["c4", "c5"]


@pytest.mark.parametrize("mode", MODES)
async def test_read_cells_list_previews_every_cell(mcp_client, data_notebook, mode):
    data_notebook("notebook2.ipynb")
    source = nbformat.read(str(nbformat_path("notebook2.ipynb")), as_version=4).cells
    async with mcp_client(mode=mode) as client:
        data = await call(client, "read_cells", path="notebook2.ipynb")
        short = await call(client, "read_cells", path="notebook2.ipynb", preview_length=10)
        bare = await call(client, "read_cells", path="notebook2.ipynb", mode="list", include_preview=False)
        objects = await call(client, "read_cells", path="notebook2.ipynb", list_format="objects")
    assert data["mode"] == "list" and data["cell_count"] == len(source) == 17
    # A row per cell under the columns the result names; trailing empty columns left out.
    assert data["columns"] == [
        "index", "id", "cell_type", "full_length", "preview", "execution_count", "has_outputs", "outputs", "error", "tags"
    ]  # fmt: skip
    assert data["cells"][0] == [0, source[0].get("id"), "markdown", 31, "# NumPy and Matplotlib examples"]
    thirteen = source[13]
    assert data["cells"][13] == [
        13, thirteen.get("id"), "code", 18, "plt.hist(evs.real)", thirteen.execution_count, True, "text/plain,image/png"
    ]  # fmt: skip
    rows = listed_cells(data)
    assert [c["index"] for c in rows] == list(range(17))
    assert [c["cell_type"] for c in rows] == [c.cell_type for c in source]
    assert [c["full_length"] for c in rows] == [len(c.source) for c in source]
    assert [c.get("id") for c in rows] == [c.get("id") for c in source]
    # The first line of each cell, marked when the cell goes on; for code, the first that is not an import, a
    # magic or a comment (the line that tells the cell from others).
    assert rows[0]["preview"] == "# NumPy and Matplotlib examples"
    assert rows[2]["preview"] == "print(matplotlib.backends.backend)\u2026"
    assert rows[3]["preview"].startswith("set_matplotlib_formats(")
    assert rows[5]["preview"] == "import numpy as np"  # nothing but an import: its first line
    assert listed_cells(short)[7]["preview"] == "a = np.ran\u2026"
    for row, cell in zip(rows, source, strict=True):
        if cell.cell_type == "code":
            assert row["has_outputs"] is bool(cell.get("outputs"))
            assert row["execution_count"] == cell.get("execution_count")
            assert bool(row["outputs"]) is bool(cell.get("outputs"))
        else:  # the spec's has_outputs and execution_count are for code cells
            assert row["has_outputs"] is row["execution_count"] is row["outputs"] is None
    assert rows[13]["outputs"] == "text/plain,image/png"
    assert "preview" not in bare["columns"] and bare["cells"][0] == [0, source[0].get("id"), "markdown", 31]
    assert [c["full_length"] for c in listed_cells(bare)] == [len(c.source) for c in source]
    # The spec's object per cell, on request.
    assert "columns" not in objects and objects["cells"][13] == {
        "index": 13, **({"id": thirteen.id} if thirteen.get("id") else {}), "cell_type": "code", "preview": "plt.hist(evs.real)", "full_length": 18,
        "has_outputs": True, "execution_count": thirteen.execution_count, "outputs": ["text/plain", "image/png"],
    }  # fmt: skip
    assert {k: v for k, v in rows[0].items() if v is not None} == objects["cells"][0]


def nbformat_path(name: str):
    from ..conftest import DATA_DIR

    return DATA_DIR / name


@pytest.mark.parametrize("mode", MODES)
async def test_read_cells_all_returns_every_cell_with_outputs(mcp_client, data_notebook, mode):
    data_notebook("notebook2.ipynb")
    source = nbformat.read(str(nbformat_path("notebook2.ipynb")), as_version=4)
    async with mcp_client(mode=mode) as client:
        data = await call(client, "read_cells", path="notebook2.ipynb", mode="all", outputs="raw", max_result_chars=0)
    assert data["mode"] == "all" and data["cell_count"] == 17
    assert [c["index"] for c in data["cells"]] == list(range(17))
    image_cell = data["cells"][13]
    assert [o["output_type"] for o in image_cell["outputs"]] == ["execute_result", "display_data"]
    assert image_cell["outputs"][1]["data"] == source.cells[13].outputs[1].data
    assert set(image_cell["outputs"][1]["data"]) >= {"image/png", "application/pdf"}


async def test_a_nbformat_45_cell_without_id_keeps_the_id_it_was_read_with(mcp_client, data_notebook, jp_root_dir):
    data_notebook("v4_5_no_cell_id.ipynb")
    async with mcp_client() as client:
        first = await call(client, "read_cells", path="v4_5_no_cell_id.ipynb", mode="all")
        again = await call(client, "read_cells", path="v4_5_no_cell_id.ipynb", mode="single", index=0)
        await call(client, "add_cell", path="v4_5_no_cell_id.ipynb", cell_type="markdown", source="note")
        after = await call(client, "read_cells", path="v4_5_no_cell_id.ipynb", mode="list")
    cell_id = first["cells"][0]["id"]
    assert cell_id and again["cell"]["id"] == cell_id
    assert listed_cells(after)[0]["id"] == cell_id
    nb = on_disk(jp_root_dir, "v4_5_no_cell_id.ipynb")
    assert nb["cells"][0]["id"] == cell_id and nb["cells"][1]["id"] == listed_cells(after)[1]["id"]
    nbformat.validate(nbformat.from_dict(nb))


# -- inspect_notebook ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_inspect_notebook_metadata_reports_kernel_language_and_custom_metadata(mcp_client, data_notebook, mode):
    data_notebook("simple_execute.ipynb")
    async with mcp_client(mode=mode) as client:
        data = await call(client, "inspect_notebook", path="simple_execute.ipynb")
    assert data["mode"] == "metadata" and data["success"] is True
    assert (data["nbformat"], data["nbformat_minor"], data["cell_count"]) == (4, 4, 3)
    meta = data["metadata"]
    assert meta["kernelspec"] == {"display_name": "Python 3", "language": "python", "name": "python3"}
    assert meta["language_info"]["name"] == "python" and meta["language_info"]["version"] == "3.8.5"
    assert meta["custom_metadata"] == {"celltoolbar": "Tags", "hide_input": False}


@pytest.mark.parametrize("mode", MODES)
async def test_inspect_notebook_outputs_counts_output_types_and_errors(mcp_client, data_notebook, mode):
    data_notebook("notebook2.ipynb")
    data_notebook("many_tracebacks.ipynb")
    async with mcp_client(mode=mode) as client:
        images = (await call(client, "inspect_notebook", path="notebook2.ipynb", mode="outputs"))["output_analysis"]
        errors = (await call(client, "inspect_notebook", path="many_tracebacks.ipynb", mode="outputs"))[
            "output_analysis"
        ]
    assert (images["total_cells"], images["code_cells"], images["cells_with_outputs"]) == (17, 9, 5)
    assert images["output_types"] == {"stream": 1, "display_data": 1, "execute_result": 4, "error": 0}
    image_cell = next(c for c in images["cells"] if c["index"] == 13)
    assert image_cell["output_types"] == ["execute_result", "display_data"]
    assert image_cell["output_size_bytes"] > 10_000 and image_cell["has_error"] is False
    assert errors["cells_with_errors"] == 1
    assert errors["cells"][0]["has_error"] is True and errors["cells"][0]["error_name"]


async def test_inspect_notebook_validate_reports_nbformats_errors_with_cell_indices(mcp_client, jp_root_dir):
    broken = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "fine"},
            {"cell_type": "code", "metadata": {}, "source": "x", "execution_count": None},
            {"cell_type": "markdown", "metadata": {}, "source": "y", "outputs": []},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    (jp_root_dir / "broken.ipynb").write_text(json.dumps(broken))
    async with mcp_client() as client:
        data = await call(client, "inspect_notebook", path="broken.ipynb", mode="validate")
    validation = data["validation"]
    assert validation["is_valid"] is False and validation["nbformat_version"] == "4.4"
    by_cell = {e["cell_index"]: e["message"] for e in validation["errors"]}
    assert set(by_cell) == {1, 2}
    assert "'outputs' is a required property" in by_cell[1]
    assert "'outputs' was unexpected" in by_cell[2]
    assert isinstance(validation["validation_time"], float)


@pytest.mark.parametrize("mode", MODES)
async def test_inspect_notebook_full_combines_metadata_outputs_and_validation(mcp_client, data_notebook, mode):
    data_notebook("many_tracebacks.ipynb")
    async with mcp_client(mode=mode) as client:
        data = await call(client, "inspect_notebook", path="many_tracebacks.ipynb", mode="full")
    assert data["mode"] == "full" and data["success"] is True
    assert data["metadata"]["kernelspec"]["name"] == "python3"
    assert data["output_analysis"]["cells_with_errors"] == 1
    assert data["validation"]["is_valid"] is True and data["validation"]["errors"] == []
    assert [w["type"] for w in data["validation"]["warnings"]] == ["error_output"]
    assert data["validation"]["warnings"][0]["cell_index"] == 0


# -- list_notebook_files ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_list_notebook_files_gives_sizes_and_modification_times(mcp_client, make_notebook, jp_root_dir, mode):
    make_notebook("b.ipynb", ["x"])
    make_notebook("a.ipynb", ["y" * 500])
    (jp_root_dir / "notes.txt").write_text("not a notebook")
    async with mcp_client(mode=mode) as client:
        data = await call(client, "list_notebook_files")
    assert data["success"] is True and data["count"] == 2
    assert [f["path"] for f in data["files"]] == ["a.ipynb", "b.ipynb"]
    for f in data["files"]:
        stat = os.stat(jp_root_dir / f["path"])
        assert f["size"] == stat.st_size
        modified = datetime.datetime.fromisoformat(f["last_modified"])
        assert abs(modified.timestamp() - stat.st_mtime) < 1


async def test_list_notebook_files_recurses_on_request_and_skips_hidden_files(mcp_client, make_notebook):
    make_notebook("top.ipynb")
    make_notebook("sub/inner.ipynb")
    make_notebook("sub/deeper/deep.ipynb")
    make_notebook(".hidden.ipynb")
    make_notebook(".secret/in_hidden_dir.ipynb")
    async with mcp_client() as client:
        flat = await call(client, "list_notebook_files", directory=".")
        deep = await call(client, "list_notebook_files", directory=".", recursive=True)
        sub = await call(client, "list_notebook_files", directory="sub", recursive=True)
    assert [f["path"] for f in flat["files"]] == ["top.ipynb"]
    assert [f["path"] for f in deep["files"]] == ["sub/deeper/deep.ipynb", "sub/inner.ipynb", "top.ipynb"]
    assert [f["path"] for f in sub["files"]] == ["sub/deeper/deep.ipynb", "sub/inner.ipynb"]
    assert deep["recursive"] is True and deep["count"] == 3


# -- JupyterLab's REST API sees the same notebook ---------------------------------------------


async def test_a_notebook_edited_over_mcp_reads_back_identical_through_the_contents_api(
    mcp_client, data_notebook, contents_api
):
    path = data_notebook("notebook2.ipynb", "edited.ipynb")
    async with mcp_client() as client:
        await call(client, "add_cell", path=path, cell_type="markdown", source="# added", index=0)
        await call(client, "update_cell", path=path, index=14, source="hist(x)")
        await call(client, "remove_cell", path=path, index=17)
        mcp_nb = (await call(client, "read_notebook", path=path, outputs="raw", max_result_chars=0))["notebook"]
    async with contents_api() as http:
        response = await http.get(f"api/contents/{path}", params={"content": "1", "type": "notebook"})
    assert response.status_code == 200
    rest_nb = response.json()["content"]
    for cell in rest_nb["cells"]:
        cell["metadata"].pop("trusted", None)  # the ContentsManager's transient mark, not in the file
    assert rest_nb == mcp_nb
    assert rest_nb["cells"][0]["source"] == "# added" and rest_nb["cells"][14]["source"] == "hist(x)"
    assert len(rest_nb["cells"]) == 17
    assert "image/png" in rest_nb["cells"][14]["outputs"][1]["data"]


async def test_an_edit_made_through_the_contents_api_is_seen_by_read_cells(mcp_client, make_notebook, contents_api):
    make_notebook("shared.ipynb", ["before"])
    async with mcp_client() as client:
        assert listed_cells(await call(client, "read_cells", path="shared.ipynb"))[0]["preview"] == "before"
        async with contents_api() as http:
            model = (await http.get("api/contents/shared.ipynb")).json()
            model["content"]["cells"][0]["source"] = "after"
            model["content"]["cells"].append(nbformat.v4.new_markdown_cell("from the lab"))
            put = await http.put("api/contents/shared.ipynb", json={"type": "notebook", "content": model["content"]})
            assert put.status_code == 200

        async def seen() -> bool:
            # At once from the file; from a notebook open with collaboration once its room has seen the
            # file change (YDocExtension.file_poll_interval).
            data = await call(client, "read_cells", path="shared.ipynb", mode="all")
            return [c["source"] for c in data["cells"]] == ["after", "from the lab"]

        await poll(seen, timeout=10, what="the edit made through the contents API")


async def test_reading_many_notebooks_keeps_a_bounded_cache_and_reads_each_right(
    mcp_client, make_notebook, jp_serverapp, notebook_backend
):
    if notebook_backend == "live":
        pytest.skip("the cache of parsed files; a notebook open in a room is read from its document")
    store = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].notebooks.store
    names = [make_notebook(f"many/n{i:02}.ipynb", [f"cell of {i}"]) for i in range(store.cache_max_notebooks + 8)]
    async with mcp_client() as client:
        for name in names:
            await call(client, "read_cells", path=name)
        first = await call(client, "read_cells", path=names[0], mode="single", index=0)
    assert first["cell"]["source"] == "cell of 0"
    assert len(store._cache) == store.cache_max_notebooks
    assert next(reversed(store._cache)) == names[0], "the notebook read last is kept"


async def test_a_notebook_edited_over_mcp_can_be_reverted_to_its_jupyterlab_checkpoint(
    mcp_client, make_notebook, contents_api, lab, jp_root_dir
):
    make_notebook("cp.ipynb", ["original"])
    async with contents_api() as http, mcp_client() as client:
        checkpoint = (await http.post("api/contents/cp.ipynb/checkpoints")).json()
        await call(client, "update_cell", path="cp.ipynb", index=0, source="changed by the model")
        await call(client, "add_cell", path="cp.ipynb", cell_type="markdown", source="more")
        assert (await call(client, "read_cells", path="cp.ipynb"))["cell_count"] == 2
        await lab.saved()
        restored = await http.post(f"api/contents/cp.ipynb/checkpoints/{checkpoint['id']}")
        assert restored.status_code == 204
        if "cp.ipynb" in lab.clients:
            # JupyterLab's "Revert Notebook to Checkpoint" then loads the file into the shared document.
            lab.clients["cp.ipynb"].doc.set(on_disk(jp_root_dir, "cp.ipynb"))

        async def reverted() -> bool:
            data = await call(client, "read_cells", path="cp.ipynb", mode="all")
            return [c["source"] for c in data["cells"]] == ["original"]

        await poll(reverted, timeout=10, what="the checkpoint's notebook")


async def test_paths_with_spaces_and_non_ascii_letters_work_like_in_jupyterlab(mcp_client, jp_root_dir, contents_api):
    (jp_root_dir / "Données 2024").mkdir()
    path = "Données 2024/analyse été.ipynb"
    async with mcp_client() as client:
        created = await call(client, "create_notebook", path=path)
        await call(client, "add_cell", path=path, cell_type="markdown", source="# Résumé")
        listed = await call(client, "list_notebook_files", directory="Données 2024")
    assert created["path"] == path and [f["path"] for f in listed["files"]] == [path]
    async with contents_api() as http:
        model = (await http.get(f"api/contents/{path}")).json()
    assert model["path"] == path and model["content"]["cells"][0]["source"] == "# Résumé"


async def test_a_trusted_notebook_edited_over_mcp_stays_trusted_in_jupyterlab(
    mcp_client, jp_serverapp, jp_root_dir, contents_api
):
    html = nbformat.v4.new_output("display_data", data={"text/html": "<b>trusted output</b>"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("show()", outputs=[html])])
    nb.cells.append(nbformat.v4.new_markdown_cell("notes"))
    jp_serverapp.contents_manager.notary.sign(nb)
    nbformat.write(nb, str(jp_root_dir / "signed.ipynb"))
    async with mcp_client() as client:
        await call(client, "update_cell", path="signed.ipynb", index=1, source="more notes")
        await call(client, "add_cell", path="signed.ipynb", cell_type="code", source="x = 1")
    async with contents_api() as http:
        model = (await http.get("api/contents/signed.ipynb")).json()
    assert model["content"]["cells"][1]["source"] == "more notes"
    assert model["content"]["cells"][0]["metadata"]["trusted"] is True, "JupyterLab still renders the HTML output"
