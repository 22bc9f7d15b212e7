"""One INFO line per tool call, in the server's log; no token, source or output in it at INFO or DEBUG."""

from __future__ import annotations

import logging
import re

import httpx2
import nbformat
import pytest
from mcp.types import Implementation

from ..conftest import MODES, TOKEN, result_json

SOURCE = "secret_source_value = 'S0URCE-7f3a'"
OUTPUT = "0UTPUT-9c1e"

LINE = re.compile(
    r"^MCP tool=(?P<tool>\w+)(?P<args>( \w+=\S+)*) outcome=(?P<outcome>\w+)( error=(?P<error>\w+))?"
    r" duration_ms=(?P<ms>[\d.]+) client=(?P<client>\S+)"
)


def calls(server_log) -> list[re.Match[str]]:
    return [m for line in server_log.lines(logging.INFO, "jupyter_mcp_ext.tools") if (m := LINE.match(line))]


@pytest.mark.parametrize("mode", MODES)
async def test_each_tool_call_logs_one_line_with_tool_target_outcome_duration_and_client(
    mcp_client, make_notebook, server_log, mode
):
    make_notebook("reports/q1.ipynb", ["x = 1"])
    async with mcp_client(mode=mode, client_info=Implementation(name="lab-agent", version="3.1")) as client:
        await client.call_tool("read_cells", {"path": "reports/q1.ipynb", "mode": "single", "index": 0})
        await client.call_tool("read_cells", {"path": "reports/q1.ipynb", "mode": "single", "index": 9})
        await client.call_tool("list_kernels", {})
    lines = calls(server_log)
    assert [(m["tool"], m["outcome"]) for m in lines] == [
        ("read_cells", "ok"),
        ("read_cells", "error"),
        ("list_kernels", "ok"),
    ]
    assert lines[0]["args"] == " path=reports/q1.ipynb mode=single"
    assert lines[1]["error"] == "CellIndexError"
    assert all(m["client"] == "lab-agent" and float(m["ms"]) >= 0 for m in lines)


@pytest.mark.kernel
async def test_no_token_source_or_output_reaches_the_log_at_info_nor_the_extensions_debug(
    mcp_client, make_notebook, server_log
):
    make_notebook("nb.ipynb", [SOURCE])
    async with mcp_client() as client:
        await client.call_tool("read_cells", {"path": "nb.ipynb", "mode": "all"})
        await client.call_tool("update_cell", {"path": "nb.ipynb", "index": 0, "source": SOURCE + "  # edited"})
        await client.call_tool("add_cell", {"path": "nb.ipynb", "cell_type": "code", "source": f"print({OUTPUT!r})"})
        kernel_id = result_json(await client.call_tool("start_kernel", {"kernel_name": "python3"}))["kernel_id"]
        try:
            ran = await client.call_tool(
                "execute_on_kernel", {"kernel_id": kernel_id, "mode": "notebook", "path": "nb.ipynb"}
            )
            assert OUTPUT in ran.content[0].text
            await client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "code", "code": "1/0"})
        finally:
            await client.call_tool("stop_kernel", {"kernel_id": kernel_id})
    info = "\n".join(server_log.lines(logging.INFO))
    debug = "\n".join(
        server_log.lines(logging.DEBUG, "jupyter_mcp_ext") + server_log.lines(logging.DEBUG, "MCPExtensionApp")
    )
    assert "tool=execute_on_kernel" in info and f"kernel_id={kernel_id}" in info
    assert any(r.levelno == logging.DEBUG for r in server_log.records), "the log was captured at DEBUG"
    for secret in (TOKEN, "S0URCE-7f3a", OUTPUT, "ZeroDivisionError"):
        assert secret not in info, f"{secret!r} is in the server's INFO log"
        assert secret not in debug, f"{secret!r} is in the extension's DEBUG log"


def unsigned_notebook_with_outputs(root, path: str = "out.ipynb") -> str:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>hi</b>"})]
    nb.cells.append(cell)
    nbformat.write(nb, str(root / path))
    return path


async def test_reads_do_not_log_not_trusted_but_jupyterlabs_reads_still_do(
    mcp_client, jp_root_dir, server_log, contents_api
):
    path = unsigned_notebook_with_outputs(jp_root_dir)
    async with mcp_client() as client:
        for _ in range(3):
            await client.call_tool("read_cells", {"path": path, "mode": "all"})
            await client.call_tool("inspect_notebook", {"path": path, "mode": "outputs"})
        await client.call_tool("add_cell", {"path": path, "cell_type": "markdown", "source": "note"})
    assert not [line for line in server_log.lines(logging.WARNING) if "is not trusted" in line]
    async with contents_api() as http:
        assert (await http.get(f"api/contents/{path}")).status_code == 200
    assert [line for line in server_log.lines(logging.WARNING) if "is not trusted" in line] == [
        f"Notebook {path} is not trusted"
    ]


async def test_inspect_notebook_reports_whether_the_notebook_is_trusted(mcp_client, jp_root_dir, jp_serverapp):
    path = unsigned_notebook_with_outputs(jp_root_dir)
    async with mcp_client() as client:
        before = result_json(await client.call_tool("inspect_notebook", {"path": path}))
        nb = nbformat.read(str(jp_root_dir / path), as_version=4)
        jp_serverapp.contents_manager.notary.sign(nb)
        nbformat.write(nb, str(jp_root_dir / path))
        after = result_json(await client.call_tool("inspect_notebook", {"path": path}))
    assert before["trusted"] is False and after["trusted"] is True


async def test_tool_calls_are_still_counted_in_metrics(mcp_client, make_notebook, server_url, auth_headers):
    make_notebook("a.ipynb", ["x = 1"])
    async with mcp_client() as client:
        await client.call_tool("inspect_notebook", {"path": "a.ipynb"})
    async with httpx2.AsyncClient(headers=auth_headers) as http:
        text = (await http.get(f"{server_url}metrics")).text
    assert re.search(r'mcp_tool_calls_total\{outcome="ok",tool="inspect_notebook"\} [1-9]', text)
