"""execute_on_kernel's notebook modes run cells in a kernel and write their outputs into the notebook."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ..conftest import MODES, error_text, result_json
from ..live.fixtures import (  # noqa: F401  (fixtures: every test runs with the notebook open in a room, and not)
    data_notebook,
    jp_server_config,
    lab,
    make_notebook,
    mcp_client,
    notebook_backend,
)
from .conftest import PNG_HELPER, images_of, running_marker, start_kernel, wait_for_file

pytestmark = pytest.mark.kernel


async def read_via_rest(jp_fetch: Any, path: str) -> dict[str, Any]:
    """The notebook as JupyterLab would load it: GET /api/contents/<path>."""
    response = await jp_fetch("api", "contents", path, params={"content": "1"})
    return json.loads(response.body)["content"]


async def run_cells(client: Any, kernel_id: str, path: str, **arguments: Any) -> Any:
    mode = "notebook_cell" if "cell_index" in arguments else "notebook"
    return await client.call_tool(
        "execute_on_kernel", {"kernel_id": kernel_id, "mode": mode, "path": path, **arguments}
    )


@pytest.mark.parametrize("mode", MODES)
async def test_notebook_cell_runs_one_cell_and_writes_its_outputs_and_execution_count_into_the_file(
    mcp_client, make_notebook, jp_fetch, mode
):
    make_notebook("work/nb.ipynb", ["x = 6 * 7", ("markdown", "# Notes"), "print('x is', x)\nx"])
    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        await run_cells(client, kernel_id, "work/nb.ipynb", cell_index=0)
        data = result_json(await run_cells(client, kernel_id, "work/nb.ipynb", cell_index=2))
    assert data["mode"] == "notebook_cell" and data["path"] == "work/nb.ipynb"
    assert data["cell_index"] == 2 and data["cell_type"] == "code" and data["status"] == "ok"
    assert [o["output_type"] for o in data["outputs"]] == ["stream", "execute_result"]
    cells = (await read_via_rest(jp_fetch, "work/nb.ipynb"))["cells"]
    assert cells[2]["execution_count"] == data["execution_count"] == 2
    assert cells[2]["outputs"][0] == {"output_type": "stream", "name": "stdout", "text": "x is 42\n"}
    assert cells[2]["outputs"][1]["data"] == {"text/plain": "42"}
    assert cells[0]["execution_count"] == 1 and cells[0]["outputs"] == []


async def test_notebook_mode_runs_code_cells_in_order_and_stops_at_the_first_error(mcp_client, make_notebook, jp_fetch):
    make_notebook(
        "nb.ipynb", ["a = 1", ("markdown", "text"), "print(a)", "raise ValueError('bad input')", "print('after')"]
    )
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_cells(client, kernel_id, "nb.ipynb"))
    assert (data["cells_executed"], data["cells_succeeded"], data["cells_failed"]) == (3, 2, 1)
    assert [r["cell_index"] for r in data["results"]] == [0, 2, 3]
    assert [r["status"] for r in data["results"]] == ["ok", "ok", "error"]
    assert data["results"][2]["error"]["evalue"] == "bad input"
    assert data["cells_not_run"] == [4] and "Stopped at cell 3" in data["message"]
    cells = (await read_via_rest(jp_fetch, "nb.ipynb"))["cells"]
    assert cells[2]["outputs"][0]["text"] == "1\n"
    assert cells[3]["outputs"][0]["output_type"] == "error" and cells[3]["outputs"][0]["ename"] == "ValueError"
    assert cells[4]["outputs"] == [] and cells[4]["execution_count"] is None


async def test_continue_on_error_runs_the_cells_after_an_error(mcp_client, make_notebook, jp_fetch):
    make_notebook("nb.ipynb", ["1/0", "print('still ran')"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_cells(client, kernel_id, "nb.ipynb", continue_on_error=True))
    assert [r["status"] for r in data["results"]] == ["error", "ok"]
    assert data["results"][1]["outputs"][0]["text"] == "still ran\n"
    assert "cells_not_run" not in data
    cells = (await read_via_rest(jp_fetch, "nb.ipynb"))["cells"]
    assert cells[1]["outputs"][0]["text"] == "still ran\n"


async def test_a_cell_that_times_out_is_interrupted_and_its_partial_output_saved(mcp_client, make_notebook, jp_fetch):
    make_notebook("nb.ipynb", ["print('working', flush=True)\nwhile True:\n    pass", "print('next')"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_cells(client, kernel_id, "nb.ipynb", timeout=1))
    assert data["results"][0]["status"] == "timeout" and data["cells_not_run"] == [1]
    outputs = (await read_via_rest(jp_fetch, "nb.ipynb"))["cells"][0]["outputs"]
    assert outputs[0]["text"] == "working\n" and outputs[-1]["ename"] == "KeyboardInterrupt"


async def test_images_of_notebook_cells_are_saved_in_the_file_and_returned_as_image_content(
    mcp_client, make_notebook, jp_fetch
):
    make_notebook("plots.ipynb", [PNG_HELPER, "from IPython.display import Image\nImage(png(8, 8))"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_cells(client, kernel_id, "plots.ipynb")
    data = result_json(result)
    [image] = images_of(result)
    assert "image #1" in data["results"][1]["outputs"][0]["data"]["image/png"]
    saved = (await read_via_rest(jp_fetch, "plots.ipynb"))["cells"][1]["outputs"][0]
    assert saved["output_type"] == "execute_result"
    assert "".join(saved["data"]["image/png"].split()) == image.data


async def test_outputs_are_written_to_the_cell_found_by_its_id_after_cells_are_inserted_above(
    mcp_client, make_notebook, jp_fetch, jp_root_dir
):
    source = running_marker(jp_root_dir / "running") + "import time\ntime.sleep(1)\nprint('mine')"
    make_notebook("nb.ipynb", [source])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        call = asyncio.create_task(run_cells(client, kernel_id, "nb.ipynb", cell_index=0))
        await wait_for_file(jp_root_dir / "running")  # the cell runs for a second: insert a cell above it
        await client.call_tool("add_cell", {"path": "nb.ipynb", "cell_type": "code", "source": "inserted", "index": 0})
        result_json(await call)
    cells = (await read_via_rest(jp_fetch, "nb.ipynb"))["cells"]
    assert [c["source"] for c in cells] == ["inserted", source]
    assert cells[0]["outputs"] == [] and cells[1]["outputs"][0]["text"] == "mine\n"


async def test_notebook_cell_refuses_a_markdown_cell_or_an_index_out_of_range_naming_the_code_cells(
    mcp_client, make_notebook
):
    make_notebook("nb.ipynb", [("markdown", "# Title"), "1", "2"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        markdown = error_text(await run_cells(client, kernel_id, "nb.ipynb", cell_index=0))
        out_of_range = error_text(await run_cells(client, kernel_id, "nb.ipynb", cell_index=7))
        missing = error_text(
            await client.call_tool(
                "execute_on_kernel", {"kernel_id": kernel_id, "mode": "notebook_cell", "path": "nb.ipynb"}
            )
        )
        no_path = error_text(await client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "notebook"}))
        not_found = error_text(await run_cells(client, kernel_id, "missing.ipynb"))
    assert "markdown cell" in markdown and "Code cells: 1, 2" in markdown
    assert "cell_index 7 is out of range" in out_of_range and "(0-2)" in out_of_range
    assert "needs cell_index" in missing
    assert "needs path" in no_path
    assert "missing.ipynb" in not_found and "does not exist" in not_found


async def test_a_notebook_without_cell_ids_still_gets_its_outputs_written(mcp_client, make_notebook, jp_fetch):
    make_notebook("old.ipynb", ["print('four')", "2 + 2"], minor=4)
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_cells(client, kernel_id, "old.ipynb"))
    assert data["cells_succeeded"] == 2 and "message" not in data
    cells = (await read_via_rest(jp_fetch, "old.ipynb"))["cells"]
    assert cells[0]["outputs"][0]["text"] == "four\n" and cells[1]["outputs"][0]["data"]["text/plain"] == "4"


async def test_a_kernel_dying_mid_notebook_names_the_cell_and_keeps_the_outputs_of_cells_before_it(
    mcp_client, make_notebook, jp_fetch
):
    make_notebook("nb.ipynb", ["print('saved')", "import os\nos._exit(1)", "print('never')"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        message = error_text(await run_cells(client, kernel_id, "nb.ipynb", timeout=30))
    assert "died" in message and "running cell 1 of 'nb.ipynb'" in message
    assert "Cell 0 had finished; its outputs were saved" in message
    cells = (await read_via_rest(jp_fetch, "nb.ipynb"))["cells"]
    assert cells[0]["outputs"][0]["text"] == "saved\n" and cells[2]["outputs"] == []
