"""A job's output notebook open in JupyterLab: the job writes into the shared document, and what the
person typed there before the room saved it is never lost to the job's next write."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from ..conftest import poll, result_json
from ..jobs.conftest import tool, wait_finished
from .conftest import collaboration

pytestmark = [pytest.mark.kernel]

#: A cell that waits (up to a minute) for the test to create the file "go" in its directory.
WAIT_FOR_GO = (
    "import os, time\nfor _ in range(600):\n    if os.path.exists('go'):\n        break\n    time.sleep(0.1)\n"
)


def stdout_of(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


async def first_output_written(client, path: str) -> bool:
    result = await client.call_tool("read_cells", {"path": path, "mode": "all"})
    return not result.is_error and any("before" in stdout_of(c) for c in result_json(result)["cells"])


async def test_a_job_writes_its_output_into_the_open_notebook_and_the_room_saves_it(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("watched.ipynb", ["print('before')", WAIT_FOR_GO, "print('after')"])
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="watched.ipynb", mode="async")
        await poll(lambda: first_output_written(client, "watched_output.ipynb"), 60, "the job's first output")
        async with open_lab("watched_output.ipynb") as tab:
            (jp_root_dir / "go").touch()
            status = await wait_finished(client, job["job_id"], timeout=60)

            def after_shown() -> bool:
                return any("after" in stdout_of(c.to_py()) for c in tab.doc.ycells)

            await tab.wait_for(after_shown, what="the job's last output in the open notebook")
    assert status["status"] == "completed", status
    assert status["output_path"] == "watched_output.ipynb", "no one else changed it: nothing diverted"

    async def saved() -> bool:
        nb = nbformat.read(str(jp_root_dir / "watched_output.ipynb"), as_version=4)
        return "after" in stdout_of(nb.cells[-1])

    await poll(saved, 20, "the room to save the job's output")


@collaboration(document_save_delay=60)
async def test_what_the_person_typed_in_the_open_output_is_kept_and_the_job_output_goes_beside_it(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    make_notebook("typed.ipynb", ["print('before')", WAIT_FOR_GO, "print('after')"])
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="typed.ipynb", mode="async")
        await poll(lambda: first_output_written(client, "typed_output.ipynb"), 60, "the job's first output")
        async with open_lab("typed_output.ipynb") as tab:
            first = next(str(c["id"]) for c in tab.doc.ycells if "before" in str(c["source"]))
            tab.type_into(first, "  # my note on the partial result")

            async def server_has_it() -> bool:
                data = result_json(await client.call_tool("read_cells", {"path": "typed_output.ipynb", "mode": "all"}))
                return any("my note" in c["source"] for c in data["cells"])

            # Typed, not saved (the room saves 60 s after the last change): only the document has it.
            await poll(server_has_it, 20, "the typing to reach the server's document")
            (jp_root_dir / "go").touch()
            status = await wait_finished(client, job["job_id"], timeout=60)
            # The room checks its file every 0.5 s (file_poll_interval): a write behind it would
            # have made it reload the file, dropping the typing, within a few of those checks.
            await asyncio.sleep(2.5)
            assert any("my note" in s for s in tab.sources()), "the typing is still in the open notebook"
            data = result_json(await client.call_tool("read_cells", {"path": "typed_output.ipynb", "mode": "all"}))
            assert any("my note" in c["source"] for c in data["cells"])
            assert not any("after" in stdout_of(c) for c in data["cells"]), "the job did not write over it"
    assert status["status"] == "completed", status
    diverted = f"typed_output-{job['job_id']}.ipynb"
    assert status["output_path"] == diverted and diverted in str(status["result"]["note"])
    final = nbformat.read(str(jp_root_dir / diverted), as_version=4)
    assert "after" in stdout_of(final.cells[-1])
