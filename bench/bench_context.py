"""Benchmark of result sizes (issue 10): what every read tool costs a model's context.

Run: ``python bench/run.py context`` (or ``python bench/bench_context.py``). Prints, per notebook of
the corpus and per read, the result's text in characters and estimated tokens (characters / 4),
its image blocks, and the baseline: the raw nbformat JSON of the same cells (what the read tools
returned before shaping, once, without indentation). Writes ``bench/results/context.json``.

The corpus: the test notebooks (tests/data, tests/jobs/notebooks) and two notebooks the bench
builds by running them in a real kernel: ``analysis.ipynb`` (a chart, a DataFrame, coloured text,
a KeyError) and ``long_analysis.ipynb`` (200 cells of the same kinds). With pandas and matplotlib
installed (``pip install -e ".[bench]"``) they are real DataFrames and charts; without them the
bench builds the same kinds of outputs with the standard library and says so.

Targets: tools/list <= 5,500 tokens (issue 19: with every tool of the open issues); read_cells(mode="list") of
the 200-cell notebook <= 120 characters (~30 tokens) a cell on average, every cell listed (issue 19; issue 10 asked
<= 6,000 tokens); read_cells(mode="single") of a chart cell <= 1,000 tokens of text plus one image block; an
execute_on_kernel error result <= 2,000 tokens; no default read over max_result_chars (40,000).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import sys
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
    print_table,
    serve,
    write_results,
)

RESULTS = Path(__file__).resolve().parent / "results" / "context.json"
BUDGET = 40_000
REAL_LIBRARIES = all(importlib.util.find_spec(name) for name in ("pandas", "matplotlib"))

PNG_CODE = """
import os, struct, zlib
from IPython.display import Image
def png(width, height):
    raw = b"".join(b"\\x00" + bytes((40 + y % 200, 90, 160)) * width for y in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
"""

if REAL_LIBRARIES:
    SETUP = "import numpy as np\nimport pandas as pd\nimport matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n%matplotlib inline"
    DATA = "df = pd.DataFrame({'region': ['north', 'south', 'east', 'west'] * 5, 'sales': np.arange(20) * 3.5})\ndf.head(10)"
    CHART = "fig, ax = plt.subplots(figsize=(6, 4))\ndf.groupby('region')['sales'].sum().plot.bar(ax=ax)\nplt.show()"
    ERROR = "df['revenue']"
else:
    SETUP = (
        PNG_CODE
        + "from IPython.display import HTML, display\nrows = [(r, i * 3.5) for i, r in enumerate(['north', 'south', 'east', 'west'] * 5)]"
    )
    DATA = (
        "display({'text/html': '<table>' + ''.join(f'<tr><td>{r}</td><td>{s}</td></tr>' for r, s in rows[:10]) + '</table>',"
        " 'text/plain': '\\n'.join(f'{i} {r} {s}' for i, (r, s) in enumerate(rows[:10]))}, raw=True)"
    )
    CHART = "Image(png(600, 400))"
    ERROR = "dict(rows)['revenue']"

ANALYSIS = [
    ("markdown", "# Quarterly sales\nLoad the data, look at it, chart it."),
    ("code", SETUP),
    ("code", "print('\\x1b[32mloaded\\x1b[0m 20 rows')"),
    ("code", DATA),
    ("code", CHART),
    ("code", ERROR),
]


def section(i: int) -> list[tuple[str, str]]:
    """One step of the long analysis: a heading, code with a printed line, a table, a chart now and then."""
    cells = [
        ("markdown", f"## Step {i}\nLook at the numbers of step {i} before going on."),
        ("code", f"step_{i} = {i} * 2\nprint('step', {i}, 'gives', step_{i})"),
        ("code", DATA.replace("head(10)", "head(3)").replace("rows[:10]", "rows[:3]")),
    ]
    if i % 10 == 0:
        cells.append(("code", CHART))
    return cells


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        nb.cells.append(
            nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        )
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def long_cells() -> list[tuple[str, str]]:
    cells = list(ANALYSIS[:4])
    i = 0
    while len(cells) < 200:
        i += 1
        cells += section(i)
    return cells[:199] + [ANALYSIS[5]]


async def call(client: Any, name: str, **arguments: Any) -> Any:
    result = await client.call_tool(name, arguments)
    if result.is_error:
        raise RuntimeError(f"{name}{arguments}: {result.content[0].text}")
    return result


def size(result: Any) -> dict[str, Any]:
    text = "".join(b.text for b in result.content if b.type == "text")
    images = [b for b in result.content if b.type == "image"]
    return {
        "chars": len(text),
        "tokens": len(text) // 4,
        "images": len(images),
        "image_bytes": sum(len(b.data) * 3 // 4 for b in images),
    }


def raw_chars(cells: list[Any]) -> int:
    return len(json.dumps(cells, separators=(",", ":"), ensure_ascii=False))


async def measure(url: str, root: Path) -> dict[str, Any]:

    rows: list[dict[str, Any]] = []
    special: dict[str, Any] = {}
    async with mcp_client(url, "legacy") as client:
        tools = (await client.list_tools()).tools
        listed = json.dumps(
            [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools], separators=(",", ":")
        )
        special["tools_list"] = {"chars": len(listed), "tokens": len(listed) // 4, "tools": len(tools)}
        kernel = json.loads((await call(client, "start_kernel")).content[0].text)["kernel_id"]
        for name in ("analysis.ipynb", "long_analysis.ipynb"):
            await call(
                client,
                "execute_on_kernel",
                kernel_id=kernel,
                mode="notebook",
                path=name,
                continue_on_error=True,
                timeout=120,
            )
        error = await call(client, "execute_on_kernel", kernel_id=kernel, mode="code", code=ERROR)
        special["execute_error"] = size(error)
        await call(client, "stop_kernel", kernel_id=kernel)
        for path in sorted(root.glob("*.ipynb")):  # noqa: ASYNC240 - a bench, not the server
            nb = json.loads(path.read_text())
            cells = nb["cells"]
            name = path.name
            reads: list[tuple[str, dict[str, Any], list[Any]]] = [
                ("read_notebook", {}, [nb]),
                ("read_cells list", {"mode": "list"}, cells),
                ("read_cells all", {"mode": "all"}, cells),
                ("inspect_notebook full", {"mode": "full"}, [nb]),
            ]
            for label, args, baseline in reads:
                tool = label.split()[0]
                result = await call(client, tool, path=name, **args)
                rows.append({"notebook": name, "read": label, "raw_chars": raw_chars(baseline), **size(result)})
            singles = []
            for i, cell in enumerate(cells):
                result = await call(client, "read_cells", path=name, mode="single", index=i)
                singles.append({"index": i, "raw_chars": raw_chars([cell]), **size(result)})
            largest = max(singles, key=lambda s: s["chars"])
            rows.append({"notebook": name, "read": f"read_cells single (largest, cell {largest['index']})", **largest})
            charts = [
                s
                for s in singles
                if any("image/png" in (o.get("data") or {}) for o in cells[s["index"]].get("outputs", []))
            ]
            if charts and name.startswith("analysis"):
                special["chart_cell"] = charts[0]
            if name == "long_analysis.ipynb":
                special["long_list"] = next(r for r in rows if r["notebook"] == name and r["read"] == "read_cells list")
                special["long_list"]["cells"] = len(cells)
                listed = await call(client, "read_cells", path=name)
                special["long_list"]["cells_listed"] = len(json.loads(listed.content[0].text)["cells"])
                # What an agent can ask for instead of the spec's default preview_length=100.
                for key, args in (
                    ("long_list_short", {"preview_length": 40}),
                    ("long_list_bare", {"include_preview": False}),
                    ("long_list_objects", {"list_format": "objects"}),
                ):
                    result = await call(client, "read_cells", path=name, mode="list", **args)
                    special[key] = {**size(result), "raw_chars": raw_chars(cells), "arguments": args}
    return {"rows": rows, "special": special}


def figures_from(data: dict[str, Any]) -> list[dict[str, Any]]:
    special = data["special"]
    over = [r for r in data["rows"] if r["chars"] > BUDGET]

    def figure(
        name: str, value: float, baseline: float, target: str, ok: bool | None, unit: str = "tokens"
    ) -> dict[str, Any]:
        return {
            "figure": name,
            "value": value,
            "unit": unit,
            "baseline": baseline,
            "baseline_name": "raw nbformat",
            "ratio": value / baseline if baseline else 0.0,
            "target": target,
            "pass": ok,
        }

    tl = special["tools_list"]
    chart = special["chart_cell"]
    long_list = special["long_list"]
    error = special["execute_error"]
    return [
        figure(f"tools/list ({tl['tools']} tools)", tl["tokens"], 6023, "<= 5,500", tl["tokens"] <= 5500),
        figure(
            f"read_cells list, {long_list['cells']} cells, per cell",
            long_list["chars"] / long_list["cells"],
            long_list["raw_chars"] / long_list["cells"],
            f"<= 120, all {long_list['cells']} listed",
            long_list["chars"] / long_list["cells"] <= 120 and long_list["cells_listed"] == long_list["cells"],
            unit="chars",
        ),
        figure(
            f"read_cells list, {long_list['cells']} cells",
            long_list["tokens"],
            long_list["raw_chars"] / 4,
            "reported (issue 10: <= 6,000)",
            None,
        ),
        figure(
            f"read_cells single, chart cell ({chart['images']} image)",
            chart["tokens"],
            chart["raw_chars"] / 4,
            "<= 1,000 + 1 image",
            chart["tokens"] <= 1000 and chart["images"] == 1,
        ),
        *(
            figure(
                f"read_cells list, {long_list['cells']} cells, {', '.join(f'{k}={v}' for k, v in extra['arguments'].items())}",
                extra["tokens"],
                extra["raw_chars"] / 4,
                "reported",
                None,
            )
            for extra in (special["long_list_short"], special["long_list_bare"], special["long_list_objects"])
        ),
        figure("execute_on_kernel error result", error["tokens"], 13_000 / 4, "<= 2,000", error["tokens"] <= 2000),
        figure("default reads over max_result_chars", len(over), len(data["rows"]), "0", not over, unit="reads"),
    ]


def main() -> int:
    tmp, root = make_tmp("bench-context-")
    for folder in (REPO / "tests" / "data", REPO / "tests" / "jobs" / "notebooks"):
        for source in folder.glob("*.ipynb"):
            shutil.copy(source, root / source.name)
    write_notebook(root / "analysis.ipynb", ANALYSIS)
    write_notebook(root / "long_analysis.ipynb", long_cells())
    env = bench_env(tmp)
    info = machine_info(real_libraries=REAL_LIBRARIES)
    started = time.perf_counter()
    try:
        with serve(root, env, tmp / "jupyter.log") as (url, _):
            data = asyncio.run(measure(f"{url}mcp", root))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    print(
        "jupyter-mcp-ext result sizes: characters of each result's text, tokens = characters / 4; baseline: the raw "
        f"nbformat JSON of the same cells. Charts and tables made with {'pandas and matplotlib' if REAL_LIBRARIES else 'the standard library (pandas/matplotlib not installed)'}."
    )
    header = f"{'notebook':<28} {'read':<40} {'chars':>8} {'tokens':>7} {'images':>6} {'raw chars':>10} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in data["rows"]:
        ratio = r["chars"] / r["raw_chars"] if r["raw_chars"] else 0
        print(
            f"{r['notebook']:<28} {r['read']:<40} {r['chars']:>8,} {r['tokens']:>7,} {r['images']:>6} {r['raw_chars']:>10,} {ratio:>5.2f}x"
        )
    print()
    figures = figures_from(data)
    print_table(figures, p95_column=False, ms_digits=0, baseline_names=True)
    write_results(
        RESULTS, {"info": info, "figures": figures, "rows": data["rows"], "special": data["special"]}, indent=2
    )
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
