"""Benchmark of execute_on_kernel against jupyter_client on the same warm kernel (issue 3, item 7).

Run: ``python bench/run.py kernels`` (or ``python bench/bench_kernels.py``). Prints a table
(figure, value, baseline, ratio, target, result) and writes ``bench/results/kernels.json``.

A real Jupyter server runs in a subprocess on 127.0.0.1 with the extension, plus this module as a
second server extension that adds one tool, ``bench_noop``, which does nothing: its round trip is
the MCP floor (HTTP, the SDK, JSON-RPC) that every tool pays. One kernel is started with
``start_kernel`` and warmed up; then, in the same run and on that kernel:

1. ``execute_on_kernel(mode="code", code="1+1")`` over MCP, against ``jupyter_client``'s own
   ``execute_interactive("1+1")`` from this process (a second frontend on the same kernel) plus the
   no-op tool's round trip. Target: the execution path adds at most 20% to that sum
   (``ratio = mcp / (raw + noop) <= 1.2``). Both client modes (legacy handshake, 2026-07-28); the
   three calls alternate one by one, order reversed every other round, so machine load hits all.
2. A 1,000-line stream output and a 0.7 MB PNG (about the largest image one result carries with the
   default ``max_result_chars``: a message to the official client is at most 1 MiB, base64 included):
   round trip and bytes of the HTTP response body, against
   ``execute_interactive`` of the same code and the bytes of the kernel's IOPub message contents.
   The stream is shown with the server's default ``max_output_chars`` (cut) and with no limit.

Environment: ``BENCH_N`` (round trips per figure of part 1, default 200), ``BENCH_BIG_N`` (part 2,
default 20).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from common import (
    REPO,
    bench_env,
    exit_code,
    interleaved,
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

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "kernels.json"

N = int(os.environ.get("BENCH_N", "200"))
BIG_N = int(os.environ.get("BENCH_BIG_N", "20"))
WARMUP = 20
RATIO_TARGET = 1.2

STREAM_CODE = "for i in range(1000):\n    print(f'line {i:4d}: the quick brown fox jumps over the lazy dog')"
#: Defines ``big_png``: a 480x480 RGB PNG of random pixels (incompressible): about 0.7 MB.
IMAGE_SETUP = """
import os, struct, zlib
from IPython.display import Image, display
def _png(width, height):
    raw = b"".join(b"\\x00" + os.urandom(width * 3) for _ in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
big_png = _png(480, 480)
len(big_png)
"""
IMAGE_CODE = "display(Image(data=big_png))"


# -- the no-op tool, loaded into the Jupyter server as an extension of its own ------------


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "bench_kernels"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add ``bench_noop`` to the MCP server once every extension is loaded (this one loads first)."""

    async def bench_noop() -> dict[str, Any]:
        """Does nothing (benchmark floor)."""
        return {"success": True}

    def register() -> None:
        app = serverapp.web_app.settings["jupyter_mcp_ext_app"]
        app.mcp.add_tool(bench_noop, name="bench_noop")

    asyncio.get_event_loop().call_soon(register)


# -- clients --------------------------------------------------------------------------------


class Counter:
    """Bytes of HTTP response bodies received by one MCP client."""

    def __init__(self) -> None:
        self.received = 0


def counting_transport(counter: Counter) -> Any:
    import httpx2

    class CountingTransport(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            response = await self.inner.handle_async_request(request)
            inner_stream = response.stream

            class Counted(httpx2.AsyncByteStream):
                async def __aiter__(self) -> AsyncIterator[bytes]:
                    async for chunk in inner_stream:
                        counter.received += len(chunk)
                        yield chunk

                async def aclose(self) -> None:
                    await inner_stream.aclose()

            return httpx2.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=Counted(),
                extensions=response.extensions,
            )

        async def aclose(self) -> None:
            await self.inner.aclose()

    return CountingTransport()


def counted_client(url: str, mode: str, counter: Counter) -> AbstractAsyncContextManager[Any]:
    """An MCP client whose HTTP response bytes are added to ``counter``."""
    return mcp_client(url, mode, transport=counting_transport(counter))


class RawKernel:
    """jupyter_client's own frontend on the same kernel: ``execute_interactive`` from this process."""

    def __init__(self, connection_file: Path) -> None:
        from jupyter_client.asynchronous import AsyncKernelClient

        self.client = AsyncKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.last_bytes = 0

    async def ready(self) -> None:
        await self.client.wait_for_ready(timeout=60)

    async def run(self, code: str) -> Any:
        size = 0

        def hook(msg: dict[str, Any]) -> None:
            nonlocal size
            size += len(json.dumps(msg["content"]))

        reply = await self.client.execute_interactive(code, output_hook=hook, timeout=120, allow_stdin=False)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"raw execution failed: {reply['content']}")
        self.last_bytes = size
        return reply

    def close(self) -> None:
        self.client.stop_channels()


