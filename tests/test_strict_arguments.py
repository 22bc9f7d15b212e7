"""An argument a tool does not take is refused, naming it, the closest valid one and all the valid ones, on every tool
and in both protocol generations; nothing runs (a misspelt ``dir`` used to list the root, as a success)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import MODES, TOOLS, error_text, result_json


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {**jp_server_config, "MCPExtensionApp": {"enable_legacy_tool_names": True}}


@pytest.mark.parametrize("tool", sorted(TOOLS))
async def test_an_unknown_argument_is_refused_with_the_closest_and_the_valid_ones(mcp_client, jp_root_dir, tool):
    for mode in MODES:
        async with mcp_client(mode=mode) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            valid = list((listed[tool].input_schema or {}).get("properties") or {})
            if valid:
                meant = max(valid, key=len)
                misspelt = meant[:-1]  # e.g. 'notebook_pat' for 'notebook_path'
                text = error_text(await client.call_tool(tool, {misspelt: "x"}))
                assert f"unknown argument {misspelt!r}; did you mean {meant!r}? valid: {', '.join(valid)}" in text, (
                    mode,
                    text,
                )
            text = error_text(await client.call_tool(tool, {"zzz_not_an_argument": 1}))
            assert f"unknown argument 'zzz_not_an_argument'; valid: {', '.join(valid) or 'none'}" in text, (mode, text)
    assert not list(jp_root_dir.iterdir()), "a refused call changed the root"


@pytest.mark.parametrize("mode", MODES)
async def test_a_misspelt_directory_is_refused_instead_of_listing_the_root(mcp_client, make_notebook, mode):
    make_notebook("crafted/a.ipynb", ["x = 1"])
    make_notebook("root.ipynb", ["y = 2"])
    async with mcp_client(mode=mode) as client:
        text = error_text(await client.call_tool("list_notebook_files", {"dir": "crafted"}))
        assert text == (
            "Invalid arguments for list_notebook_files: unknown argument 'dir'; did you mean 'directory'? "
            "valid: directory, recursive, start_index."
        )
        # Unknown and wrong arguments are said together.
        text = error_text(await client.call_tool("read_cells", {"path": "root.ipynb", "idx": 1, "mode": "one"}))
        assert "unknown argument 'idx'; did you mean 'index'?" in text and "mode must be one of" in text
        listed = result_json(await client.call_tool("list_notebook_files", {"directory": "crafted"}))
        assert [f["path"] for f in listed["files"]] == ["crafted/a.ipynb"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_deprecated_alias_refuses_unknown_arguments_with_its_own_names(mcp_client, make_notebook, mode):
    make_notebook("n.ipynb", ["a", "b"])
    async with mcp_client(mode=mode) as client:
        text = error_text(await client.call_tool("read_cell", {"path": "n.ipynb", "cell_index": 1}))
        assert "unknown argument 'cell_index'; did you mean 'index'? valid: path, index" in text
        assert result_json(await client.call_tool("read_cell", {"path": "n.ipynb", "index": 1}))["index"] == 1
