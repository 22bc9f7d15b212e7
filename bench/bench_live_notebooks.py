"""Benchmark of editing a notebook open in JupyterLab with real-time collaboration (the live document)
against the same edits of a notebook file nobody has open (issue: live notebooks, item 6).

Run: ``python bench/run.py live_notebooks`` (or ``python bench/bench_live_notebooks.py``). Prints a table
and writes ``bench/results/live_notebooks.json``.

A Jupyter server subprocess runs this extension with jupyter-collaboration (its defaults: autosave one
second after the last change). The 5,000-cell, 20 MB notebook of ``bench_notebooks`` is written twice:
``live.ipynb`` is opened by a JupyterLab-like Y client (``tests/live/yclient.py``: the session request,
the room's websocket, the Y sync protocol), ``file.ipynb`` is not open. Then, in alternating rounds so
that both see the same machine load:

- ``update_cell`` and ``add_cell`` on each, median and p95 (target: under 50 ms on the live document),
  each block of live calls started once the room's last autosave is done;
- for edits of the live document, the time until the open tab has the change, and until the file on
  disk has it (the room's autosave); for the file, the call itself writes it;

and last, the first read (``read_cells(mode="list")``) of a notebook open in a room, which converts
the whole document to nbformat (target: under 0.5 s on a quiet machine), against the first read of
the same notebook from its file (parsed by the ContentsManager): ``BENCH_LIVE_FIRST_N`` times, each
on copies of its own (a room, then a file), each room open and quiet for ``FIRST_READ_QUIET_S``
seconds before its read.

Environment: ``BENCH_LIVE_N`` (calls per figure, default 20), ``BENCH_BIG_CELLS`` (default 5000),
``BENCH_LIVE_DISK_N`` (edits timed until on disk, default 3), ``BENCH_LIVE_FIRST_N`` (first reads, default 3).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_notebooks import write_notebook
from common import (
    REPO,
    TOKEN,
    bench_env,
    exit_code,
    machine_info,
    make_tmp,
    mcp_client,
    ok,
    p95,
    print_load,
    print_table,
    serve,
    timed,
    write_results,
)

sys.path.insert(0, str(REPO))
from tests.live.yclient import open_in_lab  # noqa: E402  (the repository's JupyterLab-like Y client)

RESULTS = Path(__file__).resolve().parent / "results" / "live_notebooks.json"
N = int(os.environ.get("BENCH_LIVE_N", "20"))
CELLS = int(os.environ.get("BENCH_BIG_CELLS", "5000"))
DISK_N = int(os.environ.get("BENCH_LIVE_DISK_N", "3"))
FIRST_N = max(1, int(os.environ.get("BENCH_LIVE_FIRST_N", "3")))
ROUNDS = 4
TARGET_MS = 50.0
FIRST_READ_TARGET_MS = 500.0
#: Seconds a room is open (and the machine left to the server) before its first read is timed.
FIRST_READ_QUIET_S = 2.0
LIST = {"mode": "list", "include_preview": False}


def collaboration_argv(tmp: Path) -> list[str]:
    return [
        f"--SQLiteYStore.db_path={tmp / 'ystore.db'}",
        f"--BaseFileIdManager.db_path={tmp / 'fileid.db'}",
    ]


async def until(check: Any, timeout: float = 120.0, interval: float = 0.005) -> float:
    """Seconds until ``check()`` is true (polled); raises after ``timeout``."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"not within {timeout} s")
        await asyncio.sleep(interval)
    return time.perf_counter() - started


async def first_reads(server_url: str, client: Any, figures: list[dict[str, Any]], info: dict[str, Any]) -> None:
    """The first read of a notebook open in a room (``first_<k>.ipynb``), then of one open nowhere
    (``file_<k>.ipynb``), ``FIRST_N`` times: each converts or parses 20 MB once."""
    live: list[float] = []
    file: list[float] = []
    for k in range(FIRST_N):
        async with open_in_lab(server_url, TOKEN, f"first_{k}.ipynb", timeout=300):
            await asyncio.sleep(FIRST_READ_QUIET_S)
            live.append(await timed(lambda k=k: _call(client, "read_cells", {"path": f"first_{k}.ipynb", **LIST})))
        file.append(await timed(lambda k=k: _call(client, "read_cells", {"path": f"file_{k}.ipynb", **LIST})))
    info["first_live_read_ms"] = live
    info["first_file_read_ms"] = file
    value = statistics.median(live)
    figures.append(
        {
            "figure": f"first read_cells(mode='list') of the live document ({info['cells']} cells converted)",
            "value": value,
            "p95": max(live),
            "unit": "ms",
            "baseline": statistics.median(file),
            "baseline_p95": max(file),
            "baseline_name": "first read_cells(mode='list') of the file (parsed by the ContentsManager)",
            "ratio": value / statistics.median(file),
            "target": f"median < {FIRST_READ_TARGET_MS:.0f} ms (quiet machine)",
            "pass": value < FIRST_READ_TARGET_MS,
            "n": len(live),
        }
    )


async def measure(server_url: str, root: Path, figures: list[dict[str, Any]], info: dict[str, Any]) -> None:
    async with mcp_client(f"{server_url}mcp", "2026-07-28", timeout=300) as client:
        async with open_in_lab(server_url, TOKEN, "live.ipynb", timeout=300) as tab:
            await edits(client, tab, root, figures)
        await first_reads(server_url, client, figures, info)


