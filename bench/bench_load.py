"""An operator's load trial: many MCP clients on many notebooks and a few kernels at once, for a while.

Run: ``python bench/run.py load`` (or ``python bench/bench_load.py``). A real Jupyter server with the extension;
``BENCH_LOAD_CLIENTS`` clients (default 50), each with its own MCP session and notebook (more notebooks than the
parse cache holds: 32), sharing ``BENCH_LOAD_KERNELS`` kernels (default 3), call for ``BENCH_LOAD_SECONDS`` seconds
(default 60; the trial that found the parse cache's race ran 180). Each client loops over what an agent does:
``read_cells`` (list and single), ``update_cell``, ``add_cell`` then ``remove_cell``, ``execute_on_kernel`` on one of
the kernels, and now and then ``list_notebook_files``.

Figures: calls that failed (target 0; each failure's first line is printed), calls per second, and the median and
p95 of each tool's round trip, against ``list_kernels`` timed in the same run (the cheapest call: what any call costs
at this load). Writes ``bench/results/load.json``.
"""

from __future__ import annotations

import asyncio
import os
import random
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
    write_results,
)

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
KERNELS = int(os.environ.get("BENCH_LOAD_KERNELS", "3"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))


def write_notebooks(root: Path) -> list[str]:
    import nbformat

    paths = []
    for i in range(CLIENTS):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Notebook {i}")]
        nb.cells += [nbformat.v4.new_code_cell(f"x_{j} = {j} * {i}\nprint(x_{j})") for j in range(20)]
        path = f"load/c{i}.ipynb"
        (root / "load").mkdir(exist_ok=True)
        nbformat.write(nb, str(root / path))
        paths.append(path)
    return paths


async def agent(
    url: str, path: str, kernels: list[str], deadline: float, times: dict[str, list[float]], failures: list[str]
) -> int:
    rng = random.Random(path)
    calls = 0
    async with mcp_client(url, "legacy" if rng.random() < 0.5 else "2026-07-28") as client:

        async def call(tool: str, arguments: dict[str, Any]) -> Any:
            nonlocal calls
            started = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            times.setdefault(tool, []).append((time.perf_counter() - started) * 1000)
            calls += 1
            if result.is_error:
                failures.append(f"{tool} on {path}: {result.content[0].text.splitlines()[0][:300]}")
            return result

        n = 0
        while time.monotonic() < deadline:
            n += 1
            await call("read_cells", {"path": path, "mode": "list"})
            await call("update_cell", {"path": path, "index": 1 + n % 20, "source": f"x = {n}\nprint(x)"})
            await call("read_cells", {"path": path, "mode": "single", "index": 1 + n % 20})
            added = await call("add_cell", {"path": path, "cell_type": "code", "source": f"y = {n}"})
            if not added.is_error:
                await call("remove_cell", {"path": path, "cell_id": ok(added).structured_content["cell_id"]})
            kernel = kernels[n % len(kernels)]
            await call("execute_on_kernel", {"kernel_id": kernel, "mode": "code", "code": f"{n} + 1"})
            await call("list_kernels", {})
            if n % 10 == 0:
                await call("list_notebook_files", {"directory": "load"})
    return calls


async def measure(url: str, paths: list[str], figures: list[dict[str, Any]], info: dict[str, Any]) -> None:
    async with mcp_client(url, "legacy") as admin:
        kernels = [
            ok(await admin.call_tool("start_kernel", {})).structured_content["kernel_id"] for _ in range(KERNELS)
        ]
        times: dict[str, list[float]] = {}
        failures: list[str] = []
        started = time.monotonic()
        deadline = started + SECONDS
        counts = await asyncio.gather(*(agent(url, p, kernels, deadline, times, failures) for p in paths))
        elapsed = time.monotonic() - started
        for kernel in kernels:
            await admin.call_tool("stop_kernel", {"kernel_id": kernel})
    total = sum(counts)
    info.update(calls=total, seconds=round(elapsed, 1), failures=failures[:20])
    for failure in failures[:10]:
        print(f"FAILED: {failure}")
    figures.append(
        {
            "figure": f"calls that failed, {CLIENTS} clients on {len(paths)} notebooks and {KERNELS} kernels",
            "value": len(failures),
            "unit": "calls",
            "baseline": total,
            "baseline_name": "calls made",
            "ratio": len(failures) / max(1, total),
            "target": "0",
            "pass": not failures,
        }
    )
    floor = statistics.median(times["list_kernels"])
    for tool, values in sorted(times.items()):
        figures.append(
            {
                "figure": f"{tool} under load",
                "value": statistics.median(values),
                "p95": p95(values),
                "unit": "ms",
                "baseline": floor,
                "baseline_name": "list_kernels under the same load",
                "ratio": statistics.median(values) / floor,
                "target": "reported",
                "pass": None,
                "n": len(values),
            }
        )
    info["calls_per_second"] = round(total / elapsed, 1)


def main() -> int:
    tmp, root = make_tmp("bench-load-")
    figures: list[dict[str, Any]] = []
    info = machine_info(clients=CLIENTS, kernels=KERNELS, seconds=SECONDS)
    try:
        paths = write_notebooks(root)
        with serve(root, bench_env(tmp), tmp / "jupyter.log", "--MCPExtensionApp.max_kernels=0") as (url, _):
            asyncio.run(measure(f"{url}mcp", paths, figures, info))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()[0]
    print(
        f"jupyter-mcp-ext load: {CLIENTS} clients, {KERNELS} kernels, {info['seconds']} s, {info['calls']} calls, "
        f"{info['calls_per_second']} calls/s"
    )
    print_load(info)
    print_table(figures)
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
