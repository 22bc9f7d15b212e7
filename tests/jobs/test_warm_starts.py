"""Warm starts: jobs run on kernels started ahead by idle runners, each kernel used by one job only,
with the working directory and environment a cold start gives, and nothing left running."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from jupyter_mcp_ext.jobs.warm_kernel import cold_reason

from ..conftest import poll
from .conftest import process_alive, tool, wait_finished

pytestmark = [pytest.mark.kernel]

#: What a cell can see of how its kernel was started.
STATE_CELL = (
    "import json, os, sys\n"
    "ip = get_ipython()\n"
    "print('STATE ' + json.dumps({'cwd': os.getcwd(), 'path': sys.path, 'rel': os.path.abspath('x'),\n"
    "    'dh': [str(p) for p in ip.history_manager.dir_hist], 'starting_dir': ip.starting_dir,\n"
    "    'env': {k: v for k, v in os.environ.items() if k not in ('JOB_COLD', 'JPY_PARENT_PID')},\n"
    "    'count': ip.execution_count, 'history': ip.history_manager.hist_file,\n"
    "    'names': sorted(k for k in ip.user_ns if not k.startswith('_'))}))"
)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (its kernel, for an idle runner's job process)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def early_logs(state_dir: str) -> list[Path]:
    """The logs idle runners keep until a job takes them over."""
    return list(Path(state_dir).glob("runner-*.log"))


async def started_executor(services: Any) -> Any:
    """The job executor, the job service started as the server's start does (pytest-jupyter's
    server does not run the extension's start hook; the service otherwise starts at its first use)."""
    await services.jobs.start()
    return services.jobs.executor


async def idle_runners(executor: Any, count: int) -> list[tuple[int, int]]:
    """Wait until ``count`` idle runners each have their kernel started: [(runner pid, kernel pid)]."""

    async def ready() -> list[tuple[int, int]] | None:
        pairs = [(r.pid, children(r.pid)) for r in executor._pool if r.pid]
        started = [(pid, kids[0]) for pid, kids in pairs if kids]
        return started if len(started) >= count else None

    return await poll(ready, 60, f"{count} idle runners with their kernels")


async def job_lines(client: Any, job_id: str) -> list[dict[str, Any]]:
    return (await tool(client, "manage_async_job", operation="logs", job_id=job_id))["logs"]


async def run_state_job(client: Any, **arguments: Any) -> tuple[dict[str, Any], list[str]]:
    job = await tool(client, "execute_notebook", notebook_path="sub/state.ipynb", mode="async", **arguments)
    status = await wait_finished(client, job["job_id"])
    assert status["status"] == "completed", status
    messages = [line["message"] for line in await job_lines(client, job["job_id"])]
    (state,) = [json.loads(m[len("STATE ") :]) for m in messages if m.startswith("STATE ")]
    return state, messages


async def test_a_warm_job_sees_the_directory_and_environment_of_a_cold_one(mcp_client, make_notebook, jp_root_dir):
    (jp_root_dir / "sub").mkdir()
    make_notebook("sub/state.ipynb", [STATE_CELL])
    async with mcp_client() as client:
        warm, warm_log = await run_state_job(client)
        cold, cold_log = await run_state_job(client, env_overrides={"JOB_COLD": "1"})

    assert any("warm start" in m for m in warm_log), warm_log
    assert any(m.startswith("Starting the kernel cold: the job sets env_overrides") for m in cold_log), cold_log
    assert warm["cwd"] == str(jp_root_dir / "sub") and warm["rel"] == str(jp_root_dir / "sub" / "x")
    assert warm == cold


async def test_the_pool_fills_at_server_start_and_each_job_gets_a_kernel_no_job_used_before(
    mcp_client, notebooks, services
):
    executor = await started_executor(services)
    started_ahead = dict(await idle_runners(executor, 2))  # max_concurrent_jobs, before any job
    assert executor.describe()["warm_kernels"] == {"python3": 2}
    async with mcp_client() as client:
        first = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": "a"})
        second = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": "b"})
        statuses = [
            await tool(client, "manage_async_job", operation="status", job_id=r["job_id"]) for r in (first, second)
        ]

    assert [r["execution_status"] for r in (first, second)] == ["completed", "completed"]
    kernels = [s["runner"]["kernel_pid"] for s in statuses]
    runners = [s["runner"]["runner_pid"] for s in statuses]
    assert len(set(kernels)) == 2 and all(started_ahead.get(r) == k for r, k in zip(runners, kernels, strict=True))
    assert not any(process_alive(pid) for pid in kernels + runners)
    await idle_runners(executor, 2)  # filled again


async def test_stopping_the_jobs_leaves_no_idle_runner_or_kernel(services):
    pairs = await idle_runners(await started_executor(services), 2)
    await services.jobs.stop()

    async def all_gone() -> bool:
        return not any(process_alive(pid) for pair in pairs for pid in pair)

    await poll(all_gone, 10, "the idle runners and their kernels to end")
    assert not early_logs(services.jobs.state_dir)


async def test_an_idle_runner_killed_from_outside_leaves_no_kernel_and_jobs_still_run(mcp_client, notebooks, services):
    executor = await started_executor(services)
    (runner_pid, kernel_pid), _ = await idle_runners(executor, 2)
    os.kill(runner_pid, signal.SIGKILL)

    async def kernel_gone() -> bool:
        return not process_alive(kernel_pid)

    await poll(kernel_gone, 10, "the killed runner's kernel to exit")  # ipykernel watches its parent
    async with mcp_client() as client:
        for msg in ("a", "b", "c"):
            result = await tool(
                client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": msg}
            )
            assert result["execution_status"] == "completed", result


@pytest.mark.parametrize("executor_config", [{"warm_runners": 1, "warm_kernels": False}])
async def test_without_warm_kernels_runners_wait_without_a_kernel_and_jobs_start_cold(mcp_client, notebooks, services):
    executor = await started_executor(services)

    async def one_idle() -> bool:
        return len([r for r in executor._pool if r.pid]) == 1

    await poll(one_idle, 60, "an idle runner")
    (idle,) = executor._pool
    assert idle.kernel_name is None and not children(idle.pid)
    async with mcp_client() as client:
        result = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb", parameters={"msg": "x"})
        lines = [line["message"] for line in await job_lines(client, result["job_id"])]

    assert result["execution_status"] == "completed"
    assert any(m.startswith("Kernel python3 started (pid") for m in lines), lines


def test_only_local_ipykernel_kernelspecs_without_relative_paths_start_warm():
    ipykernel = {
        "argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "language": "python",
    }
    assert cold_reason(ipykernel) is None
    assert cold_reason({**ipykernel, "env": {"PYTHONPATH": "/opt/lib"}}) is None
    assert "not ipykernel" in (
        cold_reason({"argv": ["R", "--slave", "-f", "{connection_file}"], "language": "R"}) or ""
    )
    assert "not ipykernel" in (cold_reason({**ipykernel, "argv": ["python", "-m", "xeus_python"]}) or "")
    remote = {**ipykernel, "metadata": {"kernel_provisioner": {"provisioner_name": "docker-provisioner"}}}
    assert "docker-provisioner" in (cold_reason(remote) or "")
    assert "lib" in (cold_reason({**ipykernel, "env": {"PYTHONPATH": "lib/python"}}) or "")
    assert "./python" in (cold_reason({**ipykernel, "argv": ["./python", "-m", "ipykernel_launcher"]}) or "")
