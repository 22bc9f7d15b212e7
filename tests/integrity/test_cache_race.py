"""Many clients on many notebooks with a small parse cache: a notebook's cache entry may be dropped
by another notebook's read while the first read awaits the file's fingerprint. No call may fail for it."""

from __future__ import annotations

import asyncio

import pytest

from ..conftest import result_json

#: Clients, each on a notebook of its own, editing it and reading it back at once.
CLIENTS = 10
ROUNDS = 8
READS = 3
#: Filler that makes hashing a notebook take a moment (about 200 KB a notebook).
FILLER = ["y = '" + "x" * 4000 + "'"] * 50


@pytest.mark.parametrize(
    # About three of the ten notebooks fit: each read that finds its notebook cached may see it dropped
    # by the others while it hashes the file.
    "jp_server_config",
    [{"MCPExtensionApp": {"notebook_cache_max_bytes": 700_000}}],
    indirect=True,
    ids=["cache-of-three"],
)
async def test_reads_and_edits_of_many_notebooks_with_a_small_cache_never_fail(mcp_client, make_notebook):
    paths = [make_notebook(f"load/c{i}.ipynb", ["n = 0", *FILLER]) for i in range(CLIENTS)]
    failures: list[str] = []

    async def agent(path: str) -> None:
        async with mcp_client() as client:
            for n in range(1, ROUNDS + 1):
                edit = await client.call_tool("update_cell", {"path": path, "index": 0, "source": f"n = {n}"})
                if edit.is_error:
                    failures.append(f"update_cell on {path}: {edit.content[0].text[:200]}")
                for _ in range(READS):
                    read = await client.call_tool("read_cells", {"path": path, "mode": "single", "index": 0})
                    if read.is_error:
                        failures.append(f"read_cells on {path}: {read.content[0].text[:200]}")
                    elif result_json(read)["cell"]["source"] != f"n = {n}":
                        failures.append(f"read_cells on {path} after edit {n}: {result_json(read)['cell']['source']!r}")

    await asyncio.gather(*(agent(p) for p in paths))
    calls = CLIENTS * ROUNDS * (1 + READS)
    assert not failures, f"{len(failures)} of {calls} calls failed: {failures[:3]}"
