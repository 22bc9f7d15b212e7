"""A notebook run tells its output writer each cell's start, every output as it arrives, and its end."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jupyter_mcp_ext.kernels.models import ExecutionOutcome
from jupyter_mcp_ext.kernels.output_writer import ContentsOutputWriter

from ..conftest import result_json
from .conftest import start_kernel
from .test_notebook_modes import read_via_rest

pytestmark = pytest.mark.kernel


class RecordingWriter(ContentsOutputWriter):
    """Writes the file as usual and records what a live writer would be told."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.events: list[tuple[Any, ...]] = []

    def cell_started(self, index: int) -> None:
        self.events.append(("started", index))

    def output_arrived(self, index: int, msg_type: str, outputs: list[Any], execution_count: int | None) -> None:
        self.events.append(("output", index, msg_type, copy.deepcopy(outputs), execution_count))

    def cell_finished(self, index: int, outcome: ExecutionOutcome) -> None:
        self.events.append(("finished", index, copy.deepcopy(outcome.outputs), outcome.execution_count))
        super().cell_finished(index, outcome)


async def test_the_output_writer_sees_each_output_as_it_arrives_and_the_file_still_gets_them(
    jp_serverapp, mcp_client, make_notebook, jp_fetch, monkeypatch
):
    make_notebook(
        "live.ipynb",
        [
            "print('a', flush=True)\nprint('b')",
            "",
            "from IPython.display import display, update_display\n"
            "display('one', display_id='d')\nupdate_display('two', display_id='d')",
            "from IPython.display import clear_output\nprint('gone', flush=True)\nclear_output()\nprint('kept')",
        ],
    )
    runner = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].kernels._notebook_runner
    writers: list[RecordingWriter] = []

    def output_writer(api_path: str, cells: list[Any]) -> RecordingWriter:
        writers.append(RecordingWriter(runner.notebooks, api_path, cells, runner.log))
        return writers[-1]

    monkeypatch.setattr(runner, "output_writer", output_writer)
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await client.call_tool(
            "execute_on_kernel", {"kernel_id": kernel_id, "mode": "notebook", "path": "live.ipynb"}
        )
    assert result_json(result)["cells_failed"] == 0
    events = writers[0].events
    by_cell = {i: [e for e in events if e[1] == i] for i in range(4)}
    assert by_cell[1] == [("finished", 1, [], None)]
    for index in (0, 2, 3):
        cell = by_cell[index]
        assert cell[0] == ("started", index) and cell[-1][0] == "finished"
        assert cell[1][:3] == ("output", index, "execute_input")
        # The last live view is what the cell finished with (count and outputs).
        assert cell[-2][3] == cell[-1][2] and cell[-2][4] == cell[-1][3] is not None
    assert by_cell[0][-1][2] == [{"output_type": "stream", "name": "stdout", "text": "a\nb\n"}]
    updates = [e for e in by_cell[2] if e[0] == "output" and e[2] == "update_display_data"]
    assert updates and updates[0][3][0]["data"]["text/plain"] == "'two'"
    assert ("output", 3, "clear_output", [], by_cell[3][1][4]) in by_cell[3]
    assert by_cell[3][-1][2] == [{"output_type": "stream", "name": "stdout", "text": "kept\n"}]
    cells = (await read_via_rest(jp_fetch, "live.ipynb"))["cells"]
    assert [c["outputs"] for c in cells] == [by_cell[i][-1][2] for i in range(4)]
