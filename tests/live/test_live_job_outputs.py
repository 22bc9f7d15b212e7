"""A job's output notebook open in JupyterLab: the job writes into the shared document, and what the
person typed there before the room saved it is never lost to the job's next write."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from ..conftest import poll, result_json
from ..jobs.conftest import WAIT_FOR_GO, tool, wait_finished
from .conftest import collaboration

pytestmark = [pytest.mark.kernel]


def stdout_of(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


async def cells_of(client, path: str) -> list[dict]:
    """The notebook's cells as read_cells reads them (from the open document when there is one)."""
    return result_json(await client.call_tool("read_cells", {"path": path, "mode": "all"}))["cells"]


async def job_waiting_for_go(client, make_notebook, name: str) -> dict:
    """A job of ``<name>.ipynb`` that has written its first output to ``<name>_output.ipynb`` and
    waits for the file "go"."""
    make_notebook(f"{name}.ipynb", ["print('before')", WAIT_FOR_GO, "print('after')"])
    job = await tool(client, "execute_notebook", notebook_path=f"{name}.ipynb", mode="async")

    async def first_output_written() -> bool:
        result = await client.call_tool("read_cells", {"path": f"{name}_output.ipynb", "mode": "all"})
        return not result.is_error and any("before" in stdout_of(c) for c in result_json(result)["cells"])

    await poll(first_output_written, 60, "the job's first output")
    return job


async def test_a_job_writes_its_output_into_the_open_notebook_and_the_room_saves_it(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    async with mcp_client() as client:
        job = await job_waiting_for_go(client, make_notebook, "watched")
        async with open_lab("watched_output.ipynb") as tab:
            (jp_root_dir / "go").touch()
            status = await wait_finished(client, job["job_id"], timeout=60)

            def after_shown() -> bool:
                return any("after" in stdout_of(c.to_py()) for c in tab.doc.ycells)

            await tab.wait_for(after_shown, what="the job's last output in the open notebook")
    assert status["status"] == "completed", status
    assert status["output_path"] == "watched_output.ipynb", "no one else changed it: nothing diverted"

    async def saved() -> bool:
        # Read from outside the server, as another program would: Jupyter's file manager writes a notebook in
        # place (its backup copy beside it), so such a read during the room's save can see it half written.
        try:
            nb = nbformat.read(str(jp_root_dir / "watched_output.ipynb"), as_version=4)
        except nbformat.reader.NotJSONError:
            return False
        return "after" in stdout_of(nb.cells[-1])

    await poll(saved, 20, "the room to save the job's output")


@collaboration(document_save_delay=60)
async def test_what_the_person_typed_in_the_open_output_is_kept_and_the_job_output_goes_beside_it(
    mcp_client, make_notebook, open_lab, jp_root_dir
):
    async with mcp_client() as client:
        job = await job_waiting_for_go(client, make_notebook, "typed")
        async with open_lab("typed_output.ipynb") as tab:
            first = next(str(c["id"]) for c in tab.doc.ycells if "before" in str(c["source"]))
            tab.type_into(first, "  # my note on the partial result")

            async def server_has_it() -> bool:
                return any("my note" in c["source"] for c in await cells_of(client, "typed_output.ipynb"))

            # Typed, not saved (the room saves 60 s after the last change): only the document has it.
            await poll(server_has_it, 20, "the typing to reach the server's document")
            (jp_root_dir / "go").touch()
            status = await wait_finished(client, job["job_id"], timeout=60)
            # The room checks its file every 0.5 s (file_poll_interval): a write behind it would
            # have made it reload the file, dropping the typing, within a few of those checks.
            await asyncio.sleep(2.5)
            assert any("my note" in s for s in tab.sources()), "the typing is still in the open notebook"
            cells = await cells_of(client, "typed_output.ipynb")
            assert any("my note" in c["source"] for c in cells)
            assert not any("after" in stdout_of(c) for c in cells), "the job did not write over it"
    assert status["status"] == "completed", status
    diverted = f"typed_output-{job['job_id']}.ipynb"
    assert status["output_path"] == diverted and diverted in str(status["result"]["note"])
    final = nbformat.read(str(jp_root_dir / diverted), as_version=4)
    assert "after" in stdout_of(final.cells[-1])
