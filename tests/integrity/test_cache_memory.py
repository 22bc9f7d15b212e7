"""The parsed-notebook cache stays within its memory bound, counted as memory and not as file bytes:
a notebook of many small cells takes about 8x its file size once parsed."""

from __future__ import annotations

import gc
import json
import tracemalloc

import nbformat
import pytest

from jupyter_mcp_ext.notebooks.store import estimate_memory

from ..conftest import result_json

MIB = 1024 * 1024
BOUND = 24 * MIB
CELLS = 10_000
NOTEBOOKS = 6


def small_cells_notebook(seed: int) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"x_{seed}_{i} = {i}") for i in range(CELLS)]
    return nb


def test_the_memory_estimate_is_within_a_factor_two_of_what_parsing_takes(tmp_path):
    path = tmp_path / "small.ipynb"
    path.write_text(json.dumps(small_cells_notebook(0)))
    text = path.read_text()
    gc.collect()
    tracemalloc.start()
    nb = nbformat.reads(text, as_version=4)
    measured, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = estimate_memory(nb, len(text.encode()))
    assert measured / 2 < estimate < measured * 2, (estimate, measured)
    assert estimate > 4 * len(text.encode()), "many small cells take several times their file size"


@pytest.mark.stress
@pytest.mark.parametrize(
    "jp_server_config", [{"MCPExtensionApp": {"notebook_cache_max_bytes": BOUND}}], indirect=True, ids=["24MiB"]
)
async def test_reading_many_notebooks_keeps_the_cache_and_the_servers_memory_within_the_bound(
    mcp_client, jp_root_dir, jp_serverapp
):
    for i in range(NOTEBOOKS):  # json.dumps: nbformat.write would validate each (seconds apiece)
        (jp_root_dir / f"small{i}.ipynb").write_text(json.dumps(small_cells_notebook(i)))
    per_notebook = estimate_memory(small_cells_notebook(0), (jp_root_dir / "small0.ipynb").stat().st_size)
    service = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].notebooks
    async with mcp_client() as client:
        # What the server's process keeps allocated (the server runs in this process), traced by Python:
        # its RSS, after hundreds of tests in one process, also holds heap the allocator has not handed
        # back, which moves by tens of MiB from run to run.
        gc.collect()
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        try:
            for i in range(NOTEBOOKS):
                result = await client.call_tool("read_cells", {"path": f"small{i}.ipynb", "mode": "single", "index": 7})
                assert result_json(result)["cell"]["source"] == f"x_{i}_7 = 7"
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert service.cache_memory() <= BOUND and len(service.store._cache) < NOTEBOOKS
    # All of them parsed would take NOTEBOOKS * per_notebook (about 90 MiB); the bound keeps one or two.
    assert kept < BOUND + 2 * per_notebook, f"the server kept {kept / MIB:.0f} MiB for a {BOUND / MIB:.0f} MiB bound"
