"""Notebook jobs on a Dask cluster: ``DaskJobExecutor`` (the server side) and the task it runs on
the workers (``task``). Needs the ``dask`` extra: ``pip install "jupyter-mcp-ext[dask]"``."""

from __future__ import annotations

from .executor import DaskJobExecutor

__all__ = ["DaskJobExecutor"]
