"""A running job's output notebook beside readers and writers: every read of it parses while the job
keeps saving it, and an edit someone makes to it mid-run is never overwritten by the job."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from ..conftest import result_json
from ..jobs.conftest import WAIT_FOR_GO, tool, wait_finished, wait_for_first_output

pytestmark = [pytest.mark.kernel]

#: Cells that each print about 60 KB, so that every save of the output notebook grows it.
PRINTING_CELLS = [f"import time\nprint('{i}' * 60_000)\ntime.sleep(0.05)" for i in range(40)]


@pytest.mark.stress
async def test_reads_of_a_job_output_while_the_job_saves_it_always_parse(
    mcp_client, contents_api, make_notebook, jp_root_dir
):
    make_notebook("printing.ipynb", PRINTING_CELLS)
    problems: list[str] = []
    reads = {"rest": 0, "mcp": 0}
    async with mcp_client() as client, mcp_client() as reader, contents_api() as rest:
        job = await tool(client, "execute_notebook", notebook_path="printing.ipynb", mode="async")
        done = asyncio.Event()

        async def rest_loop() -> None:
            while not done.is_set():
                response = await rest.get("api/contents/printing_output.ipynb", params={"content": "1"})
                if response.status_code == 200:
                    reads["rest"] += 1
                elif response.status_code != 404:
                    problems.append(f"GET answered {response.status_code}: {response.text[:300]}")
                    return

        async def mcp_loop() -> None:
            while not done.is_set():
                result = await reader.call_tool("read_cells", {"path": "printing_output.ipynb", "mode": "list"})
                if not result.is_error:
                    reads["mcp"] += 1
                elif "does not exist" not in result.content[0].text:
                    problems.append(f"read_cells failed: {result.content[0].text[:300]}")
                    return

        async def finish() -> dict:
            try:
                return await wait_finished(client, job["job_id"], timeout=120)
            finally:
                done.set()

        status, *_ = await asyncio.gather(finish(), rest_loop(), mcp_loop())

    assert not problems, problems
    assert status["status"] == "completed", status
    assert reads["rest"] > 3 and reads["mcp"] > 3, f"the readers must overlap the run: {reads}"
    nb = nbformat.read(str(jp_root_dir / "printing_output.ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    assert all(c.outputs and c.outputs[0]["text"].startswith(str(i)) for i, c in enumerate(code[-40:]))
    assert nb.metadata.papermill.output_path == str(jp_root_dir / "printing_output.ipynb")


async def test_an_edit_made_to_a_job_output_mid_run_is_kept_and_the_output_goes_beside_it(
    mcp_client, contents_api, make_notebook, jp_root_dir
):
    make_notebook("waiting.ipynb", ["print('before')", WAIT_FOR_GO, "print('after')"])
    output = jp_root_dir / "waiting_output.ipynb"
    async with mcp_client() as client, contents_api() as rest:
        job = await tool(client, "execute_notebook", notebook_path="waiting.ipynb", mode="async")

        await wait_for_first_output(rest, "waiting_output.ipynb")
        note = "My notes on the partial results."
        result_json(
            await client.call_tool(
                "add_cell", {"path": "waiting_output.ipynb", "cell_type": "markdown", "source": note}
            )
        )
        (jp_root_dir / "go").touch()
        status = await wait_finished(client, job["job_id"], timeout=60)

    assert status["status"] == "completed", status
    kept = nbformat.read(str(output), as_version=4)
    assert kept.cells[-1].source == note, "the edit made during the run is still there"
    diverted = f"waiting_output-{job['job_id']}.ipynb"
    assert status["output_path"] == diverted and diverted in status["message"] + str(status["result"]["note"])
    final = nbformat.read(str(jp_root_dir / diverted), as_version=4)
    assert "after" in final.cells[-1].outputs[0]["text"]
