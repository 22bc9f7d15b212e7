"""Benchmark of notebook jobs on a Dask cluster (issue 12, item 5) against the local process executor.

Run: ``python bench/run.py dask`` (or ``python bench/bench_dask.py``). Prints a table and writes
``bench/results/dask.json``.

A ``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1, and two real
``jupyter_server`` subprocesses with the extension: one runs jobs with ``ProcessJobExecutor`` (the
baseline), one with ``DaskJobExecutor`` on the two workers; both with ``max_concurrent_jobs=2``, the
same concurrency. Each round submits 8 jobs of the jobs bench notebook (papermill's
``simple_execute.ipynb``, 3 cells, a parameter) at once through the REST API and polls all jobs
every 20 ms until they have completed; the two servers take turns, the order reversed every other
round, so that machine load hits both alike. Figures:

1. total time of the 8 jobs, first submit to last completed; target: Dask <= local (ratio <= 1.0);
2. per-job overhead: from the job leaving the queue (``started_at``) to its first cell running, the
   median over all jobs; target: Dask <= 2x local;
3. from submit to the first cell running, for the jobs that did not queue (reported);
4. where a job's time goes, from the timestamps the jobs keep (the job record, the events file in
   the job's directory, the output notebook's mtime) and the moment the bench saw it completed:
   left the queue -> a runner took it (for Dask: -> submitted to the scheduler -> a worker took it
   -> its runner took it) -> kernel started -> first cell running -> the runner's end -> output
   notebook written -> recorded as completed; medians over all jobs (reported).

The local executor keeps ``BENCH_DASK_LOCAL_WARM`` runners warm (default 2): as many as the cluster
keeps, one per worker (``DaskJobExecutor.warm_runners`` is per worker), so that the ratio compares the
executors and not the sizes of their pools. ``BENCH_DASK_LOCAL_WARM=1`` is the local default: with two
jobs at a time, a job then often waits for a runner that is still importing Papermill.

Environment: ``BENCH_DASK_ROUNDS`` (rounds, default 3), ``BENCH_DASK_JOBS`` (jobs per round, default 8),
``BENCH_DASK_LOCAL_WARM`` (warm runners of the local executor, default 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    HOST,
    REPO,
    TOKEN,
    bench_env,
    exit_code,
    free_port,
    machine_info,
    make_tmp,
    print_table,
    serve,
    spawn,
    stop,
    write_results,
)

RESULTS = Path(__file__).resolve().parent / "results" / "dask.json"
NOTEBOOK = REPO / "tests" / "jobs" / "notebooks" / "simple_execute.ipynb"
ROUNDS = int(os.environ.get("BENCH_DASK_ROUNDS", "3"))
JOBS = int(os.environ.get("BENCH_DASK_JOBS", "8"))
LOCAL_WARM = int(os.environ.get("BENCH_DASK_LOCAL_WARM", "2"))
CONCURRENCY = 2
POLL_S = 0.02
DASK = str(Path(sys.executable).with_name("dask"))


def start_cluster(tmp: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A scheduler and two one-thread workers, each worker in an empty directory of its own."""
    port = free_port()
    address = f"tcp://{HOST}:{port}"
    procs = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "IPYTHON", "PYTHONPATH"))}
    (tmp / "scheduler").mkdir()
    procs.append(
        spawn(
            [DASK, "scheduler", "--host", HOST, "--port", str(port), "--no-dashboard"],
            {**base_env, "HOME": str(tmp / "scheduler")},
            tmp / "scheduler.log",
            tmp / "scheduler",
        )
    )
    for name in ("w1", "w2"):
        home = tmp / name
        home.mkdir()
        argv = [DASK, "worker", address, "--name", name, "--nthreads", "1", "--host", HOST, "--no-dashboard"]
        argv += ["--local-directory", str(home / "scratch")]
        procs.append(spawn(argv, {**base_env, "HOME": str(home)}, tmp / f"{name}.log", home))
    from distributed import Client

    client = Client(address, timeout=60)
    try:
        client.wait_for_workers(2, timeout=120)
    finally:
        client.close()
    return address, procs


#: The phases of a job, in order: (name, the timestamp it starts at, the one it ends at); the
#: Dask executor's first phase is also shown in its three parts (the "of which" rows).
PHASES = (
    ("left the queue -> a runner took the job", "started_at", "accepted"),
    ("  of which: -> submitted to the scheduler (Dask)", "started_at", "submitted"),
    ("  of which: -> a worker's task started (Dask)", "submitted", "worker"),
    ("  of which: -> the worker's warm runner took it (Dask)", "worker", "accepted"),
    ("-> kernel started", "accepted", "kernel_started"),
    ("-> first cell running", "kernel_started", "first_cell"),
    ("-> the runner's end (cells run, output saved by the runner)", "first_cell", "completed_at"),
    ("-> output notebook written under the root", "completed_at", "output_written"),
    ("-> recorded as completed (seen by the bench's 20 ms poll)", "output_written", "seen_completed"),
    ("left the queue -> recorded as completed", "started_at", "seen_completed"),
)


