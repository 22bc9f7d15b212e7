"""Benchmark of list_notebook_files under many clients (issue 10): what one listing costs when 50 clients call at once.

Run: ``python bench/run.py concurrency`` (or ``python bench/bench_concurrency.py``; ``BENCH_CLIENTS`` and
``BENCH_CALLS`` change the number of clients and of calls per client). A real Jupyter server with the
extension, on a root of 200 entries: 150 notebooks in 10 folders and 50 other files.

Figures: ``list_notebook_files(recursive=True)`` from one client (idle: one call at a time), and from
``BENCH_CLIENTS`` clients calling at once, each with its own MCP session (median and p95 over every call).
The baseline under load is ``list_kernels`` (one of the cheapest tools: no file access), called by as many
clients at once in the same run: the ratio says what listing the files adds to what any tool call costs
on the same server at the same load. Writes ``bench/results/concurrency.json``.
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

from common import (
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

RESULTS = Path(__file__).resolve().parent / "results" / "concurrency.json"
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
CALLS = int(os.environ.get("BENCH_CALLS", "10"))
IDLE_CALLS = 50
MODE = "legacy"


def make_root(root: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# Notes")]
    for folder in range(10):
        d = root / f"project_{folder}"
        d.mkdir()
        for i in range(15):
            nbformat.write(nb, str(d / f"analysis_{i:02}.ipynb"))
        for i in range(5):
            (d / f"data_{i}.csv").write_text("a,b\n1,2\n")


async def idle(url: str, tool: str, arguments: dict[str, Any]) -> list[float]:
    async with mcp_client(url, MODE) as client:
        for _ in range(5):
            ok(await client.call_tool(tool, arguments))
        return [await timed(lambda: client.call_tool(tool, arguments)) for _ in range(IDLE_CALLS)]


async def loaded(url: str, tool: str, arguments: dict[str, Any]) -> list[float]:
    """Every call's milliseconds, ``CLIENTS`` sessions calling ``tool`` ``CALLS`` times each, all at once."""
    times: list[float] = []
    ready = asyncio.Event()
    opened = 0

    async def one() -> None:
        nonlocal opened
        async with mcp_client(url, MODE) as client:
            ok(await client.call_tool(tool, arguments))  # warm: the session is open and used
            opened += 1
            if opened == CLIENTS:
                ready.set()
            await ready.wait()
            for _ in range(CALLS):
                started = time.perf_counter()
                ok(await client.call_tool(tool, arguments))
                times.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one() for _ in range(CLIENTS)))
    return times


def figure(name: str, values: list[float], baseline: float, baseline_name: str, target: str = "reported") -> dict:
    median = statistics.median(values)
    return {
        "figure": name,
        "value": median,
        "p95": p95(values),
        "unit": "ms",
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": median / baseline if baseline else 0.0,
        "target": target,
        "pass": None,
        "calls": len(values),
    }


def main() -> int:
    tmp, root = make_tmp("bench-concurrency-")
    make_root(root)
    env = bench_env(tmp)
    info = machine_info(clients=CLIENTS, calls_per_client=CALLS, entries=200, notebooks=150)
    started = time.perf_counter()
    listing = ("list_notebook_files", {"recursive": True})
    floor = ("list_kernels", {})
    try:
        with serve(root, env, tmp / "jupyter.log") as (url, _):
            mcp = f"{url}mcp"
            idle_list = asyncio.run(idle(mcp, *listing))
            loaded_list = asyncio.run(loaded(mcp, *listing))
            loaded_floor = asyncio.run(loaded(mcp, *floor))
            idle_floor = asyncio.run(idle(mcp, *floor))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    idle_median = statistics.median(idle_list)
    floor_median = statistics.median(loaded_floor)
    figures = [
        figure("list_notebook_files, 1 client (idle)", idle_list, statistics.median(idle_floor), "list_kernels idle"),
        figure(f"list_notebook_files, {CLIENTS} clients at once", loaded_list, idle_median, "list_notebook_files idle"),
        figure(
            f"list_notebook_files, {CLIENTS} clients at once",
            loaded_list,
            floor_median,
            f"list_kernels, {CLIENTS} clients",
        ),
    ]
    print(
        f"jupyter-mcp-ext list_notebook_files(recursive=True) on 200 entries (150 notebooks), {MODE} MCP sessions; "
        f"{CLIENTS} clients x {CALLS} calls under load, {IDLE_CALLS} calls idle."
    )
    print_load(info)
    print_table(figures, baseline_names=True)
    write_results(RESULTS, {"info": info, "figures": figures}, indent=2)
    print(f"wrote {RESULTS.relative_to(Path(__file__).resolve().parent.parent)}")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
