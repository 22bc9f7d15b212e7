"""MCP beyond tools: notebooks and jobs as resources with live updates (both protocol generations), long calls
as tasks, the MCP App views, resumable streams and log notifications.

``NativeFeatures`` builds the pieces before the ``MCPServer`` (which takes the subscription bus, the
middleware and the extensions at construction) and registers the rest once the tools are there
(``install``). Module by module:

- ``resources.py``: ``notebook://<path>`` and ``job://<id>``, ``resources/list``.
- ``subscriptions.py`` + ``sources.py``: who follows what, and where changes come from.
- ``tasks.py`` + ``task_store.py``: tasks of ``execute_notebook`` and ``execute_on_kernel``.
- ``apps/``: the MCP App views; ``log_messages.py``: ``logging/setLevel`` and log notifications;
  ``event_store.py``: resumable SSE streams; ``middleware.py``: what needs the whole message.
- ``identity.py``: who asks, and the Authorizer; ``uris.py``: the URIs.
- ``sdk.py``: every use of an MCP SDK internal, so that an SDK release that offers the piece replaces it there.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..services import Services
from .apps import build_apps
from .log_messages import LogMessages
from .middleware import NativeMiddleware
from .sources import ChangeSources
from .subscriptions import ReaderBus, Subscriptions
from .tasks import TaskService, TasksExtension

log = logging.getLogger(__name__)


class NativeFeatures:
    """Resources, subscriptions, tasks, Apps and log notifications of one MCP server.

    Parameters
    ----------
    services : Services
        The extension's services (notebooks, jobs, kernels) and the app's traits.
    event_logger
        The server's event bus (``serverapp.event_logger``); None follows no ContentsManager, job or
        kernel events (a server built for a unit test).
    """

    def __init__(self, services: Services, event_logger: Any = None) -> None:
        self.services = services
        self.event_logger = event_logger
        self.bus = ReaderBus()
        self.subscriptions = Subscriptions(services, self.bus)
        self.messages = LogMessages(event_logger)
        self.tasks: TaskService | None = None
        if services.jobs is not None:
            db_path = os.path.join(os.path.dirname(os.path.abspath(services.app.jobs_db_path)), "tasks.sqlite")
            self.tasks = TaskService(services, db_path, event_logger)
        self.apps, app_of_tool = build_apps()
        self._tool_names: set[str] = set()
        self.middleware = NativeMiddleware(
            self.subscriptions, self.tasks, self.messages, lambda: self._tool_names, app_of_tool
        )
        self.sources: ChangeSources | None = None

    def server_arguments(self) -> dict[str, Any]:
        """What ``MCPServer(...)`` takes from here."""
        extensions: list[Any] = [self.apps]
        if self.tasks is not None:
            extensions.append(TasksExtension(self.tasks))
        return {"subscriptions": self.bus, "middleware": [self.middleware], "extensions": extensions}

    def install(self, mcp: Any) -> None:
        """Register the resources and the handlers the SDK does not route, once the tools are registered."""
        from . import log_messages, resources, sdk, subscriptions

        self._tool_names = sdk.tool_names(mcp)
        kinds = resources.offered_kinds(self._tool_names)
        self.subscriptions.kinds = kinds
        resources.register(mcp, self.services, kinds)
        subscriptions.register(mcp, self.subscriptions)
        log_messages.register(mcp, self.messages)
        self.sources = ChangeSources(self.services, self.subscriptions, self.event_logger)

    def start(self) -> None:
        """With the server: open the task records (an execute_on_kernel task that ran before a restart ends
        as failed now) and follow the jobs of the tasks still running."""
        if self.tasks is not None:
            try:
                self.tasks.store  # noqa: B018 (opens it)
            except Exception:
                log.exception("The MCP task records %s cannot be opened; tasks will fail", self.tasks.db_path)

    async def close(self) -> None:
        await self.subscriptions.close()
        if self.sources is not None:
            await self.sources.close()
        if self.tasks is not None:
            await self.tasks.close()
        self.messages.close()


__all__ = ["NativeFeatures"]
