"""Notebook jobs on a Dask cluster (service layer, and the task the workers run).

``DaskJobExecutor`` is the server side (``executor``, its connection ``cluster`` and the jobs'
``messages``); ``task`` runs on the workers.
Needs the ``dask`` extra: ``pip install "jupyter-mcp-ext[dask]"``.

``DaskJobExecutor`` is imported on first use: the workers import this package for the task, and
they have neither the Jupyter server nor the rest of the extension's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .executor import DaskJobExecutor

__all__ = ["DaskJobExecutor"]


def __getattr__(name: str) -> Any:
    if name == "DaskJobExecutor":
        from .executor import DaskJobExecutor

        return DaskJobExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