# -- measuring ------------------------------------------------------------------------------


def execute_args(kernel_id: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"kernel_id": kernel_id, "mode": "code", "code": code, **extra}


async def part1(mcp_url: str, kernel_id: str, raw: RawKernel, figures: list[dict[str, Any]]) -> None:
    for mode in ("legacy", "2026-07-28"):
        async with counted_client(mcp_url, mode, Counter()) as client:
            await client.list_tools()

            async def mcp_exec() -> Any:
                result = ok(await client.call_tool("execute_on_kernel", execute_args(kernel_id, "1+1")))
                if result.structured_content["outputs"][0]["text"] != "2":
                    raise RuntimeError(f"unexpected result {result.structured_content}")

            times = await interleaved(
                {
                    "raw": lambda: raw.run("1+1"),
                    "noop": lambda: client.call_tool("bench_noop", {}),
                    "mcp": mcp_exec,
                },
                N,
                WARMUP,
            )
        med = {k: statistics.median(v) for k, v in times.items()}
        floor = med["raw"] + med["noop"]
        figures += [
            {
                "figure": f'execute_on_kernel(code="1+1") round trip [{mode}]',
                "value": med["mcp"],
                "p95": p95(times["mcp"]),
                "unit": "ms",
                "baseline": floor,
                "baseline_name": "jupyter_client execute_interactive + no-op MCP tool (medians)",
                "ratio": med["mcp"] / floor,
                "target": f"ratio <= {RATIO_TARGET}",
                "pass": med["mcp"] / floor <= RATIO_TARGET,
                "n": N,
            },
            {
                "figure": f"  no-op MCP tool round trip [{mode}]",
                "value": med["noop"],
                "p95": p95(times["noop"]),
                "unit": "ms",
                "baseline": med["raw"],
                "baseline_name": "jupyter_client execute_interactive",
                "ratio": med["noop"] / med["raw"],
                "target": "reported",
                "pass": None,
                "n": N,
            },
            {
                "figure": f"  jupyter_client execute_interactive('1+1') [{mode} run]",
                "value": med["raw"],
                "p95": p95(times["raw"]),
                "unit": "ms",
                "baseline": med["raw"],
                "baseline_name": "itself",
                "ratio": 1.0,
                "target": "reported",
                "pass": None,
                "n": N,
            },
        ]


