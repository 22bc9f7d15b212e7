"""Processes by pid (shared by the server and the job process): identity, liveness and killing.

A job's runner and kernel outlive the server that started them (each has its own process
session), so the server finds them again by pid. A pid alone can be reused by an unrelated
process: a process is identified by its pid *and* its start time (``/proc/<pid>/stat`` field 22,
in clock ticks since boot). Where ``/proc`` does not exist the start time is ``None`` and only
the pid is checked.
"""

from __future__ import annotations

import os
import signal


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    return data[data.rfind(b")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot, or None if unknown/not running."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields is not None else None
    except (IndexError, ValueError):
        return None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0].decode() if fields else None


def is_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether process ``pid`` runs and (when ``started`` is given) is the one that started then.

    A zombie (exited, not yet reaped) counts as dead.
    """
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if os.path.isdir("/proc"):
        if _state(pid) in (None, "Z", "X"):
            return False
        if started is not None and start_time(pid) != started:
            return False
    return True


def signal_group(pid: int | None, sig: int, started: int | None = None) -> bool:
    """Send ``sig`` to the process group led by ``pid`` (or to ``pid`` alone if it leads none).

    Kernels and runners are started in their own session, so their pid is their process group
    id and the whole group (the kernel's own subprocesses included) gets the signal. Never
    signals this process's own group. Returns whether a signal was sent.
    """
    if not is_alive(pid, started):
        return False
    assert pid is not None
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return False
    try:
        if pgid == pid and pgid != os.getpgid(0):
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def kill_group(pid: int | None, started: int | None = None) -> bool:
    """SIGKILL the process group of ``pid`` (see ``signal_group``)."""
    return signal_group(pid, signal.SIGKILL, started)
