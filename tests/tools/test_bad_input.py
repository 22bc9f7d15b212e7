"""Bad input gets an MCP tool error naming the argument, the problem and what is valid, and changes nothing."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2
import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

from jupyter_mcp_ext.exceptions import PathError
from jupyter_mcp_ext.notebooks.paths import normalize_api_path

from ..conftest import INITIALIZE, MODES, error_text, listed_cells, result_json

MAX_SOURCE_CHARS = 1000
MAX_BODY_BYTES = 200_000
EMPTY_NB = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Small limits for these tests, plus a test's own sections (``parametrize(..., indirect=True)``)."""
    return {
        **jp_server_config,
        "MCPExtensionApp": {"max_source_chars": MAX_SOURCE_CHARS, "max_request_body_bytes": MAX_BODY_BYTES},
        **getattr(request, "param", {}),
    }


def snapshot(root) -> dict[str, bytes]:
    """Every regular file under ``root`` (symlinks not followed) with its bytes."""
    files = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                with open(full, "rb") as f:
                    files[os.path.relpath(full, root)] = f.read()
    return files


@pytest.fixture
def outside(jp_root_dir):
    """A directory beside the server root, with a valid notebook in it."""
    path = jp_root_dir.parent / "outside"
    path.mkdir()
    (path / "target.ipynb").write_text(json.dumps(EMPTY_NB))
    return path


@pytest.fixture
def refused(jp_root_dir):
    """``await refused(client, tool, arguments, *fragments)``: the call is a tool error whose text has every
    fragment, no file under the root or beside it (``outside/``) changed, and the server still answers."""
    watched = [jp_root_dir, jp_root_dir.parent / "outside"]

    async def check(client, tool: str, arguments: dict[str, Any], *fragments: str) -> str:
        before = [snapshot(d) for d in watched]
        text = error_text(await client.call_tool(tool, arguments))
        for fragment in fragments:
            assert fragment in text, f"{fragment!r} not in {text!r}"
        assert [snapshot(d) for d in watched] == before, f"{tool}({arguments}) changed files on disk"
        assert "read_cells" in {t.name for t in (await client.list_tools()).tools}
        return text

    return check


@pytest.mark.parametrize("mode", MODES)
async def test_a_missing_notebook_is_named_as_not_existing(mcp_client, refused, make_notebook, mode):
    async with mcp_client(mode=mode) as client:
        for tool, args in [
            ("read_notebook", {}),
            ("read_cells", {"mode": "all"}),
            ("inspect_notebook", {}),
            ("update_cell", {"index": 0, "source": "x"}),
            ("remove_cell", {"index": 0}),
        ]:
            await refused(
                client, tool, {"path": "sub/missing.ipynb", **args}, "path", "sub/missing.ipynb", "does not exist"
            )


async def test_a_file_that_is_not_a_notebook_is_refused(mcp_client, refused, jp_root_dir):
    (jp_root_dir / "notes.txt").write_text("plain text")
    (jp_root_dir / "garbage.ipynb").write_text("{ this is not json")
    (jp_root_dir / "list.ipynb").write_text("[1, 2, 3]")
    (jp_root_dir / "v3.ipynb").write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}))
    (jp_root_dir / "folder.ipynb").mkdir()
    async with mcp_client() as client:
        await refused(client, "read_cells", {"path": "notes.txt"}, "path 'notes.txt'", "not a notebook", ".ipynb")
        for name in ("garbage.ipynb", "list.ipynb"):
            text = await refused(client, "read_cells", {"path": name}, f"path {name!r}", "cannot be read as a notebook")
            assert "bytes" in text and "changed nothing" in text, "it says what is on disk and that nothing changed"
            assert "write" not in text.lower(), "it never invites rewriting the file"
            await refused(client, "add_cell", {"path": name, "cell_type": "code", "source": "x"}, name, "notebook")
        await refused(client, "read_notebook", {"path": "folder.ipynb"}, "folder.ipynb", "directory")


