"""The outcome a job ends with, in one shape (shared by the server, the job process and the workers).

The runners, the Dask task and both executors build their stopped and failed outcomes here;
standard library only, as the workers import it.

An outcome is a dict: ``status`` (completed / failed / timeout / cancelled), ``error`` (``type``,
``message``, ``reason`` as ``JobError`` has them, or None) and ``note``; a runner adds its four cell
counts, and a cell's error where it stands.
"""

from __future__ import annotations

from typing import Any

#: Why a job is stopped on request; a runner's ``stop`` file or stop command holds one of them.
STOP_REASONS = ("cancel", "timeout", "server_shutdown")


def failed(reason: str, message: str, type_: str) -> dict[str, Any]:
    """The outcome of a failed job: ``reason`` as ``JobError.reason`` (``runner_lost``,
    ``internal_error``, ...), ``type_`` the error's type name."""
    return {"status": "failed", "error": {"type": type_, "message": message, "reason": reason}, "note": None}


def stopped(reason: str, timeout_seconds: float, *, cancelled: str, where: str = "") -> dict[str, Any]:
    """The outcome of a job stopped on request.

    ``reason``: ``cancel`` (the outcome's note is then ``cancelled``), ``timeout`` or
    ``server_shutdown`` (any other reason is taken as that). ``timeout_seconds``: the job's timeout,
    named in the message. ``where`` ends the message, e.g. ``" at cell 3"``.
    """
    if reason == "cancel":
        return {"status": "cancelled", "error": None, "note": cancelled}
    if reason == "timeout":
        message = f"The job ran longer than timeout_seconds={timeout_seconds:g} and was stopped{where}."
        return {
            "status": "timeout",
            "error": {"type": "Timeout", "message": message, "reason": "timeout"},
            "note": None,
        }
    message = f"The Jupyter server shut down while the job was running; it was stopped{where}."
    return failed("server_shutdown", message, "ServerShutdown")
