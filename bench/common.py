"""What the benchmark scripts of bench/ share: the Jupyter server subprocess, the MCP client, timing, the table.

The scripts run as ``python bench/bench_<name>.py``, so this directory is ``sys.path[0]`` and they
``from common import ...``. Only the standard library is imported at module level: ``bench_kernels``
is also loaded into the Jupyter server as an extension, which imports this module too.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
HOST = "127.0.0.1"

# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def make_tmp(prefix: str) -> tuple[Path, Path]:
    """A fresh temporary directory, and the server root made inside it."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (tmp / "root").mkdir()
    return tmp, tmp / "root"


def bench_env(tmp: Path, *paths: Path) -> dict[str, str]:
    """This environment with the repository (then ``paths``) first on PYTHONPATH, and Jupyter's and
    IPython's config, data and runtime directories made fresh under ``tmp``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *map(str, paths)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        d = tmp / var.lower()
        d.mkdir()
        env[var] = str(d)
    env["IPYTHONDIR"] = str(tmp / "ipython")
    return env


def server_argv(port: int, root: Path, *extra: str, extensions: tuple[str, ...] = ("jupyter_mcp_ext",)) -> list[str]:
    """The arguments of a token-protected ``jupyter_server`` on HOST:port with ``extensions`` enabled."""
    enabled = ", ".join(f"'{name}': True" for name in extensions)
    return [
        f"--ServerApp.jpserver_extensions={{{enabled}}}",
        f"--ServerApp.token={TOKEN}",
        f"--port={port}",
        f"--ip={HOST}",
        "--allow-root",
        "--no-browser",
        f"--ServerApp.root_dir={root}",
        *extra,
    ]


def spawn(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its stdout and stderr going to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)


def start_jupyter(
    port: int, root: Path, env: dict[str, str], log: Path, *extra: str, python: tuple[str, ...] = (), **kw: Any
) -> subprocess.Popen[bytes]:
    """``python [python...] -m jupyter_server`` with ``server_argv(port, root, *extra, **kw)``, run in log's directory."""
    argv = [sys.executable, *python, "-m", "jupyter_server", *server_argv(port, root, *extra, **kw)]
    return spawn(argv, env, log, log.parent)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 60.0) -> None:
    """Wait until ``url`` answers (below 500) with the token; fail with the log's tail if proc exits."""
    import httpx2

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(url, headers={"Authorization": f"token {TOKEN}"}, timeout=2).status_code < 500:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {deadline_s} s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve(
    root: Path, env: dict[str, str], log: Path, *extra: str, deadline_s: float = 60.0, **kw: Any
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Jupyter server for the ``with`` block: ``start_jupyter`` on a free port with ``extra`` and
    ``kw``, once its ``api/status`` answers (``wait_http``); yields its URL (``http://HOST:port/``)
    and process, and stops it when the block ends."""
    port = free_port()
    server = start_jupyter(port, root, env, log, *extra, **kw)
    try:
        wait_http(f"http://{HOST}:{port}/api/status", server, log, deadline_s)
        yield f"http://{HOST}:{port}/", server
    finally:
        stop(server)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# -- measuring ------------------------------------------------------------------------------


@asynccontextmanager
async def mcp_client(
    url: str, mode: str, *, token: bool = True, timeout: float = 300, transport: Any = None, **options: Any
) -> AsyncIterator[Any]:
    """An MCP client session on ``url``; ``options`` go to ``mcp.Client``."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"token {TOKEN}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=timeout, transport=transport) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, **options) as client:
            yield client


def ok(result: Any) -> Any:
    if getattr(result, "is_error", False):
        raise RuntimeError(f"tool error: {result.content[0].text if result.content else result}")
    return result


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    """Milliseconds taken by one ``await fn()``."""
    started = time.perf_counter()
    await fn()
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def interleaved(calls: dict[str, Callable[[], Awaitable[Any]]], n: int, warmup: int) -> dict[str, list[float]]:
    """Warm each call up, then time n of each, one of each per round, the order reversed every
    other round: each host sees the same machine load, even on a busy machine."""
    for fn in calls.values():
        for _ in range(warmup):
            await fn()
    keys = list(calls)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(n):
        for key in keys if i % 2 == 0 else reversed(keys):
            times[key].append(await timed(calls[key]))
    return times


# -- reporting ------------------------------------------------------------------------------


def machine_info(**counts: Any) -> dict[str, Any]:
    """The ``info`` of a results file as a run starts: Python, CPUs, ``counts``, load average."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), **counts, "loadavg_start": os.getloadavg()[0]}


def print_load(info: dict[str, Any]) -> None:
    print(
        f"1-minute load average {info['loadavg_start']:.1f} at the start, {info['loadavg_end']:.1f} at the end "
        f"({info['cpus']} CPUs)"
        + (
            "; the machine was busy: absolute figures are inflated, ratios less so"
            if max(info["loadavg_start"], info["loadavg_end"]) > 0.75 * (info["cpus"] or 1)
            else ""
        )
    )


def print_table(
    figures: list[dict[str, Any]], *, p95_column: bool = True, ms_digits: int = 2, baseline_names: bool = False
) -> None:
    """The figures as a table; values in ms get ``ms_digits`` decimals, others 2."""
    header = ("figure", "value", *(("p95",) if p95_column else ()), "baseline", "ratio", "target", "result")
    rows = []
    for f in figures:
        unit = f["unit"]
        digits = ms_digits if unit == "ms" else 2
        baseline = f"{f['baseline']:.{digits}f} {unit}" + (f" ({f['baseline_name']})" if baseline_names else "")
        rows.append(
            (
                f["figure"],
                f"{f['value']:.{digits}f} {unit}",
                *((f"{f['p95']:.2f}" if "p95" in f else "",) if p95_column else ()),
                baseline,
                f"{f['ratio']:.2f}x",
                f["target"],
                "-" if f["pass"] is None else ("pass" if f["pass"] else "FAIL"),
            )
        )
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))


def write_results(path: Path, results: dict[str, Any], indent: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=indent) + "\n")


def exit_code(figures: list[dict[str, Any]]) -> int:
    """0 unless a figure with a target missed it."""
    return 0 if all(f["pass"] is not False for f in figures) else 1
