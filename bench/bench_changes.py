"""Benchmark of recording agent changes (issue: agent changes, item 1): what the record costs an edit of the
20 MB notebook, in file mode and in the live document.

Run: ``python bench/run.py changes`` (or ``python bench/bench_changes.py``). Prints a table and writes
``bench/results/changes.json``.

1. End to end: two Jupyter server subprocesses with the extension and jupyter-collaboration, one recording
   changes (the default) and one with ``MCPExtensionApp.record_changes=False`` (the baseline). Each holds the
   5,000-cell, 20 MB notebook of ``bench_notebooks`` twice: ``file.ipynb`` (open nowhere: the edit is saved
   through the ContentsManager) and ``live.ipynb`` (open in a JupyterLab-like Y client: the edit goes into the
   room's document). ``update_cell`` calls alternate between the two servers, one by one, so that both see the
   same machine load. Target: recording <= 1.05x the baseline in both modes.
2. In process: the recorder's own work for one ``update_cell`` of that notebook (finding the cells it touched,
   folding them into the call's record, its summary and the SQLite write), timed alone, against the median
   ``update_cell`` of part 1's baseline.

Environment: ``BENCH_CHANGES_N`` (calls per figure, default 20), ``BENCH_BIG_CELLS`` (default 5000).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench_live_notebooks import _saved, collaboration_argv
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

RESULTS = Path(__file__).resolve().parent / "results" / "changes.json"
N = int(os.environ.get("BENCH_CHANGES_N", "20"))
CELLS = int(os.environ.get("BENCH_BIG_CELLS", "5000"))
RATIO_TARGET = 1.05
EXTENSIONS = ("jupyter_mcp_ext", "jupyter_server_ydoc", "jupyter_server_fileid")


async def end_to_end(
    urls: dict[str, str], roots: dict[str, Path], figures: list[dict[str, Any]]
) -> tuple[float, float]:
    """Part 1; returns the baseline's median update_cell on the file and on the live document, in ms."""
    async with (
        mcp_client(f"{urls['recorded']}mcp", "2026-07-28") as recorded,
        mcp_client(f"{urls['baseline']}mcp", "2026-07-28") as baseline,
        open_in_lab(urls["recorded"], TOKEN, "live.ipynb", timeout=300) as tab_a,
        open_in_lab(urls["baseline"], TOKEN, "live.ipynb", timeout=300) as tab_b,
    ):
        clients = {"recorded": recorded, "baseline": baseline}
        count = min(len(tab_a.doc.ycells), len(tab_b.doc.ycells))
        counter = iter(range(10**9))
        times: dict[str, list[float]] = {f"{w} {s}": [] for w in ("file", "live") for s in clients}
        for client in clients.values():  # parse and convert once, as a first read does
            for where in ("file", "live"):
                ok(await client.call_tool("read_cells", {"path": f"{where}.ipynb", "mode": "single", "index": 0}))
        for where in ("file", "live"):
            for i in range(N + 2):
                k = next(counter)
                arguments = {"path": f"{where}.ipynb", "index": (k * 37) % count, "source": f"x = {k}\nprint(x)"}
                order = list(clients) if i % 2 == 0 else list(reversed(clients))
                for server in order:
                    if where == "live":
                        await _saved(roots[server] / "live.ipynb", quiet_s=1.5)
                    elapsed = await timed(lambda c=clients[server], a=arguments: c.call_tool("update_cell", a))
                    if i >= 2:  # two warm-up calls
                        times[f"{where} {server}"].append(elapsed)
    for where in ("file", "live"):
        value, base = statistics.median(times[f"{where} recorded"]), statistics.median(times[f"{where} baseline"])
        figures.append(
            {
                "figure": f"update_cell, {count} cells, {'file' if where == 'file' else 'live document'}, recorded",
                "value": value,
                "p95": p95(times[f"{where} recorded"]),
                "unit": "ms",
                "baseline": base,
                "baseline_name": "the same call on a server that records nothing",
                "ratio": value / base,
                "target": f"<= {RATIO_TARGET:.2f}x",
                "pass": value / base <= RATIO_TARGET,
                "n": len(times[f"{where} recorded"]),
            }
        )
    return statistics.median(times["file baseline"]), statistics.median(times["live baseline"])


def recorder_alone(path: Path, edit_ms: dict[str, float], figures: list[dict[str, Any]]) -> None:
    """Part 2: the recorder's own work for one update_cell of the notebook at ``path``."""
    import nbformat

    from jupyter_mcp_ext.changes import diff
    from jupyter_mcp_ext.changes.models import Change
    from jupyter_mcp_ext.changes.store import ChangeStore
    from jupyter_mcp_ext.notebooks.edits import working_copy

    nb = nbformat.read(str(path), as_version=4)
    count = len(nb.cells)
    with tempfile.TemporaryDirectory() as tmp:
        store = ChangeStore(os.path.join(tmp, "changes.sqlite"), max_bytes=50 * 1024 * 1024)
        times: list[float] = []
        for k in range(N + 2):
            after = working_copy(nb)
            i = (k * 37) % count
            after.cells[i] = nbformat.from_dict({**after.cells[i], "source": f"x = {k}\nprint(x)"})
            started = time.perf_counter()
            befores, afters = diff.touched(nb, after)
            change = Change(id=f"chg_{k:012x}", path="file.ipynb", tool="update_cell", time=time.time())
            diff.merge(change, befores, afters)
            change.summary = diff.summarize(change)
            store.save(change)
            if k >= 2:
                times.append((time.perf_counter() - started) * 1000)
            nb = after
        store.close()
    value = statistics.median(times)
    for where, base in edit_ms.items():
        figures.append(
            {
                "figure": f"the recorder's own work per update_cell, {count} cells, against the {where} edit",
                "value": value,
                "p95": p95(times),
                "unit": "ms",
                "baseline": base,
                "baseline_name": f"update_cell on the {where}, not recorded (part 1)",
                "ratio": value / base,
                "target": f"<= {RATIO_TARGET - 1:.0%} of the edit",
                "pass": value / base <= RATIO_TARGET - 1,
                "n": len(times),
            }
        )


def main() -> int:
    figures: list[dict[str, Any]] = []
    info = machine_info(n=N)
    started = time.perf_counter()
    tmps: list[Path] = []
    try:
        with ExitStack() as stack:
            urls: dict[str, str] = {}
            roots: dict[str, Path] = {}
            for server, extra in (("recorded", ()), ("baseline", ("--MCPExtensionApp.record_changes=False",))):
                tmp, root = make_tmp(f"bench-changes-{server}-")
                tmps.append(tmp)
                info["bytes"] = write_notebook(root / "file.ipynb", CELLS)
                shutil.copyfile(root / "file.ipynb", root / "live.ipynb")
                url, _ = stack.enter_context(
                    serve(
                        root,
                        bench_env(tmp),
                        tmp / "jupyter.log",
                        *collaboration_argv(tmp),
                        *extra,
                        extensions=EXTENSIONS,
                    )
                )
                urls[server], roots[server] = url, root
            file_ms, live_ms = asyncio.run(end_to_end(urls, roots, figures))
        recorder_alone(tmps[0] / "root" / "file.ipynb", {"file": file_ms, "live document": live_ms}, figures)
    finally:
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    print(f"jupyter-mcp-ext agent changes: {CELLS} cells, {info['bytes'] / 1e6:.1f} MB, {N} calls per figure")
    print_load(info)
    print_table(figures)
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    print(f"wrote {RESULTS.relative_to(REPO)} in {info['elapsed_s']:.0f} s")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