@pytest.mark.parametrize("mode", MODES)
async def test_an_index_out_of_range_names_the_valid_range(mcp_client, refused, make_notebook, mode):
    make_notebook("three.ipynb", ["a", "b", "c"])
    p = {"path": "three.ipynb"}
    async with mcp_client(mode=mode) as client:
        await refused(
            client, "read_cells", {**p, "mode": "single", "index": 3}, "index 3 is out of range", "3 cells (0-2)"
        )
        await refused(client, "update_cell", {**p, "index": 7, "source": "x"}, "index 7", "(0-2)")
        await refused(client, "remove_cell", {**p, "index": -1}, "index -1", "(0-2)")
        await refused(client, "add_cell", {**p, "cell_type": "code", "source": "x", "index": 5}, "index 5", "0-3")
        await refused(client, "read_cells", {**p, "mode": "range", "start_index": 9}, "start_index 9", "(0-2)")
        await refused(client, "read_cells", {**p, "mode": "range", "start_index": 0, "end_index": 3}, "end_index 3")
        await refused(client, "read_cells", {**p, "mode": "range", "start_index": 2, "end_index": 1}, "end_index 1")


async def test_an_empty_notebook_says_it_has_no_cells(mcp_client, refused, make_notebook, notebook_backend):
    make_notebook("empty.ipynb", [])
    # JupyterLab shows an empty notebook with one empty cell, and its shared document has that cell.
    index, count = (1, "1 cell") if notebook_backend == "live" else (0, "0 cells")
    async with mcp_client() as client:
        text = await refused(
            client, "read_cells", {"path": "empty.ipynb", "mode": "single", "index": index}, f"index {index}"
        )
        assert count in text


@pytest.mark.parametrize("mode", MODES)
async def test_a_mode_without_its_required_argument_or_with_a_stray_one_names_it(
    mcp_client, refused, make_notebook, mode
):
    make_notebook("n.ipynb", ["a"])
    async with mcp_client(mode=mode) as client:
        await refused(client, "read_cells", {"path": "n.ipynb", "mode": "single"}, "mode='single' needs index")
        await refused(client, "read_cells", {"path": "n.ipynb", "mode": "range"}, "mode='range' needs start_index")
        await refused(
            client, "read_cells", {"path": "n.ipynb", "index": 0}, "mode='list'", "index was given", "mode='single'"
        )
        await refused(
            client, "read_cells", {"path": "n.ipynb", "mode": "single", "index": 0, "end_index": 0}, "end_index"
        )
        await refused(
            client, "read_cells", {"path": "n.ipynb", "mode": "range", "start_index": 0, "index": 0}, "mode='single'"
        )


async def test_arguments_of_the_wrong_kind_name_the_argument_and_its_valid_values(mcp_client, refused, make_notebook):
    make_notebook("n.ipynb", ["a"])
    async with mcp_client() as client:
        text = await refused(client, "add_cell", {"path": "n.ipynb", "cell_type": "python", "source": "x"}, "cell_type")
        assert "'code'" in text and "'markdown'" in text and "'raw'" in text
        text = await refused(client, "read_cells", {"path": "n.ipynb", "mode": "everything"}, "mode")
        assert "'single'" in text and "'range'" in text
        await refused(client, "read_cells", {"path": "n.ipynb", "mode": "single", "index": "first"}, "index")
        await refused(client, "update_cell", {"path": "n.ipynb", "index": 0}, "source")
        await refused(
            client, "add_cell", {"path": "n.ipynb", "cell_type": "code", "source": "x", "metadata": [1]}, "metadata"
        )


@pytest.mark.parametrize(
    "bad_path",
    ["../outside/target.ipynb", "sub/../../outside/target.ipynb", "../outside/new.ipynb"],
)
async def test_a_path_leaving_the_root_is_refused(mcp_client, refused, make_notebook, outside, bad_path):
    make_notebook("sub/in.ipynb", ["x"])
    async with mcp_client() as client:
        for tool, args in [("read_notebook", {}), ("add_cell", {"cell_type": "code", "source": "x"})]:
            await refused(client, tool, {"path": bad_path, **args}, "path", "leaves the server root", "relative to")
        await refused(client, "list_notebook_files", {"directory": ".."}, "directory", "leaves the server root")


