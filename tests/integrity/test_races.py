"""Racing writers on one notebook: MCP reads beside MCP edits, JupyterLab-style REST saves beside MCP
edits, and changes made on disk behind the server's back. The notebook must always be a valid notebook
holding every edit that was reported successful."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..conftest import listed_cells, poll, result_json
from .conftest import STRESS_SECONDS

#: Filler cells that make each save of the notebook take long enough to be caught half-way.
FILLER = [f"# filler {i}\n" + "y = '" + "x" * 4000 + "'" for i in range(150)]

SYNC_CM = {
    "ServerApp": {"contents_manager_class": "jupyter_server.services.contents.largefilemanager.LargeFileManager"}
}
NON_ATOMIC = {"FileContentsManager": {"use_atomic_writing": False}}


def marker(source: str, name: str) -> int:
    """The N of a cell whose source is ``"<name> = N"``."""
    key, _, value = source.partition(" = ")
    assert key == name, f"cell holds {source[:80]!r}, not a {name} marker"
    return int(value)


def leftovers(root: Path) -> list[str]:
    """Files a failed write or a recovery leaves behind (``.invalid``, ``.~`` backups)."""
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".invalid") or p.name.startswith(".~"))


#: Operations each racing client makes at least in a trial, however busy the machine (within CAP_SECONDS).
MIN_OPERATIONS = 5
CAP_SECONDS = 60.0


class Race:
    """When a trial's racers stop: after its seconds, once each made MIN_OPERATIONS (a busy machine
    makes them slow), and never later than CAP_SECONDS after that."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.counts: dict[str, int] = {}

    def going(self, racer: str, problems: list[str]) -> bool:
        if problems:
            return False
        now = time.monotonic()
        if now > self.deadline + CAP_SECONDS:
            return False
        self.counts[racer] = self.counts.get(racer, -1) + 1
        behind = any(n < MIN_OPERATIONS for n in self.counts.values()) or len(self.counts) < 2
        return now < self.deadline or behind


def trials() -> list[float]:
    """Trial lengths adding up to the stress budget (at least 1 s each)."""
    count = max(1, min(5, int(STRESS_SECONDS)))
    return [STRESS_SECONDS / count] * count


async def read_write_trial(mcp_client: Any, make_notebook: Any, root: Path, path: str, seconds: float) -> list[str]:
    """One trial: a client loops update_cell(0) while another loops read_cells(mode="list")."""
    make_notebook(path, ["v = 0", *FILLER])
    reported: list[int] = []
    problems: list[str] = []
    race = Race(seconds)
    async with mcp_client() as writer, mcp_client() as reader:

        async def write_loop() -> None:
            n = 0
            while race.going("writer", problems):
                n += 1
                result = await writer.call_tool("update_cell", {"path": path, "index": 0, "source": f"v = {n}"})
                if result.is_error:
                    problems.append(f"update_cell {n} failed: {result.content[0].text[:200]}")
                    return
                reported.append(n)

        async def read_loop() -> None:
            while race.going("reader", problems):
                floor = reported[-1] if reported else 0
                result = await reader.call_tool("read_cells", {"path": path, "mode": "list"})
                if result.is_error:
                    problems.append(f"read_cells failed: {result.content[0].text[:200]}")
                    return
                seen = marker(listed_cells(result_json(result))[0]["preview"], "v")
                if seen < floor:
                    problems.append(f"read_cells saw v = {seen} after update_cell reported v = {floor}")

        await asyncio.gather(write_loop(), read_loop())
    if not (root / path).exists():
        problems.append(f"{path} is gone")
    else:
        nb = nbformat.read(str(root / path), as_version=4)
        nbformat.validate(nb)
        if reported and marker(nb.cells[0].source, "v") != reported[-1]:
            problems.append(f"the file holds {nb.cells[0].source!r}, the last reported edit was v = {reported[-1]}")
    if leftovers(root):
        problems.append(f"left on disk: {leftovers(root)}")
    if not problems:
        assert len(reported) >= MIN_OPERATIONS, f"the writer got only {len(reported)} edits through"
    return problems


