"""Log notifications (``notifications/message``) for what an agent should hear, and ``logging/setLevel``, in
2025-11-25 sessions (the 2026-07-28 protocol dropped both: it logs only within a request that asks).

What is said: a kernel was restarted (its variables are gone), and a notebook job ended other than
completed (failed, timed out, cancelled) or completed. Each goes to the sessions whose identity may read
kernels, at or above the level the session set (``DEFAULT_LEVEL`` until it sets one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, get_args

from mcp_types import (
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    SetLevelRequestParams,
)

from ..events import JOB_EVENT_SCHEMA_ID
from . import sdk
from .identity import Reader, reader_of

log = logging.getLogger(__name__)

KERNEL_ACTIONS_SCHEMA_ID = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
LEVELS: tuple[str, ...] = get_args(LoggingLevel)
#: The least severe level a session hears before it calls logging/setLevel.
DEFAULT_LEVEL = "warning"
#: The logger name of our messages.
LOGGER = "jupyter-mcp-ext"

#: A finished job's status -> the level of its message.
JOB_LEVELS = {"completed": "info", "cancelled": "notice", "failed": "warning", "timeout": "warning"}


@dataclass
class _Listener:
    session: Any
    reader: Reader
    level: str = DEFAULT_LEVEL


class LogMessages:
    """The 2025-11-25 sessions of the server and the level each wants; sends them log notifications."""

    def __init__(self, event_logger: Any = None) -> None:
        self.event_logger = event_logger
        self._sessions: dict[int, _Listener] = {}
        if event_logger is not None:
            event_logger.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA_ID, listener=self._on_kernel_event)
            event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=self._on_job_event)

    def seen(self, ctx: Any) -> None:
        """Note a request of a handshake session (the middleware calls this for each)."""
        key = sdk.connection_key(ctx.session)
        if key not in self._sessions:
            self._sessions[key] = _Listener(ctx.session, reader_of(ctx))
            sdk.on_session_end(ctx.session, lambda: self.forget(key))

    def forget(self, key: int) -> None:
        """Forget a session that ended."""
        self._sessions.pop(key, None)

    async def set_level(self, ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        """``logging/setLevel``: this session hears messages at ``params.level`` and above."""
        self.seen(ctx)
        self._sessions[sdk.connection_key(ctx.session)].level = params.level
        return EmptyResult()

    async def say(self, level: str, data: Any, *, permission: tuple[str, str] = ("read", "kernels")) -> int:
        """Send ``data`` at ``level`` to each session that wants that level and may ``permission``; returns how
        many were told."""
        rank = LEVELS.index(level)
        told = 0
        for listener in list(self._sessions.values()):
            if rank < LEVELS.index(listener.level) or not await listener.reader.may(*permission):
                continue
            notification = LoggingMessageNotification(
                params=LoggingMessageNotificationParams(level=level, logger=LOGGER, data=data)  # type: ignore[arg-type]
            )
            try:
                await listener.session.send_notification(notification)
                told += 1
            except Exception:
                log.debug("Could not send a log message", exc_info=True)
        return told

    async def _on_kernel_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("action") == "restart" and data.get("status") == "success" and self._sessions:
            kernel = data.get("kernel_id") or "?"
            await self.say(
                "warning",
                {
                    "event": "kernel_restarted",
                    "kernel_id": kernel,
                    "kernel_name": data.get("kernel_name"),
                    "message": f"Kernel {kernel} ({data.get('kernel_name')}) was restarted: its variables are gone; "
                    "re-run what it needs before relying on them.",
                },
            )

    async def _on_job_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("action") != "finished" or not self._sessions:
            return
        status = str(data.get("status"))
        job_id = data.get("job_id")
        message = f"Notebook job {job_id} ({data.get('notebook_path')}) ended {status}"
        if data.get("message"):
            message += f": {data['message']}"
        await self.say(
            JOB_LEVELS.get(status, "warning"),
            {
                "event": "job_finished",
                "job_id": job_id,
                "status": status,
                "notebook_path": data.get("notebook_path"),
                "output_path": data.get("output_path"),
                "message": message,
            },
        )

    def close(self) -> None:
        if self.event_logger is not None:
            self.event_logger.remove_listener(schema_id=KERNEL_ACTIONS_SCHEMA_ID, listener=self._on_kernel_event)
            self.event_logger.remove_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=self._on_job_event)
        self._sessions.clear()


def register(mcp: Any, messages: LogMessages) -> None:
    """Serve ``logging/setLevel`` (2025-11-25 sessions; the SDK then declares the logging capability)."""
    sdk.add_request_handler(mcp, "logging/setLevel", SetLevelRequestParams, messages.set_level)


__all__ = ["DEFAULT_LEVEL", "LogMessages", "register"]