async def test_an_absolute_path_outside_the_root_is_refused(mcp_client, refused, outside):
    async with mcp_client() as client:
        for path in (str(outside / "target.ipynb"), str(outside / "not_there.ipynb"), "/etc/passwd.ipynb"):
            await refused(client, "read_notebook", {"path": path}, "path", "outside the server root")
            await refused(client, "write_notebook", {"path": path, "content": EMPTY_NB}, "outside the server root")


async def test_an_absolute_path_inside_the_root_or_a_leading_slash_api_path_is_accepted(
    mcp_client, make_notebook, jp_root_dir
):
    make_notebook("sub/in.ipynb", ["x"])
    async with mcp_client() as client:
        absolute = result_json(await client.call_tool("read_cells", {"path": str(jp_root_dir / "sub" / "in.ipynb")}))
        slashed = result_json(await client.call_tool("read_cells", {"path": "/sub/in.ipynb"}))
        created = result_json(await client.call_tool("create_notebook", {"path": "/sub/new.ipynb"}))
        listed = result_json(await client.call_tool("list_notebook_files", {"directory": "/", "recursive": True}))
    assert absolute["path"] == slashed["path"] == "sub/in.ipynb"
    assert created["path"] == "sub/new.ipynb" and (jp_root_dir / "sub" / "new.ipynb").is_file()
    assert [f["path"] for f in listed["files"]] == ["sub/in.ipynb", "sub/new.ipynb"]


async def test_a_symlink_inside_the_root_pointing_out_is_refused(mcp_client, refused, jp_root_dir, outside):
    (jp_root_dir / "link.ipynb").symlink_to(outside / "target.ipynb")
    (jp_root_dir / "linkdir").symlink_to(outside)
    async with mcp_client() as client:
        for path in ("link.ipynb", "linkdir/target.ipynb", "linkdir/new.ipynb"):
            await refused(client, "read_cells", {"path": path}, f"path {path!r}", "outside the server root")
            await refused(client, "write_notebook", {"path": path, "content": EMPTY_NB}, "outside the server root")
        await refused(client, "create_notebook", {"path": "linkdir/made.ipynb"}, "outside the server root")
        await refused(client, "list_notebook_files", {"directory": "linkdir"}, "directory", "outside the server root")
        listed = result_json(await client.call_tool("list_notebook_files", {"recursive": True}))
    assert listed["files"] == [], "nothing outside the root is listed, even through a link"


async def test_a_hidden_file_is_refused_where_the_server_hides_them(mcp_client, refused, make_notebook):
    make_notebook(".hidden.ipynb", ["secret"])
    make_notebook(".config/inner.ipynb", ["secret"])
    async with mcp_client() as client:
        for path in (".hidden.ipynb", ".config/inner.ipynb"):
            text = await refused(client, "read_cells", {"path": path}, f"path {path!r}", "hidden")
            assert "allow_hidden" in text
            await refused(client, "update_cell", {"path": path, "index": 0, "source": "x"}, "hidden")
        await refused(client, "create_notebook", {"path": ".new.ipynb"}, "hidden")


@pytest.mark.parametrize("jp_server_config", [{"ContentsManager": {"allow_hidden": True}}], indirect=True)
async def test_a_hidden_file_is_served_where_the_server_allows_hidden_files(mcp_client, make_notebook):
    make_notebook(".config/inner.ipynb", ["visible now"])
    async with mcp_client() as client:
        data = result_json(await client.call_tool("read_cells", {"path": ".config/inner.ipynb"}))
        listed = result_json(await client.call_tool("list_notebook_files", {"recursive": True}))
    assert listed_cells(data)[0]["preview"] == "visible now"
    assert [f["path"] for f in listed["files"]] == [".config/inner.ipynb"]


async def test_a_source_over_max_source_chars_is_refused_with_the_limit(mcp_client, refused, make_notebook):
    make_notebook("n.ipynb", ["a"])
    big = "x" * (MAX_SOURCE_CHARS + 1)
    cell = {"cell_type": "code", "source": big, "metadata": {}, "outputs": [], "execution_count": None}
    async with mcp_client() as client:
        for tool, args in [
            ("add_cell", {"cell_type": "code", "source": big}),
            ("update_cell", {"index": 0, "source": big}),
            ("write_notebook", {"content": {**EMPTY_NB, "cells": [cell]}}),
        ]:
            text = await refused(client, tool, {"path": "n.ipynb", **args}, "source", "1,001 characters", "1,000")
            assert "max_source_chars" in text
        ok = await client.call_tool("add_cell", {"path": "n.ipynb", "cell_type": "code", "source": "x" * 1000})
    assert result_json(ok)["cell_count"] == 2