async def edits(client: Any, tab: Any, root: Path, figures: list[dict[str, Any]]) -> None:
    """update_cell and add_cell on the live document and on the file, then an edit until in the tab and on disk."""
    count = len(tab.doc.ycells)
    ok(await client.call_tool("read_cells", {"path": "live.ipynb", **LIST}))
    ok(await client.call_tool("read_cells", {"path": "file.ipynb", **LIST}))
    counter = iter(range(10**9))
    times: dict[str, list[float]] = {k: [] for k in ("live update", "file update", "live add", "file add")}

    def update(path: str) -> Any:
        k = next(counter)
        arguments = {"path": path, "index": (k * 37) % count, "source": f"x = {k}\nprint(x)"}
        return lambda: _call(client, "update_cell", arguments)

    def add(path: str) -> Any:
        k = next(counter)
        arguments = {"path": path, "cell_type": "code", "source": f"y = {k}", "index": (k * 53) % count}
        return lambda: _call(client, "add_cell", arguments)

    per = max(1, N // ROUNDS)
    for round_ in range(ROUNDS):
        order = ("live", "file") if round_ % 2 == 0 else ("file", "live")
        for where in order:
            path = f"{where}.ipynb"
            if where == "live":
                # The room saves a second after the last change, and saving 20 MB holds the server's
                # event loop for seconds (jupyter_ydoc's conversion, then the ContentsManager's save):
                # start each block of live calls once that is done, as a person's pause would leave it.
                await _saved(root / "live.ipynb")
            if round_ == 0:
                await update(path)()  # warm-up
            for _ in range(per):
                times[f"{where} update"].append(await timed(update(path)))
                times[f"{where} add"].append(await timed(add(path)))

    # Until the open tab and the file have an edit of the live document.
    in_tab: list[float] = []
    on_disk: list[float] = []
    for k in range(DISK_N):
        await _saved(root / "live.ipynb")
        marker = f"marker_{k}_{time.time_ns()}"
        index = (k * 101) % count
        started = time.perf_counter()
        await _call(client, "update_cell", {"path": "live.ipynb", "index": index, "source": marker})
        await until(lambda i=index, m=marker: str(tab.doc.ycells[i]["source"]) == m)
        in_tab.append((time.perf_counter() - started) * 1000)
        await until(lambda m=marker: m.encode() in (root / "live.ipynb").read_bytes(), interval=0.02)
        on_disk.append((time.perf_counter() - started) * 1000)

    rows = (
        ("update_cell", "live update", "file update"),
        ("add_cell", "live add", "file add"),
    )
    for label, live, file in rows:
        value, base = statistics.median(times[live]), statistics.median(times[file])
        figures.append(
            {
                "figure": f"{label}, {count} cells, notebook open in JupyterLab (live document)",
                "value": value,
                "p95": p95(times[live]),
                "unit": "ms",
                "baseline": base,
                "baseline_p95": p95(times[file]),
                "baseline_name": f"{label} on a notebook file nobody has open (written by the call)",
                "ratio": value / base,
                "target": f"median, p95 < {TARGET_MS:.0f} ms",
                "pass": value < TARGET_MS and p95(times[live]) < TARGET_MS,
                "n": len(times[live]),
            }
        )
    file_update = statistics.median(times["file update"])
    for label, values in (("in the open tab (Y client)", in_tab), ("on disk (the room's autosave)", on_disk)):
        figures.append(
            {
                "figure": f"update_cell on the live document until the change is {label}",
                "value": statistics.median(values),
                "p95": max(values),
                "unit": "ms",
                "baseline": file_update,
                "baseline_name": "update_cell on the file (on disk when it returns)",
                "ratio": statistics.median(values) / file_update,
                "target": "reported",
                "pass": None,
                "n": len(values),
            }
        )


async def _call(client: Any, name: str, arguments: dict[str, Any]) -> Any:
    return ok(await client.call_tool(name, arguments))


async def _saved(path: Path, quiet_s: float = 3.0) -> None:
    """Wait until the file has not changed for ``quiet_s`` seconds (no autosave pending)."""
    last = os.stat(path).st_mtime_ns
    since = time.perf_counter()
    while time.perf_counter() - since < quiet_s:
        await asyncio.sleep(0.05)
        now = os.stat(path).st_mtime_ns
        if now != last:
            last, since = now, time.perf_counter()


def main() -> int:
    tmp, root = make_tmp("bench-live-")
    env = bench_env(tmp)
    figures: list[dict[str, Any]] = []
    info = machine_info(n=N)
    started = time.perf_counter()
    try:
        info["bytes"] = write_notebook(root / "live.ipynb", CELLS)
        info["cells"] = CELLS
        for name in ("file", *(f"{kind}_{k}" for k in range(FIRST_N) for kind in ("first", "file"))):
            shutil.copyfile(root / "live.ipynb", root / f"{name}.ipynb")
        extensions = ("jupyter_mcp_ext", "jupyter_server_ydoc", "jupyter_server_fileid")
        with serve(root, env, tmp / "jupyter.log", *collaboration_argv(tmp), extensions=extensions) as (server_url, _):
            asyncio.run(measure(server_url, root, figures, info))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    print(
        f"jupyter-mcp-ext live notebooks: {info['cells']} cells, {info['bytes'] / 1e6:.1f} MB, {N} calls per "
        f"figure; first reads of the live document {', '.join(f'{t:.0f}' for t in info['first_live_read_ms'])} ms"
    )
    print_load(info)
    print_table(figures)
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    print(f"wrote {RESULTS.relative_to(REPO)} in {info['elapsed_s']:.0f} s")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
