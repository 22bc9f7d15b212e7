"""Benchmark of the notebook tools through Jupyter Server, against the SDK's own hosting (issue 2, item 9).

Run: ``python bench/run.py notebooks`` (or ``python bench/bench_notebooks.py``). Prints a table
(figure, value, baseline, ratio, target, pass/fail) and writes ``bench/results/notebooks.json``.

1. Round trip of ``tools/list``, ``read_cells(mode="list")`` on a 50-cell notebook and ``list_kernels``
   (the cheap call: hosting cost, mostly) through a real ``jupyter_server`` subprocess with the
   extension, against the same MCP server (the extension's own ``MCPServer``, built by the same code
   on the same kind of ContentsManager, and on a real MappingKernelManager and KernelSpecManager of
   the ServerApp it initializes, with no kernel running in either) served by the SDK's
   ``streamable_http_app()`` under uvicorn in another subprocess. Both client modes (legacy handshake
   and stateless 2026-07-28), one persistent client session each, median of N after a warm-up,
   Jupyter and baseline calls alternating one by one so that machine load hits both alike. Then the
   same for plain HTTP, without MCP: Jupyter's ``GET /api/status`` against a trivial JSON route added
   to the baseline's Starlette app (what each host costs any request).
2. ``read_cells(mode="list")``, ``read_cells(mode="single")`` and ``update_cell`` on a 5,000-cell
   notebook of about 20 MB through the Jupyter server: median and p95 in milliseconds, against
   Jupyter's own REST API doing what JupyterLab does with the same file (``GET /api/contents`` to
   open it, ``PUT /api/contents`` to save it), and the server process's peak memory (VmHWM).

Environment: ``BENCH_N`` (round trips per figure of part 1, default 200), ``BENCH_BIG_N`` (calls per
figure of part 2, default 20), ``BENCH_BIG_CELLS`` (default 5000), ``BENCH_PROFILE=1`` (write a
cProfile of the Jupyter server process to bench/results/notebooks_server.prof).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from common import (
    HOST,
    REPO,
    TOKEN,
    bench_env,
    exit_code,
    free_port,
    interleaved,
    machine_info,
    make_tmp,
    mcp_client,
    ok,
    p95,
    print_load,
    print_table,
    serve,
    server_argv,
    spawn,
    stop,
    timed,
    wait_http,
    write_results,
)

RESULTS = Path(__file__).resolve().parent / "results" / "notebooks.json"

N = int(os.environ.get("BENCH_N", "200"))
WARMUP = 20
BIG_N = int(os.environ.get("BENCH_BIG_N", "20"))
ROUNDS = 4
BIG_CELLS = int(os.environ.get("BENCH_BIG_CELLS", "5000"))
RATIO_TARGET = 1.3
#: Issue 16: the hosting cost of the cheap call.
LIST_KERNELS_TARGET = 1.15
NB50_LIST = {"path": "nb50.ipynb", "mode": "list"}
#: Part 1's calls: (key, label). list_kernels is the cheap call (no notebook, no kernel running):
#: its round trip is mostly hosting cost.
PART1_FIGURES = (
    ("tools/list", "tools/list"),
    ("read_cells", 'read_cells(mode="list"), 50 cells'),
    ("list_kernels", "list_kernels"),
)
BIG_TARGET_MS = 300.0


# -- notebooks ------------------------------------------------------------------------------


def realistic_cell(i: int, rng: random.Random) -> Any:
    """A code cell of about 4 KB on disk: ~1.5 KB of pandas-style source, a stream output and a result."""
    import nbformat

    var = f"df_{i}"
    cols = ", ".join(f"'col_{rng.randint(0, 99)}'" for _ in range(6))
    lines = [
        f"# Step {i}: load, clean and summarise the batch of measurements",
        "import numpy as np",
        "import pandas as pd",
        f"{var} = pd.read_csv('data/batch_{i:05d}.csv', parse_dates=['timestamp'])",
        f"{var} = {var}.dropna(subset=[{cols}])",
        f"{var}['value_z'] = ({var}['value'] - {var}['value'].mean()) / {var}['value'].std()",
        f"{var} = {var}[{var}['value_z'].abs() < {rng.uniform(2, 4):.2f}]",
        f"summary_{i} = {var}.groupby('sensor').agg(mean=('value', 'mean'), n=('value', 'size'))",
    ]
    for k in range(20):
        lines.append(
            f"threshold_{k} = {rng.uniform(0, 100):.6f}  # calibrated on run {rng.randint(1000, 9999)} "
            f"for sensor group {k}"
        )
    lines.append(f"print(summary_{i}.head(20))")
    lines.append(f"summary_{i}.describe()")
    source = "\n".join(lines)
    table = "\n".join(f"sensor_{r:03d}  {rng.uniform(0, 1000):10.4f}  {rng.randint(10, 5000):6d}" for r in range(24))
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="             mean       n\nsensor\n" + table + "\n"),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/plain": "\n".join(
                    f"{stat:6s} {rng.uniform(0, 1000):12.6f} {rng.uniform(0, 5000):12.3f}"
                    for stat in ("count", "mean", "std", "min", "25%", "50%", "75%", "max") * 2
                )
            },
            execution_count=i + 1,
        ),
    ]
    cell = nbformat.v4.new_code_cell(source=source, outputs=outputs, execution_count=i + 1)
    cell.metadata["tags"] = ["analysis"] if i % 7 else ["analysis", "checkpoint"]
    return cell


def write_notebook(path: Path, cells: int, seed: int = 2) -> int:
    """Write a valid nbformat 4.5 notebook of ``cells`` realistic cells; return its size in bytes."""
    import nbformat

    rng = random.Random(seed)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i in range(cells):
        if i % 10 == 0:
            nb.cells.append(nbformat.v4.new_markdown_cell(f"## Section {i // 10}\n\nNotes on batch {i}."))
        else:
            nb.cells.append(realistic_cell(i, rng))
    nbformat.write(nb, str(path))
    return path.stat().st_size


# -- processes ------------------------------------------------------------------------------


def vm_kib(pid: int, field: str) -> int | None:
    """A memory figure of a process from ``/proc/<pid>/status``, in KiB: ``VmHWM`` is its peak
    resident set size, ``VmRSS`` its current one."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def serve_baseline(port: int, root: str) -> None:
    """The baseline host (run in a subprocess): the extension's own MCPServer, served by the SDK's
    ``streamable_http_app()`` under uvicorn instead of by Jupyter Server's tornado.

    A ServerApp is initialized without an HTTP server only to build the extension exactly as
    Jupyter builds it (same tools, same services, same ContentsManager class and config).
    """
    import uvicorn
    from jupyter_server.serverapp import ServerApp
    from starlette.routing import Route

    app = ServerApp()
    app.initialize(argv=server_argv(port, Path(root)), new_httpserver=False)
    ext = next(a for apps in app.extension_manager.extension_apps.values() for a in apps if a.name == "jupyter_mcp_ext")
    starlette_app = ext.mcp.streamable_http_app()  # the SDK's defaults, as a standalone SDK server runs
    starlette_app.router.routes.append(Route("/api/status", plain_status))
    config = uvicorn.Config(starlette_app, host=HOST, port=port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()


async def plain_status(request: Any) -> Any:
    """The baseline's ``GET /api/status``: a JSON answer like Jupyter's, without authentication."""
    from starlette.responses import JSONResponse

    return JSONResponse({"connections": 0, "kernels": 0, "last_activity": "", "started": ""})


# -- measuring ------------------------------------------------------------------------------


def mcp_session(url: str, mode: str, token: bool = True) -> AbstractAsyncContextManager[Any]:
    # cache=None: every tools/list must reach the server (the client caches listings by default).
    return mcp_client(url, mode, token=token, timeout=120, cache=None)


async def part1(jupyter_mcp: str, baseline_mcp: str, figures: list[dict[str, Any]], info: dict[str, Any]) -> None:
    for mode in ("legacy", "2026-07-28"):
        async with mcp_session(jupyter_mcp, mode) as jc, mcp_session(baseline_mcp, mode, token=False) as bc:
            jtools = {t.name for t in (await jc.list_tools()).tools}
            btools = {t.name for t in (await bc.list_tools()).tools}
            if jtools != btools:
                raise RuntimeError(f"the two hosts serve different tools: {sorted(jtools ^ btools)}")
            info["tool_count"] = len(jtools)
            times = await interleaved(
                {
                    "jupyter tools/list": lambda: jc.list_tools(),
                    "baseline tools/list": lambda: bc.list_tools(),
                    "jupyter read_cells": lambda: _call(jc, "read_cells", NB50_LIST),
                    "baseline read_cells": lambda: _call(bc, "read_cells", NB50_LIST),
                    "jupyter list_kernels": lambda: _call(jc, "list_kernels", {}),
                    "baseline list_kernels": lambda: _call(bc, "list_kernels", {}),
                },
                N,
                WARMUP,
            )
            for what, label in PART1_FIGURES:
                j = statistics.median(times[f"jupyter {what}"])
                b = statistics.median(times[f"baseline {what}"])
                target = LIST_KERNELS_TARGET if what == "list_kernels" else RATIO_TARGET
                figures.append(
                    {
                        "figure": f"{label} round trip [{mode}]",
                        "value": j,
                        "p95": p95(times[f"jupyter {what}"]),
                        "unit": "ms",
                        "baseline": b,
                        "baseline_p95": p95(times[f"baseline {what}"]),
                        "baseline_name": "same MCPServer on the SDK's streamable_http_app under uvicorn",
                        "ratio": j / b,
                        "target": f"ratio <= {target}",
                        "pass": j / b <= target,
                        "n": N,
                    }
                )


async def http_floor(server_url: str, baseline_url: str, figures: list[dict[str, Any]]) -> None:
    """What plain HTTP costs each host: Jupyter's ``GET /api/status`` (token, identity provider,
    Authorizer, request log: what every Jupyter API request pays) against a trivial JSON route
    of the baseline's Starlette app under uvicorn, interleaved, on kept-alive connections."""
    import httpx2

    headers = {"Authorization": f"token {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as jupyter,
        httpx2.AsyncClient(timeout=60) as baseline,
    ):

        async def get(client: Any, url: str) -> None:
            (await client.get(url)).raise_for_status()

        times = await interleaved(
            {
                "jupyter": lambda: get(jupyter, f"{server_url}api/status"),
                "baseline": lambda: get(baseline, f"{baseline_url}api/status"),
            },
            N,
            WARMUP,
        )
    j, b = statistics.median(times["jupyter"]), statistics.median(times["baseline"])
    figures.append(
        {
            "figure": "GET /api/status round trip (plain HTTP, no MCP)",
            "value": j,
            "p95": p95(times["jupyter"]),
            "unit": "ms",
            "baseline": b,
            "baseline_p95": p95(times["baseline"]),
            "baseline_name": "a trivial JSON route of a Starlette app under uvicorn",
            "ratio": j / b,
            "target": "reported",
            "pass": None,
            "n": N,
        }
    )


async def _call(client: Any, name: str, args: dict[str, Any]) -> Any:
    return ok(await client.call_tool(name, args))


async def part2(
    server_url: str, jupyter_mcp: str, pid: int, figures: list[dict[str, Any]], info: dict[str, Any]
) -> None:
    """The 20 MB notebook. MCP calls and the REST baseline alternate in ROUNDS blocks, so that both
    see the same machine load; the server's peak memory is read after the first MCP block, before
    any REST call could raise it."""
    import httpx2

    path = "big.ipynb"
    url = f"{server_url}api/contents/{path}"
    hwm = {"before": vm_kib(pid, "VmHWM")}
    rss = {"before": vm_kib(pid, "VmRSS")}
    per = max(1, BIG_N // ROUNDS)
    measured: dict[str, list[float]] = {
        k: [] for k in ("list", "single", "update", "list after update", "cold list", "baseline open", "baseline save")
    }
    headers = {"Authorization": f"token {TOKEN}"}
    async with (
        mcp_session(jupyter_mcp, "2026-07-28") as client,
        httpx2.AsyncClient(headers=headers, timeout=300) as rest,
    ):
        await client.list_tools()
        # The first read parses the file; later reads are answered from the service's
        # mtime-validated cache until the file changes behind it.
        started = time.perf_counter()
        result = await client.call_tool("read_cells", {"path": path, "mode": "list", "include_preview": False})
        info["big_first_read_ms"] = (time.perf_counter() - started) * 1000
        cell_count = ok(result).structured_content["cell_count"]
        info["big_cell_count"] = cell_count
        counter = iter(range(10**9))
        body: dict[str, bytes] = {}

        def listing() -> Awaitable[Any]:
            return _call(client, "read_cells", {"path": path, "mode": "list"})

        def single() -> Awaitable[Any]:
            return _call(client, "read_cells", {"path": path, "mode": "single", "index": next(counter) % cell_count})

        def update() -> Awaitable[Any]:
            k = next(counter)
            return _call(
                client, "update_cell", {"path": path, "index": (k * 37) % cell_count, "source": f"x = {k}\nprint(x)"}
            )

        async def rest_get() -> Any:
            r = await rest.get(url, params={"type": "notebook", "content": "1"})
            r.raise_for_status()
            body["put"] = json.dumps({"type": "notebook", "format": "json", "content": r.json()["content"]}).encode()

        async def rest_put() -> Any:
            r = await rest.put(url, content=body["put"])
            r.raise_for_status()

        for round_ in range(ROUNDS):
            if round_:
                # JupyterLab saved the file in the last block: this read re-parses it.
                measured["cold list"].append(await timed(listing))
            for key, fn in (("list", listing), ("single", single), ("update", update)):
                if not round_:
                    await fn()  # warm-up
                measured[key] += [await timed(fn) for _ in range(per)]
            # A read right after an edit: update_cell leaves the cache valid, so there is no re-parse.
            for _ in range(per):
                await update()
                measured["list after update"].append(await timed(listing))
            if not round_:
                hwm["mcp"], rss["mcp"] = vm_kib(pid, "VmHWM"), vm_kib(pid, "VmRSS")
            # The baseline: Jupyter's own REST API on the same file, as JupyterLab opens and saves it.
            for key, fn in (("baseline open", rest_get), ("baseline save", rest_put)):
                if not round_:
                    await fn()  # warm-up
                measured[key] += [await timed(fn) for _ in range(per)]
    hwm["rest"], rss["rest"] = vm_kib(pid, "VmHWM"), vm_kib(pid, "VmRSS")

    open_name = "GET /api/contents (JupyterLab opening it)"
    rows = (
        ('read_cells(mode="list")', "list", "baseline open", open_name, True),
        ('read_cells(mode="single")', "single", "baseline open", open_name, True),
        ("update_cell", "update", "baseline save", "PUT /api/contents (JupyterLab saving it)", True),
        ('read_cells(mode="list") right after update_cell', "list after update", "baseline open", open_name, True),
        ('read_cells(mode="list") first read after a save by Lab', "cold list", "baseline open", open_name, False),
    )
    for label, key, base, base_name, targeted in rows:
        med = statistics.median(measured[key])
        bmed = statistics.median(measured[base])
        figures.append(
            {
                "figure": f"{label}, {cell_count} cells",
                "value": med,
                "p95": p95(measured[key]),
                "unit": "ms",
                "baseline": bmed,
                "baseline_p95": p95(measured[base]),
                "baseline_name": base_name,
                "ratio": med / bmed,
                "target": f"median, p95 < {BIG_TARGET_MS:.0f} ms" if targeted else "reported",
                "pass": (med < BIG_TARGET_MS and p95(measured[key]) < BIG_TARGET_MS) if targeted else None,
                "n": len(measured[key]),
            }
        )
    figures.append(
        {
            "figure": "Jupyter server peak memory (VmHWM) after the MCP calls (before any REST call)",
            "value": (hwm["mcp"] or 0) / 1024,
            "unit": "MiB",
            "baseline": (hwm["before"] or 0) / 1024,
            "baseline_name": "VmHWM before part 2 (the server after part 1)",
            "ratio": (hwm["mcp"] or 0) / (hwm["before"] or 1),
            "target": "reported",
            "pass": None,
            "rss_mib": {k: (v or 0) / 1024 for k, v in rss.items()},
        }
    )
    figures.append(
        {
            "figure": "Jupyter server peak memory (VmHWM) at the end (MCP calls and Jupyter's REST open/save)",
            "value": (hwm["rest"] or 0) / 1024,
            "unit": "MiB",
            "baseline": (hwm["before"] or 0) / 1024,
            "baseline_name": "VmHWM before part 2 (the server after part 1)",
            "ratio": (hwm["rest"] or 0) / (hwm["before"] or 1),
            "target": "reported",
            "pass": None,
        }
    )


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    tmp, root = make_tmp("bench-notebooks-")
    env = bench_env(tmp)
    figures: list[dict[str, Any]] = []
    info = machine_info(n=N, big_n=BIG_N)
    started = time.perf_counter()
    baseline = None
    try:
        info["nb50_bytes"] = write_notebook(root / "nb50.ipynb", 50)
        t = time.perf_counter()
        info["big_bytes"] = write_notebook(root / "big.ipynb", BIG_CELLS)
        info["big_generate_s"] = time.perf_counter() - t
        profile = ("-m", "cProfile", "-o", str(RESULTS.with_name("notebooks_server.prof")))
        python = profile if os.environ.get("BENCH_PROFILE") else ()
        with serve(root, env, tmp / "jupyter.log", python=python) as (server_url, jupyter):
            bport, blog = free_port(), tmp / "baseline.log"
            baseline = spawn([sys.executable, __file__, "--serve-baseline", str(bport), str(root)], env, blog, tmp)
            wait_http(f"http://{HOST}:{bport}/mcp", baseline, blog)
            asyncio.run(part1(f"{server_url}mcp", f"http://{HOST}:{bport}/mcp", figures, info))
            asyncio.run(http_floor(server_url, f"http://{HOST}:{bport}/", figures))
            stop(baseline)
            if BIG_CELLS:
                asyncio.run(part2(server_url, f"{server_url}mcp", jupyter.pid, figures, info))
    finally:
        stop(baseline)
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    print(
        f"jupyter-mcp-ext notebook tools: N={N} per part-1 figure, {BIG_N} per part-2 figure; "
        f"{info['tool_count']} tools on both hosts"
        + (
            f"; big notebook {info['big_cell_count']} cells, {info['big_bytes'] / 1e6:.1f} MB, "
            f"first read {info['big_first_read_ms']:.0f} ms"
            if "big_cell_count" in info
            else ""
        )
    )
    print_load(info)
    print_table(figures)
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    print(f"wrote {RESULTS.relative_to(REPO)} in {info['elapsed_s']:.0f} s")
    return exit_code(figures)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-baseline":
        serve_baseline(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