def timeline(job: dict[str, Any], events_path: Path, output_path: Path, seen: float) -> dict[str, float]:
    """A job's timestamps (seconds since the epoch, all from this machine's clock): the record's
    ``started_at`` and ``completed_at`` (the runner's own end), the first of each event in the job's
    events file (``submitted`` and ``worker`` come from the Dask executor and its task; ``accepted``
    and ``kernel_started`` from the runner), the first cell's start, the output notebook's mtime,
    and when the bench saw the job completed."""
    times = {"started_at": job["started_at"], "completed_at": job["completed_at"], "seen_completed": seen}
    with contextlib.suppress(OSError):
        for line in events_path.read_text().splitlines():
            event = json.loads(line)
            name = event.get("event")
            if name in ("submitted", "worker", "accepted", "kernel_started") and "t" in event:
                times.setdefault(name, event["t"])
            current = event.get("current_cell") if name == "progress" else None
            if current and current.get("started_at"):
                times.setdefault("first_cell", current["started_at"])
    with contextlib.suppress(OSError):
        times["output_written"] = output_path.stat().st_mtime
    return times


def phases(times: dict[str, float]) -> dict[str, float]:
    """The duration of each phase of ``PHASES`` (seconds) that the job's timestamps bound."""
    return {name: times[end] - times[start] for name, start, end in PHASES if start in times and end in times}


async def one_round(url: str, k: int, root: Path, state_dir: Path) -> dict[str, Any]:
    """Submit JOBS jobs at once; poll them all until completed. Times in seconds."""
    import httpx2

    async with httpx2.AsyncClient(
        base_url=f"{url}jupyter-mcp-ext/", headers={"Authorization": f"token {TOKEN}"}, timeout=120
    ) as http:
        t0 = time.time()
        submitted: dict[str, float] = {}
        for j in range(JOBS):
            body = {
                "notebook_path": NOTEBOOK.name,
                "output_path": f"out_{k}_{j}.ipynb",
                "parameters": {"msg": f"round {k} job {j}"},
            }
            answer = await http.post("jobs", json=body)
            answer.raise_for_status()
            submitted[answer.json()["job_id"]] = time.time()
        first_cell: dict[str, float] = {}
        seen_completed: dict[str, float] = {}
        while True:
            jobs = {j["job_id"]: j for j in (await http.get("jobs")).json()["jobs"] if j["job_id"] in submitted}
            now = time.time()
            for job_id, job in jobs.items():
                if job["progress"]["current_cell"] is not None or job["progress"]["cells_executed"]:
                    first_cell.setdefault(job_id, now)
                if job["status"] not in ("queued", "running"):
                    seen_completed.setdefault(job_id, now)
            if all(j["status"] not in ("queued", "running") for j in jobs.values()):
                break
            await asyncio.sleep(POLL_S)
        bad = [j for j in jobs.values() if j["status"] != "completed"]
        if bad:
            raise RuntimeError(f"jobs did not complete: {[(j['status'], j['error']) for j in bad]}")
        total = max(j["completed_at"] for j in jobs.values()) - t0
        overhead = [first_cell[i] - jobs[i]["started_at"] for i in jobs]
        unqueued = [first_cell[i] - submitted[i] for i in jobs if jobs[i]["started_at"] - submitted[i] < 0.5]
        timelines = [
            timeline(j, state_dir / i / "events.jsonl", root / j["output_path"], seen_completed[i])
            for i, j in jobs.items()
        ]
        return {"total": total, "overhead": overhead, "unqueued": unqueued, "phases": [phases(t) for t in timelines]}


