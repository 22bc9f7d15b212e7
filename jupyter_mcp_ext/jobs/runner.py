"""The job process's entry point (job process): ``python -m jupyter_mcp_ext.jobs.runner [--pipe]``.

It takes one job spec on its stdin and runs it (``job_run.JobRun``) in a process of its own.

``ProcessJobExecutor`` starts ``python -m jupyter_mcp_ext.jobs.runner`` ahead of need (a warm
runner: its imports, about 0.7 s, are paid before a job arrives) and writes JSON lines to its
stdin. The job runs in a child of the runner, forked into a session of its own: it is then
nobody's child but init's, so it outlives a server restart and the server follows it by pid,
reading its job directory (see ``files``). Two ways:

- ``{"warm": {"kernel_name", "kernelspec"} | null}`` first: the runner forks the job process at
  once and prints ``{"runner_pid", "runner_start"}`` (the job process) and exits. The job process
  starts the kernelspec's kernel (``warm_kernel``) and waits for the job spec, the next line; it
  prints ``{"pid", "start"}`` when it has it, and takes the warm kernel if the job would get the
  same kernel cold. End of stdin before a job (the server stopped, or dropped it) kills the kernel.
- a job spec first: the runner forks the job process, prints its ``{"pid", "start"}`` and exits;
  the kernel starts cold.

Either way the job process keeps the stdout pipe, non-blocking, and writes a newline to it after
each event it records, so that the server reads the events at once (``JobRun.nudge_fd``).

The same ``JobRun`` also runs a job whose notebook travels in memory (``DaskJobExecutor``: no
file system is shared with the server): ``python -m jupyter_mcp_ext.jobs.runner --pipe`` reads
the spec, with the notebook's JSON text as ``input_notebook``, as the first line of its stdin and
runs it without forking; its events, log lines and every save of the output notebook
(``{"notebook": <JSON text>}``) go to its stdout as JSON lines, and later stdin lines
(``{"stop": <reason>}``) stop it. End of stdin means the process that started it is gone: the
job stops and its kernel is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from typing import Any

from . import files, outcomes, process
from .job_run import ORIGINAL_PYTHONPATH, JobRun, restore_environment
from .warm_kernel import WarmKernel


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a runner process started from ``env``: this package's directory first on
    PYTHONPATH (so the runner imports the same code as its parent, installed or not), and the
    original PYTHONPATH kept aside for the runner to restore before it starts the kernel."""
    import jupyter_mcp_ext

    env = dict(env)
    original = env.get("PYTHONPATH", "")
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(jupyter_mcp_ext.__file__)))
    env[ORIGINAL_PYTHONPATH] = original
    env["PYTHONPATH"] = package_root + (os.pathsep + original if original else "")
    return env


