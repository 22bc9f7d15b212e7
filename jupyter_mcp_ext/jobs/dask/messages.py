"""A Dask job's messages from its worker (service layer): in order, recorded, replayed.

Each is applied once, in order of its ``seq``, recorded in the job's directory, and replayed from
the scheduler's history after a reconnect or a server restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import files

if TYPE_CHECKING:
    from .executor import _Active


class JobMessages:
    """The messages of the jobs a ``DaskJobExecutor`` follows.

    The worker numbers each message of a job (``seq``): a batch of log lines (``kind: "logs"``) or
    an event (``kind: "event"``). They arrive on the job's Dask topic as they happen, and again from
    the topic's history on a replay; each is applied once, in order (``active.applied_seq``,
    ``active.pending``). Log lines go to the job's log; events, numbered, to its events file (what
    a restarted server reads back with ``recorded``) and to the job service.

    Parameters
    ----------
    job_dir, append, job_log
        The executor's: a job's directory, appending JSON lines to one of its files, a line of the
        server's own in its log.
    on_event : callable
        The executor's event sink (the job service's).
    on_output_saved : callable
        ``on_output_saved(active)``: the worker saved the output notebook again (the executor
        fetches it and stages it for the job service).
    connect_timeout : float
        Seconds to wait for the scheduler's history of a job.
    """

    def __init__(
        self,
        *,
        job_dir: Callable[[str], str],
        append: Callable[[str, str, list[dict[str, Any]]], None],
        job_log: Callable[[str, str, str], None],
        on_event: Callable[[str, dict[str, Any]], None],
        on_output_saved: Callable[[_Active], None],
        connect_timeout: float,
        log: logging.Logger | Any,
    ) -> None:
        self.job_dir = job_dir
        self.append = append
        self.job_log = job_log
        self.on_event = on_event
        self.on_output_saved = on_output_saved
        self.connect_timeout = connect_timeout
        self.log = log

    def recorded(self, job_id: str) -> tuple[int, dict[str, Any] | None, str | None]:
        """From the job's event file: the last message applied, its worker and its output path."""
        seq, worker, output = 0, None, None
        for record in files.JsonLinesTail(os.path.join(self.job_dir(job_id), files.EVENTS)).read_new():
            seq = max(seq, int(record.get("seq") or 0))
            if record.get("event") == "worker":
                worker = record
            if record.get("output_api_path"):
                output = record["output_api_path"]
        return seq, worker, output

    def subscribe(self, client: Any, active: _Active) -> None:
        def handler(event: tuple[float, Any]) -> None:
            message = event[1]
            if isinstance(message, dict):
                self._receive(active, message)

        client.subscribe_topic(active.name, handler)
        # What the job's own file records: where its output goes (for a restart).
        self._record(active.job_id, {"event": "submitted", "t": time.time(), "output_api_path": active.output_api_path})

    async def replay(self, client: Any, active: _Active) -> None:
        """Apply the messages the scheduler still holds that this server has not applied yet."""
        try:
            history = await asyncio.wait_for(client.get_events(active.name), self.connect_timeout)
        except Exception as e:
            self.log.warning("Could not read the history of job %s from the scheduler: %s", active.job_id, e)
            return
        for _, message in history:
            if isinstance(message, dict):
                self._receive(active, message)
        self._skip_gap(active)

    def _receive(self, active: _Active, message: dict[str, Any]) -> None:
        seq = int(message.get("seq") or 0)
        if seq <= active.applied_seq or active.done.is_set():
            return
        active.pending[seq] = message
        while active.applied_seq + 1 in active.pending:
            self._apply(active, active.pending.pop(active.applied_seq + 1))

    def _skip_gap(self, active: _Active) -> None:
        """Apply what is pending past a gap (messages the scheduler's history no longer holds)."""
        if not active.pending:
            return
        first = min(active.pending)
        missing = first - active.applied_seq - 1
        if missing > 0:
            self.job_log(
                active.job_id,
                "warning",
                f"{missing} message(s) of the job (log lines or progress) were no longer held by the scheduler "
                "and are missing here.",
            )
            active.applied_seq = first - 1
        while active.applied_seq + 1 in active.pending:
            self._apply(active, active.pending.pop(active.applied_seq + 1))

    def _apply(self, active: _Active, message: dict[str, Any]) -> None:
        active.applied_seq = int(message["seq"])
        active.progressed.set()
        kind = message.get("kind")
        if kind == "logs":
            self._write_lines(active.job_id, message.get("lines") or [])
            self._record(active.job_id, {"seq": active.applied_seq})
        elif kind == "event":
            event = dict(message.get("event") or {})
            if event.get("event") == "worker":
                active.worker = event
            self._record(active.job_id, {**event, "seq": active.applied_seq})
            if event.get("event") == "output_saved":
                # The job service hears of it once the executor has staged the notebook: told now,
                # its output writer would find nothing new and then wait its interval before the real write.
                self.on_output_saved(active)
            else:
                self.on_event(active.job_id, event)

    def _record(self, job_id: str, record: dict[str, Any]) -> None:
        self.append(job_id, files.EVENTS, [record])

    def _write_lines(self, job_id: str, lines: list[dict[str, Any]]) -> None:
        records = [
            {"t": line.get("t"), "level": line.get("level", "info"), "message": line.get("message", "")}
            for line in lines
        ]
        self.append(job_id, files.LOG, records)
