"""The read tools return what a model can use: shaped outputs, images as images, lean metadata, the outputs choice."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest

from ..conftest import MODES, listed_cells, result_json

pytestmark = pytest.mark.kernel


def images(result) -> list:
    return [block for block in result.content if block.type == "image"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_chart_cell_reads_as_text_plus_one_image_block_without_base64_in_the_json(
    mcp_client, data_notebook, jp_root_dir, mode
):
    data_notebook("notebook2.ipynb")
    stored = nbformat.read(str(jp_root_dir / "notebook2.ipynb"), as_version=4).cells[13]
    png = "".join(stored.outputs[1].data["image/png"].split())
    async with mcp_client(mode=mode) as client:
        result = await client.call_tool("read_cells", {"path": "notebook2.ipynb", "mode": "single", "index": 13})
    data = result_json(result)
    (image,) = images(result)
    assert image.mime_type == "image/png" and image.data == png
    text = result.content[0].text
    assert png[:200] not in text and len(text) < 4_000  # well under 1 k tokens
    display = data["cell"]["outputs"][1]
    assert "image #1" in display["data"]["image/png"]
    assert "application/pdf" in display["data"] and "shown in JupyterLab" in display["data"]["application/pdf"]
    # Clients that prefer structured content (Claude Code, Codex) would show the model only that,
    # without the image: a result with images is its JSON text and its images, nothing else.
    assert result.structured_content is None
    assert result.content[0].type == "text" and [b.type for b in result.content[1:]] == ["image"]
    assert json.loads(text) == data and data["cell"]["cell_type"] == "code"
    assert "\n " not in text and ", " not in text.replace('", "', "")[:50]


async def test_list_mode_shows_tags_output_kinds_and_errors_of_a_run_notebook(analysis_notebook):
    async with analysis_notebook() as client:
        data = result_json(await client.call_tool("read_cells", {"path": "analysis.ipynb"}))
    cells = listed_cells(data)
    assert cells[1]["tags"] == "parameters"
    assert cells[2]["outputs"] == "stdout"
    assert cells[3]["outputs"] == "text/html"
    assert cells[4]["outputs"] == "image/png"
    assert cells[5]["outputs"] == "error" and cells[5]["error"] == "KeyError: 'south'"
    assert cells[0]["has_outputs"] is None and cells[2]["has_outputs"] is True
    assert all(c["error"] is None for c in cells[:5])


@pytest.mark.parametrize("mode", MODES)
async def test_list_previews_tell_apart_cells_that_start_with_imports_magics_or_comments(
    mcp_client, make_notebook, mode
):
    sources = [
        "import time\nimport os\ntime.sleep(1)\nprint('step 1')",
        "import time\n# wait for the data\n\nwhile not ready():\n    time.sleep(0.1)",
        "%%time\nfrom helpers import (\n    load,\n    clean,\n)\ntotal = clean(load())",
        "!pip install cronsim\nimport cronsim",
    ]
    make_notebook("steps.ipynb", [*sources, ("markdown", "\n\n## Results\nWhat the steps gave.")])
    async with mcp_client(mode=mode) as client:
        data = result_json(await client.call_tool("read_cells", {"path": "steps.ipynb"}))
    assert [c["preview"] for c in listed_cells(data)] == [
        "time.sleep(1)\u2026",
        "while not ready():\u2026",
        "total = clean(load())\u2026",  # the source has more than the preview shows
        "!pip install cronsim\u2026",  # nothing but a shell escape and an import: its first line
        "## Results\u2026",
    ]
    assert [c["full_length"] for c in listed_cells(data)][:4] == [len(source) for source in sources]


async def test_shaped_reads_strip_colour_prefer_plain_text_and_give_one_traceback(analysis_notebook):
    async with analysis_notebook() as client:
        result = await client.call_tool("read_cells", {"path": "analysis.ipynb", "mode": "all"})
    data = result_json(result)
    text = result.content[0].text
    cells = data["cells"]
    assert cells[2]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "loaded 3 rows\n"}]
    assert cells[3]["outputs"][0]["text"] == "   r  n\n0  north  3" and "<table>" not in json.dumps(cells[3]["outputs"])
    error = cells[5]["outputs"][0]
    assert (error["ename"], error["evalue"]) == ("KeyError", "'south'")
    assert "\x1b[" not in text and text.count("Traceback (most recent call last)") == 1
    assert [i.mime_type for i in images(result)] == ["image/png"]


async def test_execution_and_papermill_metadata_are_left_out_unless_raw(analysis_notebook):
    async with analysis_notebook() as client:
        lean = result_json(
            await client.call_tool("read_cells", {"path": "analysis.ipynb", "mode": "single", "index": 2})
        )
        raw = result_json(
            await client.call_tool(
                "read_cells", {"path": "analysis.ipynb", "mode": "single", "index": 2, "outputs": "raw"}
            )
        )
        params = result_json(
            await client.call_tool("read_cells", {"path": "analysis.ipynb", "mode": "single", "index": 1})
        )
    assert lean["cell"]["metadata"] == {}
    assert raw["cell"]["metadata"]["papermill"] == {"duration": 0.5, "status": "completed"}
    assert "execution" in raw["cell"]["metadata"]
    assert params["cell"]["metadata"] == {"tags": ["parameters"]}


async def test_the_outputs_choice_none_summary_raw(analysis_notebook, jp_root_dir):
    async with analysis_notebook() as client:

        def read(outputs):
            return client.call_tool("read_cells", {"path": "analysis.ipynb", "mode": "all", "outputs": outputs})

        none, summary, raw = await read("none"), await read("summary"), await read("raw")
    stored = nbformat.read(str(jp_root_dir / "analysis.ipynb"), as_version=4)
    assert all("outputs" not in c for c in result_json(none)["cells"]) and not images(none)
    summed = result_json(summary)["cells"]
    assert summed[2]["outputs"] == [
        {"output_type": "stream", "name": "stdout", "chars": len(stored.cells[2].outputs[0].text)}
    ]
    assert summed[4]["outputs"][0]["mime_types"] == list(stored.cells[4].outputs[0].data)
    assert summed[5]["outputs"][0] == {"output_type": "error", "ename": "KeyError", "evalue": "'south'"}
    assert not images(summary)
    assert [c.get("outputs") for c in result_json(raw)["cells"]] == [c.get("outputs") for c in stored.cells]
    assert not images(raw)


async def test_a_markdown_attachment_comes_as_an_image(mcp_client, jp_root_dir):
    from ..kernels.conftest import png_bytes

    nb = nbformat.v4.new_notebook()
    png = base64.b64encode(png_bytes(8, 8)).decode()
    cell = nbformat.v4.new_markdown_cell("![dot](attachment:dot.png)")
    cell["attachments"] = {"dot.png": {"image/png": png}}
    nb.cells.append(cell)
    nbformat.write(nb, str(jp_root_dir / "att.ipynb"))
    async with mcp_client() as client:
        result = await client.call_tool("read_cells", {"path": "att.ipynb", "mode": "single", "index": 0})
    assert [i.data for i in images(result)] == [png]
    assert "image #1" in result_json(result)["cell"]["attachments"]["dot.png"]["image/png"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_read_of_many_large_charts_is_received_whole_and_names_the_images_left_out(
    mcp_client, jp_root_dir, mode
):
    # Eight incompressible charts of ~190 KB each: more than one message the official client accepts (1 MiB).
    from ..kernels.conftest import png_bytes

    nb = nbformat.v4.new_notebook()
    charts = [base64.b64encode(png_bytes(260, 240, noise=True)).decode() for _ in range(8)]
    for i, chart in enumerate(charts):
        cell = nbformat.v4.new_code_cell(f"plot({i})")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": chart, "text/plain": "<Figure>"})]
        nb.cells.append(cell)
    nbformat.write(nb, str(jp_root_dir / "charts.ipynb"))
    async with mcp_client(mode=mode) as client:
        result = await client.call_tool("read_cells", {"path": "charts.ipynb", "mode": "all"})
    data = json.loads(result.content[0].text)
    sent = images(result)
    assert 3 <= len(sent) < 8 and [i.data for i in sent] == charts[: len(sent)]
    assert sum(len(i.data) for i in sent) + len(result.content[0].text) < 1024 * 1024
    notes = [c["outputs"][0]["data"]["image/png"] for c in data["cells"]]
    assert all(f"image #{n + 1} of this result" in notes[n] for n in range(len(sent)))
    assert all("no room left" in note and "not returned" in note for note in notes[len(sent) :])
