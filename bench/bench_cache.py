"""Benchmark of the parsed-notebook cache's memory: the server's resident memory after reading many
notebooks of many small cells (where a parsed notebook takes about 8x its file size).

Run: ``python bench/run.py cache`` (or ``python bench/bench_cache.py``). Starts a real ``jupyter_server``
with the extension, reads ``BENCH_CACHE_NOTEBOOKS`` notebooks (default 8) of ``BENCH_CACHE_CELLS``
one-line cells each (default 100,000) with ``read_cells(mode="single")``, and reports the server's
VmRSS before and after (the baseline is the same server before the reads), beside the cache's bound
(``MCPExtensionApp.notebook_cache_max_bytes``, default 256 MiB) and the notebooks' file bytes. Writes
``bench/results/cache.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from common import (
    REPO,
    bench_env,
    exit_code,
    machine_info,
    make_tmp,
    mcp_client,
    ok,
    print_load,
    print_table,
    serve,
    write_results,
)

NOTEBOOKS = int(os.environ.get("BENCH_CACHE_NOTEBOOKS", "8"))
CELLS = int(os.environ.get("BENCH_CACHE_CELLS", "100000"))
BOUND_MIB = int(os.environ.get("BENCH_CACHE_BOUND_MIB", "256"))
RESULTS = REPO / "bench" / "results" / "cache.json"
MIB = 1024 * 1024


def write_notebook(path: Path, seed: int) -> int:
    cells = [
        {
            "cell_type": "code",
            "id": f"c{seed}-{i}",
            "metadata": {},
            "source": f"x_{i} = {i}",
            "outputs": [],
            "execution_count": None,
        }
        for i in range(CELLS)
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(nb, indent=1)
    path.write_text(text)
    return len(text.encode())


def vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


async def measure(url: str, pid: int, info: dict[str, Any]) -> list[dict[str, Any]]:
    async with mcp_client(url, "2026-07-28", timeout=600) as client:
        await client.list_tools()
        before = vm_kib(pid, "VmRSS")
        started = time.perf_counter()
        for i in range(NOTEBOOKS):
            ok(await client.call_tool("read_cells", {"path": f"small{i}.ipynb", "mode": "single", "index": 1}))
        info["reads_s"] = time.perf_counter() - started
        after, peak = vm_kib(pid, "VmRSS"), vm_kib(pid, "VmHWM")
    file_mib = info["file_bytes"] / MIB
    return [
        {
            "figure": f"server RSS after reading {NOTEBOOKS} notebooks of {CELLS:,} cells ({file_mib:.0f} MiB of files)",
            "value": after / 1024,
            "unit": "MiB",
            "baseline": before / 1024,
            "baseline_name": "the same server's RSS before the reads",
            "ratio": after / before,
            "target": f"growth reported beside the {BOUND_MIB} MiB bound",
            "pass": None,
            "growth_mib": (after - before) / 1024,
            "peak_mib": peak / 1024,
        }
    ]


def main() -> int:
    tmp, root = make_tmp("bench-cache-")
    env = bench_env(tmp)
    info = machine_info(notebooks=NOTEBOOKS, cells=CELLS, bound_mib=BOUND_MIB)
    info["file_bytes"] = sum(write_notebook(root / f"small{i}.ipynb", i) for i in range(NOTEBOOKS))
    bound = f"--MCPExtensionApp.notebook_cache_max_bytes={BOUND_MIB * MIB}"
    try:
        with serve(root, env, tmp / "jupyter.log", bound, deadline_s=300) as (url, jupyter):
            figures = asyncio.run(measure(f"{url}mcp", jupyter.pid, info))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()[0]
    print(f"jupyter-mcp-ext cache memory: {NOTEBOOKS} notebooks x {CELLS:,} cells, read in {info['reads_s']:.0f} s")
    print_load(info)
    print_table(figures)
    print(
        f"RSS growth {figures[0]['growth_mib']:.0f} MiB, peak {figures[0]['peak_mib']:.0f} MiB, bound {BOUND_MIB} MiB"
    )
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    return exit_code(figures)


if __name__ == "__main__":
    raise SystemExit(main())
