"""execute_on_kernel on a notebook open in JupyterLab: each output appears in the open notebook as it arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import nbformat
import pytest

from ..conftest import result_json

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("kernels_stopped")]

SLOW_PRINTS = "import time\nfor i in range(4):\n    print(f'line {i}', flush=True)\n    time.sleep(0.4)\n'done'"

DISPLAYS = """\
import time
from IPython.display import clear_output, display
handle = display('first', display_id=True)
time.sleep(0.4)
handle.update('second')
time.sleep(0.4)
for i in range(3):
    clear_output(wait=True)
    print(f'tick {i}', flush=True)
    time.sleep(0.3)
"""


def watch_cell(tab: Any, cell_id: str) -> list[dict[str, Any]]:
    """The states of the cell that the tab sees (outputs, execution_count, execution_state), in order,
    sampled every 10 ms until the test ends."""
    seen: list[dict[str, Any]] = []

    async def sample() -> None:
        while not tab.closed:
            try:
                cell = tab.doc.ycells[tab.index_of(cell_id)].to_py()
            except KeyError:
                cell = {}
            state = {k: cell.get(k) for k in ("outputs", "execution_count", "execution_state")}
            if not seen or seen[-1] != state:
                seen.append(state)
            await asyncio.sleep(0.01)

    tab._tasks.append(asyncio.create_task(sample()))
    return seen


def texts(state: dict[str, Any]) -> str:
    return "".join(o.get("text", "") for o in state["outputs"] or [] if o.get("output_type") == "stream")


async def run_cell(client: Any, kernel_id: str, cell_id: str) -> dict[str, Any]:
    return result_json(
        await client.call_tool(
            "execute_on_kernel",
            {"kernel_id": kernel_id, "mode": "notebook_cell", "path": "run.ipynb", "cell_id": cell_id},
        )
    )


async def test_stream_output_shows_line_by_line_while_the_cell_runs(mcp_client, make_notebook, open_lab, jp_root_dir):
    make_notebook("run.ipynb", ["x = 1", SLOW_PRINTS])
    async with open_lab("run.ipynb") as tab, mcp_client() as client:
        cell_id = str(tab.doc.ycells[1]["id"])
        seen = watch_cell(tab, cell_id)
        kernel_id = result_json(await client.call_tool("start_kernel", {}))["kernel_id"]
        data = await run_cell(client, kernel_id, cell_id)
        await tab.wait_for(lambda: seen and seen[-1]["execution_state"] == "idle", what="the finished cell")
    assert data["status"] == "ok" and data["cell_index"] == 1 and data["cell_id"] == cell_id
    running = [s for s in seen if s["execution_state"] == "running"]
    assert running and running[0]["outputs"] == [] and running[0]["execution_count"] is None
    final = seen[-1]
    assert texts(final) == "line 0\nline 1\nline 2\nline 3\n" and final["execution_count"] == data["execution_count"]
    partial = [texts(s) for s in running if texts(s)]
    # The kernel prints a line every 0.4 s: the tab saw the text grow while the cell ran, not only at the end.
    assert len(set(partial)) >= 2, f"the lines appeared as they were printed: {partial}"
    assert all(texts(final).startswith(p) for p in partial) and "line 3" not in partial[0]
    assert final["outputs"][-1]["data"] == {"text/plain": "'done'"}
    assert [o["output_type"] for o in final["outputs"]] == ["stream", "execute_result"], "the stream was merged"

    async def saved() -> bool:
        try:
            cell = nbformat.read(str(jp_root_dir / "run.ipynb"), as_version=4).cells[1]
        except Exception:  # the room is writing the file right now (in place)
            return False
        return cell.get("execution_count") == data["execution_count"] and len(cell.outputs) == 2

    deadline = asyncio.get_running_loop().time() + 20
    while not await saved():
        assert asyncio.get_running_loop().time() < deadline, "the room saved the outputs"
        await asyncio.sleep(0.05)


async def test_displays_are_updated_in_place_and_clear_output_wait_replaces_them(mcp_client, make_notebook, open_lab):
    make_notebook("run.ipynb", [DISPLAYS])
    async with open_lab("run.ipynb") as tab, mcp_client() as client:
        cell_id = str(tab.doc.ycells[0]["id"])
        seen = watch_cell(tab, cell_id)
        kernel_id = result_json(await client.call_tool("start_kernel", {}))["kernel_id"]
        data = await run_cell(client, kernel_id, cell_id)
        await tab.wait_for(lambda: seen and seen[-1]["execution_state"] == "idle", what="the finished cell")
    displays = [
        o["data"]["text/plain"]
        for s in seen
        for o in (s["outputs"] or [])[:1]
        if o.get("output_type") == "display_data"
    ]
    assert "'first'" in displays and "'second'" in displays, "the display showed, then its update"
    assert displays.index("'first'") < displays.index("'second'")
    ticks = [texts(s) for s in seen if texts(s)]
    assert all(t.count("tick") == 1 for t in ticks), f"clear_output(wait=True) left one tick at a time: {ticks}"
    assert seen[-1]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "tick 2\n"}]
    assert data["status"] == "ok"
