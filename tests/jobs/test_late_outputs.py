"""A job's status comes from the kernel's replies even when an output reaches the notebook late."""

from __future__ import annotations

import pytest

from .conftest import tool

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

#: Makes the kernel publish its error outputs 6 s late, after it has gone idle: what a busy machine
#: can do, and nbclient then saves the cell without its error output (it stops waiting for IOPub).
LATE_ERROR_OUTPUTS = """import threading
kernel = get_ipython().kernel
send = kernel.session.send
def late(stream, msg_or_type, *args, **kwargs):
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("header", {}).get("msg_type")
    if kind == "error":
        threading.Timer(6, send, (stream, msg_or_type, *args), kwargs).start()
        return None
    return send(stream, msg_or_type, *args, **kwargs)
kernel.session.send = late"""


async def test_sys_exit_zero_whose_error_output_comes_late_still_completes(mcp_client, make_notebook):
    make_notebook("late.ipynb", [LATE_ERROR_OUTPUTS, "import sys\nsys.exit()", "print('never')"])
    make_notebook("late1.ipynb", [LATE_ERROR_OUTPUTS, "import sys\nsys.exit(1)", "print('never')"])
    async with mcp_client() as client:
        zero = await tool(client, "execute_notebook", notebook_path="late.ipynb")
        one = await tool(client, "execute_notebook", notebook_path="late1.ipynb")

    assert zero["execution_status"] == "completed", zero
    assert zero["cells_executed"] == 2 and "sys.exit()" in zero["note"]
    assert one["execution_status"] == "failed"
    assert (one["error"]["type"], one["error"]["evalue"], one["error"]["cell_index"]) == ("SystemExit", "1", 1)
