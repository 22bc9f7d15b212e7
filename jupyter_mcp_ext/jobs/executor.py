"""Job executors: what runs a notebook job. The default runs each job in its own process."""

from __future__ import annotations


class JobExecutor:
    """Base class of job executors (the ``job_executor_class`` trait)."""


class ProcessJobExecutor(JobExecutor):
    """Runs each job in its own Papermill process."""