async def measure(urls: dict[str, str], root: Path, state_dirs: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
    for name, url in urls.items():  # warm-up: the local warm runner, the workers' warm runners
        await one_round(url, -1, root, state_dirs[name])
    for k in range(ROUNDS):
        order = list(urls) if k % 2 == 0 else list(reversed(urls))
        for name in order:
            data[name].append(await one_round(urls[name], k, root, state_dirs[name]))
    return data


def figures_from(data: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    local_total = statistics.median(r["total"] for r in data["local"])
    dask_total = statistics.median(r["total"] for r in data["dask"])
    local_over = statistics.median(v for r in data["local"] for v in r["overhead"])
    dask_over = statistics.median(v for r in data["dask"] for v in r["overhead"])
    local_first = statistics.median(v for r in data["local"] for v in r["unqueued"])
    dask_first = statistics.median(v for r in data["dask"] for v in r["unqueued"])
    headline = [
        {
            "figure": f"{JOBS} jobs, total time (first submit to last completed), concurrency {CONCURRENCY}",
            "value": dask_total,
            "unit": "s",
            "baseline": local_total,
            "baseline_name": "ProcessJobExecutor, same concurrency",
            "ratio": dask_total / local_total,
            "target": "ratio <= 1.0",
            "pass": dask_total / local_total <= 1.0,
            "n": len(data["dask"]),
        },
        {
            "figure": "per-job overhead: left the queue -> first cell running",
            "value": dask_over * 1000,
            "unit": "ms",
            "baseline": local_over * 1000,
            "baseline_name": "ProcessJobExecutor",
            "ratio": dask_over / local_over,
            "target": "ratio <= 2.0",
            "pass": dask_over / local_over <= 2.0,
            "n": sum(len(r["overhead"]) for r in data["dask"]),
        },
        {
            "figure": "submit -> first cell running (jobs that did not queue)",
            "value": dask_first * 1000,
            "unit": "ms",
            "baseline": local_first * 1000,
            "baseline_name": "ProcessJobExecutor",
            "ratio": dask_first / local_first,
            "target": "reported",
            "pass": None,
            "n": sum(len(r["unqueued"]) for r in data["dask"]),
        },
    ]
    return headline + breakdown(data)


def breakdown(data: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One reported figure per phase of a job (``PHASES``): Dask's median against the local one's."""
    figures = []
    for name, _, _ in PHASES:
        dask = [p[name] for r in data["dask"] for p in r["phases"] if name in p]
        local = [p[name] for r in data["local"] for p in r["phases"] if name in p]
        if not dask:
            continue
        value = statistics.median(dask) * 1000
        base = statistics.median(local) * 1000 if local else 0.0
        figures.append(
            {
                "figure": f"phase: {name}",
                "value": value,
                "unit": "ms",
                "baseline": base,
                "baseline_name": "ProcessJobExecutor" if local else "(no such phase locally)",
                "ratio": value / base if base else 0.0,
                "target": "reported",
                "pass": None,
                "n": len(dask),
            }
        )
    return figures


def main() -> int:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print('skipped: the Dask bench needs the dask extra (pip install -e ".[dask]")')
        return 0
    tmp, root = make_tmp("bench-dask-")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    info = machine_info(rounds=ROUNDS, jobs=JOBS, local_warm_runners=LOCAL_WARM)
    started = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        address, procs = start_cluster(tmp)
        with contextlib.ExitStack() as servers:
            urls = {}
            state_dirs = {}
            for name, extra in (
                ("local", [f"--ProcessJobExecutor.warm_runners={LOCAL_WARM}"]),
                (
                    "dask",
                    [
                        "--MCPExtensionApp.job_executor_class=jupyter_mcp_ext.jobs.dask.DaskJobExecutor",
                        f"--MCPExtensionApp.dask_scheduler_address={address}",
                    ],
                ),
            ):
                home = tmp / f"server-{name}"
                home.mkdir()
                state_dirs[name] = home / "jobs"  # the job service's directories: beside its database
                urls[name], _ = servers.enter_context(
                    serve(
                        root,
                        bench_env(home),
                        home / "jupyter.log",
                        f"--MCPExtensionApp.jobs_db_path={home / 'jobs.sqlite'}",
                        f"--MCPExtensionApp.max_concurrent_jobs={CONCURRENCY}",
                        *extra,
                    )
                )
            data = asyncio.run(measure(urls, root, state_dirs))
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    info["elapsed_s"] = time.perf_counter() - started
    info["loadavg_end"] = os.getloadavg()[0]
    figures = figures_from(data)
    print(
        f"jupyter-mcp-ext notebook jobs on Dask: {ROUNDS} rounds of {JOBS} jobs on 2 one-thread workers vs the local "
        f"process executor ({LOCAL_WARM} warm runners), max_concurrent_jobs={CONCURRENCY}, {NOTEBOOK.name}; 1-minute load "
        f"{info['loadavg_start']:.1f} -> {info['loadavg_end']:.1f} ({info['cpus']} CPUs), {info['elapsed_s']:.0f} s"
    )
    print_table(figures, p95_column=False, ms_digits=0, baseline_names=True)
    write_results(RESULTS, {"info": info, "figures": figures, "raw": data}, indent=2)
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return exit_code(figures)


if __name__ == "__main__":
    sys.exit(main())
