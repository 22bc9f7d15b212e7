"""Error outputs follow error_output_type and max_error_output; the server's Authorizer governs the kernel tools."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer

from ..conftest import error_text, result_json
from .conftest import run_code, start_kernel, with_config

pytestmark = pytest.mark.kernel

DEEP_ERROR = "def f(n):\n    if n == 0:\n        raise ValueError('deep ' + 'x' * 50)\n    return f(n - 1)\nf(30)"


@with_config(error_output_type="short")
async def test_short_error_output_keeps_only_the_failing_frame_and_the_error_line(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, DEEP_ERROR))
    traceback = data["error"]["traceback"]
    assert len(traceback) == 2
    assert "raise ValueError" in traceback[0] and traceback[1].startswith("ValueError: deep xxx")
    # Once per result: in error, not again in the error output.
    assert data["outputs"][-1] == {"output_type": "error", "ename": "ValueError", "evalue": data["error"]["evalue"]}


@with_config(max_error_output=600)
async def test_a_long_traceback_is_cut_to_max_error_output_keeping_its_start_and_the_error(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, DEEP_ERROR))
    traceback = data["error"]["traceback"]
    marker = next(entry for entry in traceback if "cut by max_error_output=600" in entry)
    assert "traceback entries" in marker and "error_output_type='short'" in marker
    assert traceback[0].startswith("-----") and traceback[-1].startswith("ValueError: deep")
    assert sum(len(entry) for entry in traceback if entry is not marker) <= 600


class NoKernelExecution(Authorizer):
    """Lets a user see kernels but neither start nor run code in them."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "kernels" and action in ("write", "execute"))


@with_config(server={"authorizer_class": NoKernelExecution})
async def test_the_servers_authorizer_decides_who_may_start_kernels_and_run_code(mcp_client, jp_serverapp):
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    async with mcp_client() as client:
        listed = result_json(await client.call_tool("list_kernels", {}))
        start = error_text(await client.call_tool("start_kernel", {}))
        execute = error_text(await run_code(client, kernel_id, "1"))
        interrupt = error_text(await client.call_tool("interrupt_kernel", {"kernel_id": kernel_id}))
    assert [k["kernel_id"] for k in listed["active_kernels"]] == [kernel_id]
    assert "Not allowed" in start and "write kernels" in start
    assert "Not allowed" in execute and "execute kernels" in execute
    assert "Not allowed" in interrupt
