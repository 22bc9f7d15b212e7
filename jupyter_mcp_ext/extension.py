"""MCPExtensionApp: the Jupyter Server extension, its configuration traits, wiring and lifecycle."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, Type, Unicode, default

from . import __version__
from .handlers import StatusHandler
from .jobs.executor import ProcessJobExecutor
from .metrics import ACTIVE_KERNELS_GAUGE
from .notebooks.service import NotebookService
from .services import Services
from .transport import MCPHandler

#: Environment variables ``JUPYTER_MCP_<TRAIT NAME IN UPPER CASE>`` override these traits.
ENV_PREFIX = "JUPYTER_MCP_"


class MCPExtensionApp(ExtensionApp):
    """Serves MCP (Model Context Protocol) at ``<base_url>mcp`` from the running Jupyter Server.

    The MCP tools use the server's own ContentsManager, MultiKernelManager, SessionManager,
    authentication and Authorizer. Every trait below can be set in ``jupyter_server_config.py``
    (``c.MCPExtensionApp.max_kernels = 5``), on the command line
    (``--MCPExtensionApp.max_kernels=5``), or by an environment variable
    ``JUPYTER_MCP_MAX_KERNELS=5``, which wins over both.
    """

    name = "jupyter_mcp_ext"
    load_other_extensions = True
    mcp_path = "mcp"

    # -- the MCP endpoint ------------------------------------------------------------------

    session_idle_timeout = Float(
        1800.0,
        config=True,
        help="Seconds after which an idle MCP session (no request in flight, no open GET stream) is closed; "
        "its client then starts a new one. Default 1800. 0 keeps sessions until the client deletes them.",
    )
    max_request_body_bytes = Int(
        64 * 1024 * 1024,
        config=True,
        help="Largest MCP request body accepted, in bytes (HTTP 413 above). Default 64 MiB, enough to write a "
        "large notebook in one call.",
    )
    max_source_chars = Int(
        2_000_000,
        config=True,
        help="Largest cell source a tool accepts, in characters. Default 2,000,000. 0 means no limit.",
    )
    enable_legacy_tool_names = Bool(
        False,
        config=True,
        help="Also serve the older tool names of the standalone jupyter-papermill MCP server (read_cell, "
        "execute_cell, list_jobs, ...) as deprecated aliases. Default False: the tool list stays short.",
    )
    allow_server_shutdown = Bool(
        False,
        config=True,
        help="Let an MCP client shut the Jupyter server down with stop_jupyter_server. Default False.",
    )
    log_level_mcp = Enum(
        ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        "WARNING",
        config=True,
        help="Level of the MCP SDK's own loggers (mcp.*). Default WARNING: per-request INFO lines are costly "
        "and noisy inside Jupyter Server. Environment: JUPYTER_MCP_LOG_LEVEL.",
    )

    # -- kernels ---------------------------------------------------------------------------

    max_kernels = Int(
        10,
        config=True,
        help="Most kernels the server may run at once when start_kernel is asked for another (kernels started "
        "from JupyterLab count too). Default 10. 0 means no limit.",
    )
    execution_timeout = Float(
        60.0,
        config=True,
        help="Default timeout of execute_on_kernel, in seconds, when a call gives none. At the timeout the "
        "kernel is interrupted and the partial outputs are returned. Default 60. 0 means no timeout.",
    )
    jupyter_timeout = Float(
        300.0,
        config=True,
        help="Seconds to wait for a kernel to start or restart before giving up. Default 300.",
    )
    continue_on_error = Bool(
        False,
        config=True,
        help="execute_on_kernel(mode='notebook'): keep running the next cells after a cell raises. Default "
        "False (stop at the first error); each call may override it.",
    )
    max_output_chars = Int(
        20_000,
        config=True,
        help="Budget of text returned per execution, in characters; longer output is cut with a marker "
        "saying how much was cut. Default 20,000. 0 means no limit.",
    )
    error_output_type = Enum(
        ["full", "short"],
        "full",
        config=True,
        help="Tracebacks in execution results: 'full' (every frame) or 'short' (the last frame and the "
        "error line). Default 'full'.",
    )
    max_error_output = Int(
        5_000,
        config=True,
        help="Largest traceback returned, in characters (ANSI colour codes are stripped first). "
        "Default 5,000. 0 means no limit.",
    )
    max_image_bytes = Int(
        2 * 1024 * 1024,
        config=True,
        help="Largest image (PNG/JPEG) returned as MCP image content, in bytes; a larger one is replaced "
        "by a note. Default 2 MiB. 0 means no images are returned.",
    )
    kernel_idle_timeout = Float(
        0.0,
        config=True,
        help="Seconds after which an idle kernel started by an MCP tool is shut down. Default 0: never "
        "(use the server's MappingKernelManager.cull_idle_timeout for all kernels).",
    )
    cleanup_interval = Float(
        300.0,
        config=True,
        help="Seconds between checks for idle MCP kernels when kernel_idle_timeout is set. Default 300.",
    )

    # -- notebook jobs (Papermill) ---------------------------------------------------------

    output_directory = Unicode(
        "",
        config=True,
        help="Directory (relative to the server root) for executed notebooks when execute_notebook gets no "
        "output_path. Default '': beside the input notebook, as <name>_output.ipynb.",
    )
    max_concurrent_jobs = Int(
        2,
        config=True,
        help="Most notebook jobs running at once; further jobs wait as 'queued'. Default 2.",
    )
    job_timeout = Float(
        300.0,
        config=True,
        help="Default timeout_seconds of a notebook job (the whole run), in seconds. Default 300.",
    )
    jobs_db_path = Unicode(
        "",
        config=True,
        help="SQLite file holding job records. Default '': jupyter_mcp_ext/jobs.sqlite under the Jupyter "
        "data directory.",
    )
    job_executor_class = Type(
        default_value=ProcessJobExecutor,
        klass="jupyter_mcp_ext.jobs.executor.JobExecutor",
        config=True,
        help="The executor that runs notebook jobs. Default: one Papermill process per job.",
    )

    # ----------------------------------------------------------------------------------------

    # Set by ensure_mcp_running; class-level so that stop_extension works even when
    # initialize_settings failed half-way.
    _mcp_task: asyncio.Task[None] | None = None
    _mcp_ready: asyncio.Event | None = None
    _mcp_stop: asyncio.Event | None = None
    services: Services | None = None

    @default("jobs_db_path")
    def _default_jobs_db_path(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "jupyter_mcp_ext", "jobs.sqlite")

    def _apply_env_overrides(self) -> None:
        """Set traits from ``JUPYTER_MCP_*`` environment variables (they win over config files)."""
        aliases = {"LOG_LEVEL": "log_level_mcp"}
        for key, value in os.environ.items():
            if not key.startswith(ENV_PREFIX):
                continue
            suffix = key[len(ENV_PREFIX) :]
            name = aliases.get(suffix, suffix.lower())
            trait = self.traits(config=True).get(name)
            if trait is None:
                continue
            try:
                setattr(self, name, trait.from_string(value))
            except Exception as e:
                self.log.warning("Ignoring %s=%r: %s", key, value, e)

    def initialize_settings(self) -> None:
        """Build the services and the MCP server; handlers find them in the tornado settings."""
        import logging

        from .server import build_mcp_server

        self._apply_env_overrides()
        logging.getLogger("mcp").setLevel(self.log_level_mcp)
        serverapp = self.serverapp
        assert serverapp is not None, "initialize_settings runs after the extension is linked to a server"
        notebooks = NotebookService(
            serverapp.contents_manager,
            serverapp.kernel_spec_manager,
            max_source_chars=self.max_source_chars,
            log=self.log,
        )
        services = self.services = Services(app=self, notebooks=notebooks)
        kernel_manager = serverapp.kernel_manager
        ACTIVE_KERNELS_GAUGE.set_function(lambda: len(kernel_manager.list_kernel_ids()))
        from .jobs.service import JobService
        from .kernels.service import KernelService

        services.kernels = KernelService.from_app(self, services)
        services.jobs = JobService.from_app(self, services)
        self.mcp = build_mcp_server(services)
        from mcp.server.transport_security import TransportSecuritySettings

        # Jupyter Server checks Host and Origin for every handler (ServerApp.allow_origin,
        # allow_remote_access, local_hostnames); the SDK's own guard would second-guess a
        # reverse proxy's Host, so it is switched off here.
        self.mcp.streamable_http_app(
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=self.max_request_body_bytes,
            session_idle_timeout=self.session_idle_timeout or None,
        )
        self.settings.update(
            {
                "jupyter_mcp_ext_app": self,
                "jupyter_mcp_ext_services": services,
            }
        )

    def initialize_handlers(self) -> None:
        """Route ``<base_url>mcp`` to the MCP transport and the REST API under ``jupyter-mcp-ext/``."""
        from .jobs.handlers import default_handlers as job_handlers

        self.handlers.extend(
            [
                (rf"/{self.mcp_path}/?", MCPHandler),
                (r"/jupyter-mcp-ext/status", StatusHandler),
                *job_handlers,
            ]
        )

    async def ensure_mcp_running(self) -> None:
        """Start the SDK's session manager once, in a task of its own (``run()`` must be entered
        and left in the same task); later calls wait until it is ready."""
        if self._mcp_task is None:
            self._mcp_ready = asyncio.Event()
            self._mcp_stop = asyncio.Event()
            self._mcp_task = asyncio.create_task(self._run_session_manager(), name="jupyter_mcp_ext.mcp")
        assert self._mcp_ready is not None
        if not self._mcp_ready.is_set():
            waiter = asyncio.ensure_future(self._mcp_ready.wait())
            done, _ = await asyncio.wait({waiter, self._mcp_task}, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
                self._mcp_task.result()  # re-raise what stopped it

    async def _run_session_manager(self) -> None:
        assert self._mcp_ready is not None and self._mcp_stop is not None and self.serverapp is not None
        settings = self.serverapp.web_app.settings
        async with self.mcp.session_manager.run():
            settings["jupyter_mcp_ext_session_manager"] = self.mcp.session_manager
            self._mcp_ready.set()
            await self._mcp_stop.wait()
            settings.pop("jupyter_mcp_ext_session_manager", None)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the MCP session manager and the services' background work with the server."""
        await self.ensure_mcp_running()
        assert self.services is not None
        await self.services.start()
        self.log.info("jupyter_mcp_ext %s | MCP endpoint at %s%s", __version__, serverapp.connection_url, self.mcp_path)

    async def stop_extension(self) -> None:
        """Stop the services and the MCP session manager, so that Ctrl-C / SIGTERM is prompt."""
        if self.services is not None:
            await self.services.stop()
        if self._mcp_task is not None and self._mcp_stop is not None:
            self._mcp_stop.set()
            try:
                await asyncio.wait_for(self._mcp_task, timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._mcp_task.cancel()
            except Exception:
                self.log.exception("The MCP session manager stopped with an error")
            self._mcp_task = None
