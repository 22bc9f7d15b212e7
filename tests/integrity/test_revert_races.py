"""Reverts of agent changes racing the agent's next edits and JupyterLab-style saves: the notebook always
parses, a Lab save is never undone by a revert, and the file ends holding what the last reported edit or
revert left."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import STRESS_SECONDS
from .test_races import FILLER, Race, leftovers, marker


@pytest.mark.stress
async def test_reverts_beside_mcp_edits_and_lab_saves_keep_the_notebook_valid_and_every_reported_state(
    mcp_client, contents_api, make_notebook, jp_root_dir
):
    path = make_notebook("revert-race.ipynb", ["agent = 0", "lab = 0", *FILLER])
    problems = await revert_trial(mcp_client, contents_api, jp_root_dir, path, STRESS_SECONDS)
    assert not problems, problems[:3]


async def revert_trial(mcp_client: Any, contents_api: Any, root: Path, path: str, seconds: float) -> list[str]:
    problems: list[str] = []
    race = Race(seconds)
    # (value cell 0 holds after the operation, started, ended) for every reported edit and revert
    states: list[tuple[int, float, float]] = []
    reverts = {"ok": 0, "conflict": 0}
    last_lab = {"marker": 0, "put_end": 0.0}
    async with mcp_client() as client, contents_api() as rest:

        async def agent() -> None:
            n = 0
            while race.going("agent", problems):
                n += 1
                started = time.monotonic()
                result = await client.call_tool("update_cell", {"path": path, "index": 0, "source": f"agent = {n}"})
                if result.is_error:
                    problems.append(f"update_cell {n} failed: {result.content[0].text[:200]}")
                    return
                states.append((n, started, time.monotonic()))
                if n % 5 == 0:
                    # An agent pauses between bursts of edits (to read, to think): a revert of its newest edit
                    # can only go through in such a pause, since its next edit of the cell is a conflict.
                    await asyncio.sleep(0.3)

        async def reverter() -> None:
            while race.going("reverter", problems):
                listed = await rest.get("jupyter-mcp-ext/changes", params={"path": path})
                pending = [c for c in listed.json()["changes"] if c["tool"] == "update_cell" and not c["reverted"]]
                if not pending:
                    await asyncio.sleep(0.01)
                    continue
                change = pending[0]
                detail = (await rest.get(f"jupyter-mcp-ext/changes/{change['id']}")).json()
                was = marker(detail["before"][0]["cell"]["source"], "agent")
                started = time.monotonic()
                response = await rest.post(f"jupyter-mcp-ext/changes/{change['id']}/revert", json={})
                if response.status_code == 200:
                    reverts["ok"] += 1
                    states.append((was, started, time.monotonic()))
                elif response.status_code == 409:
                    reverts["conflict"] += 1
                else:
                    problems.append(f"revert answered {response.status_code}: {response.text[:200]}")
                    return

        async def lab() -> None:
            k = 0
            while race.going("lab", problems):
                response = await rest.get(f"api/contents/{path}", params={"content": "1", "type": "notebook"})
                if response.status_code != 200:
                    problems.append(f"GET answered {response.status_code}: {response.text[:200]}")
                    return
                model = response.json()
                cells = model["content"]["cells"]
                if marker(cells[1]["source"], "lab") != k:
                    problems.append(f"Lab save lab = {k} was undone: the file holds {cells[1]['source']!r}")
                    return
                k += 1
                cells[1]["source"] = f"lab = {k}"
                body = {"type": "notebook", "format": "json", "content": model["content"]}
                response = await rest.put(f"api/contents/{path}", content=json.dumps(body))
                if response.status_code not in (200, 201):
                    problems.append(f"PUT {k} answered {response.status_code}: {response.text[:200]}")
                    return
                last_lab.update(marker=k, put_end=time.monotonic())
                await asyncio.sleep(0.05)

        await asyncio.gather(agent(), reverter(), lab())
    if problems:
        return problems
    nb = nbformat.read(str(root / path), as_version=4)
    nbformat.validate(nb)
    if marker(nb.cells[1].source, "lab") != last_lab["marker"]:
        problems.append(f"the last Lab save lab = {last_lab['marker']} is not in the file")
    # Edits and reverts take turns under the notebook's write lock: the last one to finish, if it began after
    # the last Lab save (which may overwrite with what it read earlier), is what the file holds.
    # (An operation whose answer came last may have taken the lock before one that overlapped it.)
    after_lab = sorted((s for s in states if s[1] > last_lab["put_end"]), key=lambda s: s[2])
    if after_lab:
        last_started = after_lab[-1][1]
        candidates = {value for value, _, ended in after_lab if ended >= last_started}
        if marker(nb.cells[0].source, "agent") not in candidates:
            problems.append(
                f"the file holds {nb.cells[0].source!r}, the last reported states were {sorted(candidates)}"
            )
    if leftovers(root):
        problems.append(f"left on disk: {leftovers(root)}")
    if not problems:
        assert reverts["ok"] >= 3, f"only {reverts} reverts went through"
    return problems