def _detach(job_dir: str) -> None:
    """Become a session leader (if not yet) with stdin from /dev/null and stdout/stderr to ``runner.log``."""
    if os.getsid(0) != os.getpid():
        os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(os.path.join(job_dir, files.RUNNER_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def _warm_up() -> None:
    """Import what a job needs before the job arrives."""
    # jsonschema (imported by nbformat) builds an IRI grammar at import when rfc3987_syntax is
    # installed: 1.4 s of the 2.1 s that importing papermill costs. Notebook validation uses no
    # IRI formats, so the runner goes without it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbclient  # noqa: F401
    import papermill  # noqa: F401
    import papermill.engines  # noqa: F401
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager  # noqa: F401

    # The first kernelspec lookup imports ipykernel's kernelspec module (30-60 ms): a job whose
    # kernel is found by name (on a Dask worker) then does not wait for it.
    try:
        KernelSpecManager().get_kernel_spec(NATIVE_KERNEL_NAME)
    except Exception:
        pass


def _compile_validators() -> None:
    """Compile nbformat's validators of every nbformat 4 version, as a job's loads and saves of
    its notebook would on first use (about 80 ms each): done while the runner waits for its job."""
    try:
        import nbformat
        from nbformat.validator import get_validator

        for minor in range(nbformat.v4.nbformat_minor + 1):
            get_validator(4, minor)
    except Exception:
        pass


def _read_commands(run: JobRun) -> None:
    """``--pipe`` mode: stop commands from stdin; its end means the parent is gone."""
    for line in sys.stdin:
        try:
            command = json.loads(line)
        except ValueError:
            continue
        reason = command.get("stop") if isinstance(command, dict) else None
        if reason is not None:
            threading.Thread(
                target=run.stop, args=(reason if reason in outcomes.STOP_REASONS else "cancel",), daemon=True
            ).start()
    if not run.done.is_set():
        run.stop("cancel")  # nobody follows the job any more: stop it, kill its kernel


class _PipeSink(files.LogWriter):
    """The ``--pipe`` protocol stream: once the parent is gone, writes are dropped (the job still
    has to stop and kill its kernel)."""

    def write(self, record: dict[str, Any]) -> None:
        try:
            super().write(record)
        except (OSError, ValueError):
            pass


def pipe_main() -> int:
    """``--pipe``: warm up, read one in-memory job spec from stdin, run it here, report on stdout."""
    # The protocol keeps the original stdout; the kernel and any library writing to fd 1 get
    # stderr instead, so that nothing but JSON lines reaches the parent.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _warm_up()
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # dismissed before it got a job
    spec = json.loads(line)
    sink = _PipeSink(stream=protocol)
    code = 0
    try:
        run = JobRun(spec, sink=sink)
        threading.Thread(target=_read_commands, args=(run,), daemon=True).start()
        run.run()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            protocol.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _fork(report: str) -> None:
    """Fork; the parent prints the child's pid and start time as ``{"<report>_pid", ...}`` (or
    ``{"pid", "start"}``) and exits, the child returns in a session of its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        pid_key, start_key = ("pid", "start") if report == "job" else (f"{report}_pid", f"{report}_start")
        sys.stdout.write(json.dumps({pid_key: pid, start_key: process.start_time(pid)}) + "\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()


def _nudge_fd() -> int:
    """A non-blocking copy of stdout (the pipe to the server), for ``JobRun.nudge_fd``."""
    fd = os.dup(1)
    os.set_blocking(fd, False)
    return fd


def _run(spec: dict[str, Any], nudge_fd: int, warm_kernel: WarmKernel | None = None) -> None:
    """Run the job in this (job) process and exit."""
    code = 0
    try:
        _detach(spec["job_dir"])
        JobRun(spec, warm_kernel=warm_kernel, nudge_fd=nudge_fd).run()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _wait_warm(warm: dict[str, Any] | None) -> None:
    """The job process of a warm runner: start the kernel ahead, wait for the job, run it."""
    # Until the job comes, this process and its kernel write to a log of their own (the pipe to
    # the server carries the protocol only); the job's directory then takes that file over.
    protocol = os.dup(1)
    early_log = os.path.abspath(f"runner-{os.getpid()}.log")
    out = os.open(early_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    restore_environment()
    kernel = None
    if warm and warm.get("kernel_name"):
        kernel = WarmKernel(warm["kernel_name"], warm.get("kernelspec") or {})
        try:
            kernel.start()
        except Exception:
            traceback.print_exc()
            kernel.discard()
    _compile_validators()
    line = sys.stdin.readline()
    if not line.strip():
        # The server stopped, or dropped this runner, before giving it a job.
        if kernel is not None:
            kernel.discard()
        with contextlib.suppress(OSError):
            os.remove(early_log)
        os._exit(0)
    spec = json.loads(line)
    os.write(protocol, (json.dumps({"pid": os.getpid(), "start": process.start_time(os.getpid())}) + "\n").encode())
    os.set_blocking(protocol, False)
    with contextlib.suppress(OSError):
        os.replace(early_log, os.path.join(spec["job_dir"], files.RUNNER_LOG))
    _run(spec, protocol, kernel)


def main() -> int:
    """Warm up, then run one job in a forked job process (see the module's docstring)."""
    if sys.argv[1:] == ["--pipe"]:
        return pipe_main()
    _warm_up()

    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the server stopped (or dropped this warm runner) before giving it a job
    message = json.loads(line)
    if "warm" in message:
        _fork("runner")
        _wait_warm(message["warm"])
    _fork("job")
    _run(message, _nudge_fd())
    return 0


if __name__ == "__main__":
    sys.exit(main())
