"""list_variables: what a real Python kernel holds after real code, read without a trace in its execution count or
history; kernels of other languages are refused, naming them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ..conftest import MODES, error_text, result_json
from .conftest import run_code, start_kernel

pytestmark = pytest.mark.kernel


CODE = """
import json
import numpy as np
arr = np.arange(12.0).reshape(3, 4)
config = {"region": "north", "n": 3}
rows = [1, 2, 3]
title = "Quarterly " * 20
_scratch = 1
def helper():
    return 1
class Model:
    pass
"""


async def variables(client: Any, kernel_id: str, **arguments: Any) -> dict[str, Any]:
    return result_json(await client.call_tool("list_variables", {"kernel_id": kernel_id, **arguments}))


async def history(client: Any, kernel_id: str) -> tuple[int, int]:
    """The execution count of a cell that reads the length of the kernel's input history, and that length."""
    data = result_json(await run_code(client, kernel_id, "len(In)"))
    return data["execution_count"], int(data["outputs"][0]["text"])


@pytest.mark.parametrize("mode", MODES)
async def test_the_users_names_come_with_type_shape_and_a_short_repr_and_the_rest_is_hidden(mcp_client, mode):
    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        code = CODE + 'import pandas as pd\ndf = pd.DataFrame({"region": ["n", "s"], "sales": [1.5, 2.0]})\n'
        assert result_json(await run_code(client, kernel_id, code + "1 + 1"))["status"] == "ok"
        before = await history(client, kernel_id)
        listed = await variables(client, kernel_id)
        after = await history(client, kernel_id)
        private = await variables(client, kernel_id, include_private=True)

    by_name = {v["name"]: v for v in listed["variables"]}
    assert list(by_name) == ["arr", "config", "df", "rows", "title"]
    assert by_name["arr"] == {
        "name": "arr",
        "type": "numpy.ndarray",
        "shape": [3, 4],
        "dtype": "float64",
        "repr": "array([[ 0., 1., 2., 3.], [ 4., 5., 6., 7.], [ 8., 9., 10., 11.]])",
    }
    assert by_name["config"] == {"name": "config", "type": "dict", "length": 2, "repr": "{'n': 3, 'region': 'north'}"}
    assert by_name["rows"]["type"] == "list" and by_name["rows"]["length"] == 3
    assert by_name["title"]["type"] == "str" and by_name["title"]["length"] == 200
    df = by_name["df"]
    assert df["type"] == "pandas.DataFrame" and df["shape"] == [2, 2]
    assert df["repr"].startswith("columns: region (") and "sales (float64)" in df["repr"]
    assert all(len(v["repr"]) <= 80 for v in listed["variables"])
    assert listed["count"] == len(by_name)
    assert listed["hidden"]["modules"] >= 2 and listed["hidden"]["functions"] == 1 and listed["hidden"]["classes"] == 1
    assert listed["hidden"]["private"] == 1
    # Nothing in the person's history or execution count: the next cell is numbered right after the one before.
    assert after == (before[0] + 1, before[1] + 1)
    names = [v["name"] for v in private["variables"]]
    assert "_scratch" in names
    assert not {"In", "Out", "_", "__", "_i", "_ih", "_oh", "_dh", "exit", "quit", "get_ipython"} & set(names)
    assert not [n for n in names if n.startswith(("_i", "__")) or n[1:].isdigit()]


async def test_a_name_of_ipythons_own_assigned_by_the_person_is_theirs(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        await run_code(client, kernel_id, "Out = 'mine'\nx = 1")
        listed = await variables(client, kernel_id)
    assert [v["name"] for v in listed["variables"]] == ["Out", "x"]


async def test_a_kernel_of_another_language_is_refused_naming_what_it_is(mcp_client, jp_kernel_dir):
    # pytest-jupyter installs its echo kernel (pytest_jupyter.echo_kernel: an ipykernel Kernel whose language is echo).
    assert json.loads((jp_kernel_dir / "echo" / "kernel.json").read_text())["language"] == "echo"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client, "echo")
        text = error_text(await client.call_tool("list_variables", {"kernel_id": kernel_id}))
        missing = error_text(await client.call_tool("list_variables", {"kernel_id": "nope"}))
    assert "list_variables reads the variables of Python kernels" in text
    assert f"kernel {kernel_id} is a echo kernel (echo)" in text and "execute_on_kernel" in text
    assert "kernel_id 'nope' is not an active kernel" in missing


async def test_a_kernel_busy_with_another_call_is_said_busy_and_that_call_runs_on(mcp_client, monkeypatch):
    from jupyter_mcp_ext.kernels import service

    monkeypatch.setattr(service, "VARIABLES_TIMEOUT", 1.0)
    async with mcp_client() as client, mcp_client() as other:
        kernel_id = await start_kernel(client)
        long = asyncio.ensure_future(run_code(other, kernel_id, "import time\ntime.sleep(3)\nprint('done')"))
        await asyncio.sleep(0.5)
        text = error_text(await client.call_tool("list_variables", {"kernel_id": kernel_id}))
        finished = result_json(await long)
    assert "is running another execute_on_kernel call" in text and "nothing was run" in text
    assert finished["status"] == "ok" and finished["outputs"][0]["text"] == "done\n"


async def test_a_kernel_busy_with_a_persons_cell_is_said_busy_and_the_cell_is_not_interrupted(
    mcp_client, jp_serverapp, monkeypatch
):
    from jupyter_client.session import Session

    from jupyter_mcp_ext.kernels import service

    monkeypatch.setattr(service, "VARIABLES_TIMEOUT", 1.0)
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
        # Another frontend, as JupyterLab's: a session of its own.
        person = manager.client(session=Session(key=manager.session.key, username="person"))
        person.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = person.execute("import time\ntime.sleep(3)\nlate = 1")
            await asyncio.sleep(0.5)
            text = error_text(await client.call_tool("list_variables", {"kernel_id": kernel_id}))
            reply = await asyncio.wait_for(person.get_shell_msg(), 30)
            listed = await variables(client, kernel_id)
        finally:
            person.stop_channels()
    assert "did not answer within 1 s: it is busy with other work" in text
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"
    assert [v["name"] for v in listed["variables"]] == ["late"]
