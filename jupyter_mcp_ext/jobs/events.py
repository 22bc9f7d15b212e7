"""Job change events on Jupyter Server's event system (service layer): one per change a watcher sees.

``JobService`` reports every save of a job record here; this module compares the record with
what it last announced for that job and emits an event (schema ``events/job.yaml``) only when
the status, the progress or the message changed — so a saved runner pid emits nothing, and an
idle server emits nothing at all.
"""

from __future__ import annotations

import logging
from typing import Any

from ..events import JOB_EVENT_SCHEMA_ID, register_schemas
from .models import FINISHED_STATUSES, Job

_Snapshot = tuple[str, int, int, int | None, bool, str | None]


def _snapshot(job: Job) -> _Snapshot:
    current = job.progress.current_cell
    return (
        job.status,
        job.progress.cells_total,
        job.progress.cells_executed,
        current.index if current else None,
        current is not None,
        job.message,
    )


class JobEvents:
    """Emits ``https://events.jupyter.org/jupyter_mcp_ext/job/v1`` events on an ``EventLogger``.

    Parameters
    ----------
    event_logger : jupyter_events.EventLogger or None
        The server's ``serverapp.event_logger``; None emits nothing (a service built without a
        server, in tests of the service alone). The schema is registered here.
    """

    def __init__(self, event_logger: Any, log: logging.Logger | None = None) -> None:
        self.event_logger = event_logger
        self.log = log or logging.getLogger(__name__)
        self._last: dict[str, _Snapshot] = {}
        if event_logger is not None:
            register_schemas(event_logger)

    def seed(self, jobs: Any) -> None:
        """Remember the state of jobs loaded from the store, without announcing them."""
        for job in jobs:
            self._last[job.job_id] = _snapshot(job)

    def forget_all(self) -> None:
        self._last.clear()

    def changed(self, job: Job) -> None:
        """Announce ``job``'s record if its status, progress or message changed since the last event."""
        snapshot = _snapshot(job)
        previous = self._last.get(job.job_id)
        if snapshot == previous:
            return
        self._last[job.job_id] = snapshot
        if previous is None:
            action = "created"
        elif previous[0] != job.status and job.status in FINISHED_STATUSES:
            action = "finished"
        elif previous[0] == "queued" and job.status == "running":
            action = "started"
        elif previous[1:5] != snapshot[1:5]:
            action = "progress"
        else:
            action = "updated"
        self._emit(action, job)

    def deleted(self, job: Job) -> None:
        """Announce that ``job``'s record was deleted."""
        self._last.pop(job.job_id, None)
        self._emit("deleted", job)

    def _emit(self, action: str, job: Job) -> None:
        if self.event_logger is None:
            return
        current = job.progress.current_cell
        starter = job.started_by
        error = job.error
        data = {
            "action": action,
            "job_id": job.job_id,
            "status": job.status,
            "notebook_path": job.notebook_path,
            "output_path": job.output_path,
            "cells_total": job.progress.cells_total,
            "cells_executed": job.progress.cells_executed,
            "percent": job.progress.percent,
            "cell_running": current is not None,
            "current_cell_index": current.index if current else None,
            "message": job.message,
            "error_reason": error.reason if error else None,
            "started_by": starter.via if starter else None,
            "client_name": starter.client_name if starter else None,
        }
        try:
            self.event_logger.emit(schema_id=JOB_EVENT_SCHEMA_ID, data=data)
        except Exception:
            # An event is a notification: a failing handler of the operator's must not fail the job.
            self.log.exception("Could not emit the %s event of job %s", action, job.job_id)
