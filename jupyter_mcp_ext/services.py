"""The container of services (extension layer) that the MCP tools and REST handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .extension import MCPExtensionApp
    from .notebooks.service import NotebookService


@dataclass
class Services:
    """What ``MCPExtensionApp.initialize_settings`` builds: one instance per server.

    ``kernels``, ``jobs`` and ``changes`` are the kernel, job and agent-change services (typed ``Any``
    so that each package stays importable on its own; ``changes`` is None when the operator turned the
    record off); ``lab`` is what JupyterLab reports of the person's focus (``lab.service.LabContext``);
    ``native`` is what the MCP server offers beyond tools (``mcp_native.NativeFeatures``: resources,
    subscriptions, tasks, App views, log notifications), set when the MCP server is built;
    ``app`` is the extension, for its config traits.
    """

    app: MCPExtensionApp
    notebooks: NotebookService
    kernels: Any = None
    jobs: Any = None
    changes: Any = None
    lab: Any = None
    native: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        """Start the services' background work (those that have a ``start`` coroutine)."""
        for service in (self.kernels, self.jobs):
            start = getattr(service, "start", None)
            if start is not None:
                await start()

    async def stop(self) -> None:
        """Stop the services' background work, jobs first (they may hold kernels), then close the
        change record."""
        for service in (self.jobs, self.kernels):
            stop = getattr(service, "stop", None)
            if stop is not None:
                await stop()
        if self.changes is not None:
            self.changes.close()
