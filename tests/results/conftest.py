"""Fixtures of the result-size tests: a real server, and a notebook with real outputs made by running it."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest

from ..conftest import result_json
from ..kernels.conftest import PNG_HELPER

#: An analysis notebook in miniature: coloured text, a table as HTML and text, a PNG chart, an
#: error, Papermill-style cell metadata and a parameters cell.
ANALYSIS_CELLS = [
    ("markdown", "# Sales analysis\nThe numbers of the quarter."),
    ("code", "region = 'north'"),
    ("code", "print('\\x1b[32mloaded\\x1b[0m 3 rows')"),
    (
        "code",
        "from IPython.display import HTML, display\n"
        "display({'text/html': '<table><tr><th>r</th><th>n</th></tr><tr><td>north</td><td>3</td></tr></table>',"
        " 'text/plain': '   r  n\\n0  north  3'}, raw=True)",
    ),
    ("code", PNG_HELPER + "from IPython.display import Image\nImage(png(64, 48))"),
    ("code", "totals = {'north': 3}\ntotals['south']"),
]


async def run_notebook(client: Any, path: str) -> None:
    """Run every code cell of ``path`` in a fresh kernel (errors included), so that it has real outputs."""
    kernel = result_json(await client.call_tool("start_kernel", {}))["kernel_id"]
    await client.call_tool(
        "execute_on_kernel", {"kernel_id": kernel, "mode": "notebook", "path": path, "continue_on_error": True}
    )
    await client.call_tool("stop_kernel", {"kernel_id": kernel})


@pytest.fixture
def analysis_notebook(jp_root_dir: Any, mcp_client: Any) -> Any:
    """``async with analysis_notebook() as client``: analysis.ipynb under the root, run, with a client."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(path: str = "analysis.ipynb") -> Any:
        nb = nbformat.v4.new_notebook()
        for kind, source in ANALYSIS_CELLS:
            cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
            nb.cells.append(cell)
        nb.cells[1].metadata["tags"] = ["parameters"]
        nb.cells[2].metadata["papermill"] = {"duration": 0.5, "status": "completed"}
        nb.cells[2].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(jp_root_dir / path))
        async with mcp_client() as client:
            await run_notebook(client, path)
            yield client

    return make