async def test_invalid_notebook_content_is_refused_with_nbformats_errors(mcp_client, refused, make_notebook):
    make_notebook("n.ipynb", ["keep"])
    bad_cell = {"cell_type": "code", "source": "x", "metadata": {}, "outputs": [{"output_type": "bogus"}]}
    async with mcp_client() as client:
        await refused(client, "write_notebook", {"path": "n.ipynb", "content": {"cells": []}}, "content", "nbformat 4")
        text = await refused(
            client,
            "write_notebook",
            {"path": "n.ipynb", "content": {**EMPTY_NB, "cells": [bad_cell]}},
            "content",
            "cell 0",
        )
        assert "valid" in text
        await refused(client, "write_notebook", {"path": "n.ipynb", "content": "{not json"}, "content", "JSON")


async def test_an_unknown_kernel_or_directory_is_named(mcp_client, refused, jp_root_dir):
    (jp_root_dir / "notes.txt").write_text("a file, not a folder")
    async with mcp_client() as client:
        await refused(client, "create_notebook", {"path": "k.ipynb", "kernel": "cobol"}, "kernel 'cobol'", "python3")
        await refused(client, "create_notebook", {"path": "notes.txt/k.ipynb"}, "'notes.txt'", "is a file")
        await refused(client, "list_notebook_files", {"directory": "nowhere"}, "directory 'nowhere'", "does not exist")