@pytest.mark.stress
async def test_mcp_reads_during_mcp_edits_never_lose_the_notebook_or_a_reported_edit(
    mcp_client, make_notebook, jp_root_dir
):
    failed = []
    for trial, seconds in enumerate(trials()):
        problems = await read_write_trial(mcp_client, make_notebook, jp_root_dir, f"race{trial}.ipynb", seconds)
        if problems:
            failed.append(f"trial {trial}: {problems[0]}")
    assert not failed, f"{len(failed)} of {len(trials())} trials failed: {failed}"


@pytest.mark.stress
@pytest.mark.parametrize(
    "jp_server_config",
    [{}, NON_ATOMIC, SYNC_CM],
    indirect=True,
    ids=["async-contents-manager", "use_atomic_writing-false", "sync-contents-manager"],
)
async def test_lab_style_rest_saves_beside_mcp_edits_keep_the_file_valid_and_every_save_and_edit(
    mcp_client, contents_api, make_notebook, jp_root_dir
):
    """A client doing what JupyterLab does on save (GET the notebook, change a cell, PUT it whole) races
    an MCP client editing another cell. Every GET must parse; no MCP edit may revert a Lab save (the
    edit read the file before the save and wrote after it); and every MCP edit made between the Lab
    client's previous PUT and its next GET must be in what that GET reads (the Lab client's own PUT
    may overwrite edits made while it held a stale copy: JupyterLab asks its user about those)."""
    failed = []
    for trial, seconds in enumerate(trials()):
        problems = await lab_save_trial(
            mcp_client, contents_api, make_notebook, jp_root_dir, f"lab{trial}.ipynb", seconds
        )
        if problems:
            failed.append(f"trial {trial}: {problems[0]}")
    assert not failed, f"{len(failed)} of {len(trials())} trials failed: {failed}"


async def lab_save_trial(
    mcp_client: Any, contents_api: Any, make_notebook: Any, root: Path, path: str, seconds: float
) -> list[str]:
    """One trial of the test above."""
    make_notebook(path, ["mcp = 0", "lab = 0", *FILLER])
    reported: list[tuple[int, float, float]] = []  # (marker, started, ended)
    problems: list[str] = []
    race = Race(seconds)
    last_lab = {"marker": 0, "put_end": 0.0}
    async with mcp_client() as client, contents_api() as rest:

        async def mcp_loop() -> None:
            n = 0
            while race.going("mcp", problems):
                n += 1
                started = time.monotonic()
                result = await client.call_tool("update_cell", {"path": path, "index": 0, "source": f"mcp = {n}"})
                if result.is_error:
                    problems.append(f"update_cell {n} failed: {result.content[0].text[:200]}")
                    return
                reported.append((n, started, time.monotonic()))

        async def lab_loop() -> None:
            k = 0
            put_end = 0.0
            while race.going("lab", problems):
                get_started = time.monotonic()
                # Edits written after the last PUT and reported before this GET: this GET must see them.
                floor = max((m for m, start, end in reported if start > put_end and end < get_started), default=0)
                response = await rest.get(f"api/contents/{path}", params={"content": "1", "type": "notebook"})
                if response.status_code != 200:
                    problems.append(f"GET {k} answered {response.status_code}: {response.text[:200]}")
                    return
                model = response.json()
                cells = model["content"]["cells"]
                if marker(cells[1]["source"], "lab") != k:
                    problems.append(f"Lab save lab = {k} was reverted: the file holds {cells[1]['source']!r}")
                    return
                if marker(cells[0]["source"], "mcp") < floor:
                    problems.append(f"reported MCP edit mcp = {floor} is missing: {cells[0]['source']!r}")
                    return
                k += 1
                cells[1]["source"] = f"lab = {k}"
                body = {"type": "notebook", "format": "json", "content": model["content"]}
                response = await rest.put(f"api/contents/{path}", content=json.dumps(body))
                if response.status_code not in (200, 201):
                    problems.append(f"PUT {k} answered {response.status_code}: {response.text[:200]}")
                    return
                put_end = time.monotonic()
                last_lab.update(marker=k, put_end=put_end)

        await asyncio.gather(mcp_loop(), lab_loop())
    if not problems:
        nb = nbformat.read(str(root / path), as_version=4)
        nbformat.validate(nb)
        if marker(nb.cells[1].source, "lab") != last_lab["marker"]:
            problems.append(f"the last Lab save lab = {last_lab['marker']} is not in the file")
        after_lab = [m for m, started, _ in reported if started > last_lab["put_end"]]
        if after_lab and marker(nb.cells[0].source, "mcp") != after_lab[-1]:
            problems.append(f"the last MCP edit mcp = {after_lab[-1]} is not in the file: {nb.cells[0].source!r}")
    if leftovers(root):
        problems.append(f"left on disk: {leftovers(root)}")
    if not problems:
        assert len(reported) >= 3 and last_lab["marker"] >= 3, (
            f"{len(reported)} MCP edits, {last_lab['marker']} Lab saves"
        )
    return problems


