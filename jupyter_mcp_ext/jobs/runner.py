"""The job process's entry point (job process): ``python -m jupyter_mcp_ext.jobs.runner [--pipe]``.

It takes one job spec on its stdin and runs it (``job_run.JobRun``) in a process of its own.

``ProcessJobExecutor`` starts ``python -m jupyter_mcp_ext.jobs.runner`` ahead of need (a warm
runner: its imports, about 0.7 s, are paid before a job arrives), then writes one job spec as a
JSON line to its stdin. The runner forks: the child detaches into a session of its own and
runs the job, the parent prints ``{"pid": <child pid>, "start": <its start time>}`` and exits.
The job process is then nobody's child but init's, so it outlives a server restart and the
server follows it by pid, reading its job directory (see ``files``).

The same ``JobRun`` also runs a job whose notebook travels in memory (``DaskJobExecutor``: no
file system is shared with the server): ``python -m jupyter_mcp_ext.jobs.runner --pipe`` reads
the spec, with the notebook's JSON text as ``input_notebook``, as the first line of its stdin and
runs it without forking; its events, log lines and every save of the output notebook
(``{"notebook": <JSON text>}``) go to its stdout as JSON lines, and later stdin lines
(``{"stop": <reason>}``) stop it. End of stdin means the process that started it is gone: the
job stops and its kernel is killed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from typing import Any

from . import files, outcomes, process
from .job_run import ORIGINAL_PYTHONPATH, JobRun


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
    """Become a session leader with stdin from /dev/null and stdout/stderr to ``runner.log``."""
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
    from jupyter_client.manager import AsyncKernelManager  # noqa: F401


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


def main() -> int:
    """Warm up, wait for one job spec on stdin, fork the job process, report its pid, exit."""
    if sys.argv[1:] == ["--pipe"]:
        return pipe_main()
    _warm_up()

    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the server stopped (or dropped this warm runner) before giving it a job
    spec = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        sys.stdout.write(json.dumps({"pid": pid, "start": process.start_time(pid)}) + "\n")
        sys.stdout.flush()
        os._exit(0)
    code = 0
    try:
        _detach(spec["job_dir"])
        JobRun(spec).run()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
