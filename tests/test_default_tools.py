"""The default tool list: short, without the deprecated names."""

from __future__ import annotations


async def test_default_tool_list_has_no_deprecated_names(mcp_client):
    async with mcp_client() as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "read_cells" in names
    assert not names & {"read_cell", "list_jobs", "execute_cell", "get_kernel_status"}