def replace_keeping_size_and_mtime(path: Path, nb: Any) -> None:
    """Write new content of the same length and give the file its old mtime back, as ``cp -p`` or
    ``rsync -t`` of another version does."""
    before = path.stat()
    text = nbformat.writes(nb) + "\n"
    assert len(text.encode()) == before.st_size, "the test needs content of the same size"
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


async def test_a_same_size_same_mtime_change_on_disk_is_read_and_never_written_back_over(
    mcp_client, make_notebook, jp_root_dir
):
    make_notebook("synced.ipynb", ["a = 1", "b = 2"])
    target = jp_root_dir / "synced.ipynb"
    async with mcp_client() as client:
        first = result_json(await client.call_tool("read_cells", {"path": "synced.ipynb", "mode": "all"}))
        assert [c["source"] for c in first["cells"]] == ["a = 1", "b = 2"]
        nb = nbformat.read(str(target), as_version=4)
        nb.cells[0].source = "a = 9"
        replace_keeping_size_and_mtime(target, nb)

        seen = result_json(await client.call_tool("read_cells", {"path": "synced.ipynb", "mode": "all"}))
        assert [c["source"] for c in seen["cells"]] == ["a = 9", "b = 2"]

        nb.cells[0].source = "a = 7"
        replace_keeping_size_and_mtime(target, nb)
        result_json(await client.call_tool("update_cell", {"path": "synced.ipynb", "index": 1, "source": "b = 3"}))

    on_disk = nbformat.read(str(target), as_version=4)
    assert [c.source for c in on_disk.cells] == ["a = 7", "b = 3"]


async def test_a_same_size_same_mtime_change_to_a_long_settled_notebook_is_seen(mcp_client, make_notebook, jp_root_dir):
    """Past a few seconds without a change, reads trust the file's stat (its ctime included) instead of
    hashing it again: a ``cp -p`` of new content still changes the ctime, and is seen."""
    from jupyter_mcp_ext.notebooks.store import SETTLE_NS

    make_notebook("settled.ipynb", ["a = 1", "b = 2"])
    target = jp_root_dir / "settled.ipynb"
    settled_at = target.stat().st_ctime_ns + SETTLE_NS + 100_000_000

    async def settled() -> bool:
        return time.time_ns() > settled_at

    await poll(settled, SETTLE_NS / 1e9 + 5, "the notebook's last change to settle")
    async with mcp_client() as client:
        for _ in range(2):  # the first read hashes the file and trusts its stat from then on
            first = result_json(await client.call_tool("read_cells", {"path": "settled.ipynb", "mode": "all"}))
            assert [c["source"] for c in first["cells"]] == ["a = 1", "b = 2"]
        nb = nbformat.read(str(target), as_version=4)
        nb.cells[0].source = "a = 9"
        replace_keeping_size_and_mtime(target, nb)
        seen = result_json(await client.call_tool("read_cells", {"path": "settled.ipynb", "mode": "all"}))
    assert [c["source"] for c in seen["cells"]] == ["a = 9", "b = 2"]