async def test_a_request_body_over_max_request_body_bytes_gets_413(mcp_url, auth_headers, make_notebook):
    make_notebook("n.ipynb", ["a"])
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "add_cell",
            "arguments": {"path": "n.ipynb", "cell_type": "code", "source": "x" * MAX_BODY_BYTES},
        },
    }
    headers = {**auth_headers, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        response = await http.post(mcp_url, content=json.dumps(body))
        assert response.status_code == 413
        assert (await http.post(mcp_url, json=INITIALIZE)).status_code == 200


async def test_a_notebook_that_fails_validation_can_still_be_read_inspected_and_repaired(mcp_client, jp_root_dir):
    bad = {
        "cells": [
            {
                "cell_type": "code",
                "source": 5,
                "metadata": {},
                "outputs": [{"output_type": "weird"}],
                "execution_count": "1",
            },
            {"cell_type": "markdown", "source": ["# Title"], "metadata": {}},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    (jp_root_dir / "bad.ipynb").write_text(json.dumps(bad))
    async with mcp_client() as client:
        listed = result_json(await client.call_tool("read_cells", {"path": "bad.ipynb"}))
        report = result_json(await client.call_tool("inspect_notebook", {"path": "bad.ipynb", "mode": "full"}))
        result_json(await client.call_tool("update_cell", {"path": "bad.ipynb", "index": 0, "source": "x = 5"}))
        fixed = result_json(
            await client.call_tool(
                "write_notebook", {"path": "bad.ipynb", "content": {**bad, "cells": [bad["cells"][1]]}}
            )
        )
        after = result_json(await client.call_tool("inspect_notebook", {"path": "bad.ipynb", "mode": "validate"}))
    assert [c["preview"] for c in listed_cells(listed)] == ["5", "# Title"]
    assert report["validation"]["is_valid"] is False
    assert {e["cell_index"] for e in report["validation"]["errors"]} == {0}
    assert report["output_analysis"]["cells"][0]["output_types"] == ["weird"]
    assert fixed["cell_count"] == 1 and after["validation"]["is_valid"] is True


async def test_contents_manager_failures_are_named_without_the_servers_file_system_paths(
    mcp_client, refused, jp_root_dir
):
    (jp_root_dir / "folder.ipynb").mkdir()
    (jp_root_dir / "latin1.ipynb").write_bytes(
        b'{"cells": [], "metadata": {"t": "\xe9"}, "nbformat": 4, "nbformat_minor": 5}'
    )
    async with mcp_client() as client:
        await refused(
            client, "write_notebook", {"path": "folder.ipynb", "content": EMPTY_NB}, "'folder.ipynb' is a directory"
        )
        text = await refused(client, "read_cells", {"path": "latin1.ipynb"}, "latin1.ipynb", "UTF-8")
    assert str(jp_root_dir) not in text


async def test_argument_errors_are_short_and_name_the_argument_what_is_valid_and_what_was_given(
    mcp_client, refused, make_notebook
):
    make_notebook("n.ipynb", ["a", "b"])
    async with mcp_client() as client:
        text = await refused(client, "read_cells", {"path": "n.ipynb", "mode": "everything"}, "mode must be one of")
        assert "got 'everything'" in text and "pydantic" not in text and len(text) < 300
        for index in (True, "1", 1.0):
            text = await refused(
                client, "update_cell", {"path": "n.ipynb", "index": index, "source": "x"}, "index must be an integer"
            )
            assert f"got {index!r}" in text
        await refused(client, "update_cell", {"index": 0, "source": "x"}, "path is required")
        # source is optional (old_text/new_text can stand for it); without either the call says what it needs.
        await refused(client, "update_cell", {"path": "n.ipynb", "index": 0}, "update_cell needs source", "old_text")
        text = await refused(client, "read_cells", {"path": "n.ipynb", "include_preview": "yes"}, "include_preview")
        assert "true or false" in text


async def test_an_oversized_argument_is_cut_in_the_error_and_the_root_directory_is_never_shown(
    mcp_client, refused, jp_root_dir, outside
):
    async with mcp_client() as client:
        text = await refused(client, "read_cells", {"path": "x" * 100_000 + ".ipynb"}, "100,006 characters")
        assert len(text) < 1000
        text = await refused(client, "read_cells", {"path": str(outside / "target.ipynb")}, "outside the server root")
        assert str(jp_root_dir) not in text
    # A client's JSON may carry a lone surrogate ("\\udc80"), which no file name can hold.
    with pytest.raises(PathError, match="lone surrogate"):
        normalize_api_path("bad\udc80.ipynb", FileContentsManager(root_dir=str(jp_root_dir)))


@pytest.mark.parametrize("name", ["two\nlines.ipynb", "tab\there.ipynb", "esc\x1b[31m.ipynb", "invoice\u202eblm.ipynb"])
async def test_a_file_name_with_control_characters_or_bidi_overrides_is_refused_on_create_and_write(
    mcp_client, refused, name
):
    async with mcp_client() as client:
        await refused(client, "create_notebook", {"path": name}, "path", "file names may not hold")
        await refused(client, "write_notebook", {"path": name, "content": EMPTY_NB}, "file names may not hold")
        # add_cell creates a missing notebook, so it refuses such a name as create_notebook does.
        await refused(client, "add_cell", {"path": name, "cell_type": "code", "source": "x"}, "file names may not hold")


class FailingContentsManager(AsyncLargeFileManager):
    """A custom ContentsManager whose storage fails for one file (as a remote store can)."""

    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        if path.strip("/") == "offline.ipynb":
            raise ConnectionResetError("storage backend at 10.0.0.7 reset the connection")
        return await super().get(path, content=content, type=type, format=format, require_hash=require_hash)


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mcp_ext": True},
                "allow_root": True,
                "contents_manager_class": FailingContentsManager,
            }
        }
    ],
    indirect=True,
)
# This contents manager cannot load the notebook, so JupyterLab could not open it in a room either.
@pytest.mark.parametrize("notebook_backend", ["file"])
async def test_an_unexpected_exception_in_a_tool_says_what_failed_and_logs_the_traceback(
    mcp_client, make_notebook, caplog
):
    make_notebook("offline.ipynb", ["a"])
    async with mcp_client() as client:
        result = await client.call_tool("read_cells", {"path": "offline.ipynb"})
        still = await client.call_tool("list_notebook_files", {})
    text = error_text(result)
    assert "read_cells failed unexpectedly: ConnectionResetError: storage backend at 10.0.0.7 reset" in text
    assert "Traceback" not in text and not still.is_error
    assert any(r.exc_info and "read_cells" in r.getMessage() for r in caplog.records), "the traceback is logged"