async def part2(mcp_url: str, kernel_id: str, raw: RawKernel, figures: list[dict[str, Any]], info: dict) -> None:
    counter = Counter()
    async with counted_client(mcp_url, "2026-07-28", counter) as client:
        await client.list_tools()
        setup = ok(await client.call_tool("execute_on_kernel", execute_args(kernel_id, IMAGE_SETUP)))
        info["png_bytes"] = int(setup.structured_content["outputs"][0]["text"])
        cases = (
            ("1,000-line stream (default max_output_chars)", execute_args(kernel_id, STREAM_CODE), STREAM_CODE),
            (
                "1,000-line stream (max_output_chars=0)",
                execute_args(kernel_id, STREAM_CODE, max_output_chars=0),
                STREAM_CODE,
            ),
            (f"{info['png_bytes'] / 1e6:.2f} MB PNG display", execute_args(kernel_id, IMAGE_CODE), IMAGE_CODE),
        )
        for label, args, code in cases:
            sizes: list[int] = []
            images: list[int] = []

            async def mcp_call(
                args: dict[str, Any] = args, sizes: list[int] = sizes, images: list[int] = images
            ) -> None:
                before = counter.received
                result = ok(await client.call_tool("execute_on_kernel", args))
                sizes.append(counter.received - before)
                images.append(sum(1 for b in result.content if b.type == "image"))

            times = await interleaved({"raw": lambda code=code: raw.run(code), "mcp": mcp_call}, BIG_N, 2)
            med, raw_med = statistics.median(times["mcp"]), statistics.median(times["raw"])
            wire = statistics.median(sizes)
            if code == IMAGE_CODE and not images[-1]:
                raise RuntimeError(f"{label}: the image was not returned as image content")
            figures += [
                {
                    "figure": f"{label}: round trip",
                    "value": med,
                    "p95": p95(times["mcp"]),
                    "unit": "ms",
                    "baseline": raw_med,
                    "baseline_name": "jupyter_client execute_interactive of the same code",
                    "ratio": med / raw_med,
                    "target": "reported",
                    "pass": None,
                    "n": BIG_N,
                },
                {
                    "figure": f"{label}: bytes sent" + (f" ({images[-1]} image block)" if images[-1] else ""),
                    "value": wire / 1024,
                    "unit": "KiB",
                    "baseline": raw.last_bytes / 1024,
                    "baseline_name": "JSON of the kernel's IOPub message contents for the same code",
                    "ratio": wire / max(1, raw.last_bytes),
                    "target": "reported",
                    "pass": None,
                },
            ]


async def measure(server_url: str, runtime_dir: Path, figures: list[dict[str, Any]], info: dict[str, Any]) -> None:
    mcp_url = f"{server_url}mcp"
    async with counted_client(mcp_url, "2026-07-28", Counter()) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        if "bench_noop" not in tools:
            raise RuntimeError("the bench_noop tool was not registered")
        started = time.perf_counter()
        kernel = ok(await client.call_tool("start_kernel", {"kernel_name": "python3"})).structured_content
        info["start_kernel_ms"] = (time.perf_counter() - started) * 1000
    kernel_id = kernel["kernel_id"]
    raw = RawKernel(runtime_dir / f"kernel-{kernel_id}.json")
    try:
        await raw.ready()
        await part1(mcp_url, kernel_id, raw, figures)
        await part2(mcp_url, kernel_id, raw, figures, info)
    finally:
        raw.close()


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    tmp, root = make_tmp("bench-kernels-")
    env = bench_env(tmp, HERE)  # HERE: this module is the server extension ``bench_kernels``
    figures: list[dict[str, Any]] = []
    info = machine_info(n=N, big_n=BIG_N)
    started = time.perf_counter()
    try:
        extensions = ("jupyter_mcp_ext", "bench_kernels")
        with serve(root, env, tmp / "jupyter.log", extensions=extensions) as (server_url, _):
            asyncio.run(measure(server_url, tmp / "jupyter_runtime_dir", figures, info))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    print(
        f"jupyter-mcp-ext kernel tools: N={N} per part-1 figure, {BIG_N} per part-2 figure; "
        f"start_kernel took {info['start_kernel_ms']:.0f} ms"
    )
    print_load(info)
    print_table(figures)
    write_results(RESULTS, {"figures": figures, "info": info}, indent=1)
    print(f"wrote {RESULTS.relative_to(REPO)} in {info['elapsed_s']:.0f} s")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
