"""MCPExtensionApp (extension layer): the Jupyter Server extension, its traits, wiring and lifecycle."""

from __future__ import annotations

import asyncio
import json
import math
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, TraitError, Type, Unicode, default, validate

from . import __version__
from .config import (
    ENV_PREFIX,
    JUPYTER_CONFIG,
    ConfigurationError,
    apply_overrides,
    jupyter_config_problems,
    unknown,
)
from .handlers import ConnectHandler, StatusHandler
from .jobs.executor import ProcessJobExecutor
from .lab.service import LabContext
from .logs import attach_to_server_log, install_trust_filter
from .metrics import ACTIVE_KERNELS_GAUGE
from .notebooks.live import LiveDocuments
from .notebooks.presence import Presence
from .notebooks.service import NotebookService
from .services import Services
from .transport import MCPHandler

__all__ = ["ENV_PREFIX", "MCPExtensionApp"]


class MCPExtensionApp(ExtensionApp):
    """Serves MCP (Model Context Protocol) at ``<base_url>mcp`` from the running Jupyter Server.

    The MCP tools use the server's own ContentsManager, MultiKernelManager, SessionManager,
    authentication and Authorizer. Every trait below can be set in ``jupyter_server_config.py``
    (``c.MCPExtensionApp.max_kernels = 5``), on the command line
    (``--MCPExtensionApp.max_kernels=5``), in the JSON file named by ``JUPYTER_MCP_CONFIG``
    (``{"max_kernels": 5}``), which wins over both, or by an environment variable
    ``JUPYTER_MCP_MAX_KERNELS=5``, which wins over all. A value that is not valid stops the
    server's start-up with a message naming the setting and what it accepts.
    """

    name = "jupyter_mcp_ext"
    load_other_extensions = True
    mcp_path = "mcp"

    # -- the MCP endpoint ------------------------------------------------------------------

    read_only = Bool(
        False,
        config=True,
        help="Offer only the tools that change nothing (reading notebooks, listing files and kernels, "
        "system_info): no edits, no code execution, no jobs, no server control. Default False. Applies to "
        "the MCP endpoint only; JupyterLab and the REST API are unaffected.",
    )
    allowed_tools = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        config=True,
        help="Names of the only tools the endpoint offers (after read_only). Default None: every tool. "
        "An unknown name stops the server's start-up. Environment: comma-separated names.",
    )
    denied_tools = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Names of tools the endpoint does not offer (applied after read_only and allowed_tools). "
        "Default []: none withheld. An unknown name stops the server's start-up. Environment: "
        "comma-separated names.",
    )

    session_idle_timeout = Float(
        1800.0,
        min=0,
        config=True,
        help="Seconds after which an idle MCP session (no request in flight, no open GET stream) is closed; "
        "its client then starts a new one. Default 1800. 0 keeps sessions until the client deletes them.",
    )
    sse_retry_ms = Int(
        3000,
        min=0,
        config=True,
        help="Milliseconds a client should wait before it reconnects to a dropped SSE stream (the 'retry' field "
        "of the stream's first event), then resumes it with Last-Event-ID. Default 3000.",
    )
    sse_replay_events = Int(
        10_000,
        min=0,
        config=True,
        help="Server-sent events kept in memory for clients that reconnect to a dropped stream with Last-Event-ID "
        "(SEP-1699): a long call outlives a proxy that drops the connection. Default 10,000 (1,000 per stream at "
        "most). 0 turns resumable streams off.",
    )
    max_request_body_bytes = Int(
        64 * 1024 * 1024,
        min=0,
        config=True,
        help="Largest MCP request body accepted, in bytes (HTTP 413 above). Default 64 MiB, enough to write a "
        "large notebook in one call.",
    ).tag(exclusive_min=0)
    max_source_chars = Int(
        2_000_000,
        min=0,
        config=True,
        help="Largest cell source a tool accepts, in characters. Default 2,000,000. 0 means no limit.",
    )
    notebook_cache_max_bytes = Int(
        256 * 1024 * 1024,
        config=True,
        help="Most memory the cache of parsed notebooks may hold, in bytes, as estimated from each notebook's "
        "size and structure (a parsed notebook takes 1.5-10x its file size). Default 256 MiB. The notebook "
        "read last is always kept, so 0 keeps that one only.",
    )
    max_result_chars = Int(
        40_000,
        min=0,
        config=True,
        help="Budget of one tool result, in characters of its JSON text (about 4 characters per token of a "
        "model's context). A longer result is cut at cell or output boundaries and says which call returns the "
        "rest; images ride beside it, within what one message to a client can carry (about 1 MiB). A call may "
        "ask for more with its own max_result_chars argument where the tool has one. Default 40,000 (about "
        "10,000 tokens). 0 means no limit.",
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
        "and noisy inside Jupyter Server, and the SDK's DEBUG lines may hold request bodies (cell sources). "
        "The extension's own lines (one per tool call) follow the server's --log-level. "
        "Environment: JUPYTER_MCP_LOG_LEVEL.",
    )

    presence_idle_timeout = Float(
        60.0,
        config=True,
        help="Notebooks open in JupyterLab with real-time collaboration (jupyter-collaboration): seconds an MCP "
        "client stays among a notebook's collaborators after its last read or edit of it. Default 60. 0 means "
        "MCP clients never appear as collaborators.",
    )

    # -- kernels ---------------------------------------------------------------------------

    max_kernels = Int(
        10,
        min=0,
        config=True,
        help="Most kernels the server may run at once when start_kernel is asked for another (kernels started "
        "from JupyterLab count too). Default 10. 0 means no limit.",
    )
    execution_timeout = Float(
        60.0,
        min=0,
        config=True,
        help="Default timeout of execute_on_kernel, in seconds, when a call gives none. At the timeout the "
        "kernel is interrupted and the partial outputs are returned. Default 60. 0 means no timeout.",
    )
    jupyter_timeout = Float(
        300.0,
        min=0,
        config=True,
        help="Seconds to wait for a kernel to start or restart before giving up. Default 300.",
    ).tag(exclusive_min=0)
    continue_on_error = Bool(
        False,
        config=True,
        help="execute_on_kernel(mode='notebook'): keep running the next cells after a cell raises. Default "
        "False (stop at the first error); each call may override it.",
    )
    max_output_chars = Int(
        20_000,
        min=0,
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
        min=0,
        config=True,
        help="Largest traceback returned, in characters (ANSI colour codes are stripped first). "
        "Default 5,000. 0 means no limit.",
    )
    max_image_bytes = Int(
        2 * 1024 * 1024,
        min=0,
        config=True,
        help="Largest image (PNG/JPEG) returned as MCP image content, in bytes; a larger one is replaced "
        "by a note. Default 2 MiB. 0 means no images are returned.",
    )
    kernel_idle_timeout = Float(
        0.0,
        min=0,
        config=True,
        help="Seconds after which an idle kernel started by an MCP tool is shut down. Default 0: never "
        "(use the server's MappingKernelManager.cull_idle_timeout for all kernels).",
    )
    cleanup_interval = Float(
        300.0,
        min=0,
        config=True,
        help="Seconds between checks for idle MCP kernels when kernel_idle_timeout is set. Default 300.",
    ).tag(exclusive_min=0)

    # -- notebook jobs (Papermill) ---------------------------------------------------------

    output_directory = Unicode(
        "",
        config=True,
        help="Directory (relative to the server root) for executed notebooks when execute_notebook gets no "
        "output_path. Default '': beside the input notebook, as <name>_output.ipynb.",
    )
    max_concurrent_jobs = Int(
        2,
        min=0,
        config=True,
        help="Most notebook jobs running at once; further jobs wait as 'queued'. Default 2.",
    ).tag(exclusive_min=0)
    job_timeout = Float(
        300.0,
        min=0,
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
        help="The executor that runs notebook jobs. Default: one Papermill process per job on this machine. "
        "'jupyter_mcp_ext.jobs.dask.DaskJobExecutor' runs each job on a Dask cluster (docs/dask.md).",
    )
    dask_scheduler_address = Unicode(
        "",
        config=True,
        help="Address of the Dask scheduler that runs notebook jobs when job_executor_class is DaskJobExecutor, "
        "e.g. 'tcp://10.0.0.5:8786'. Default '': none (see dask_gateway_cluster). Needs the dask extra.",
    )
    dask_gateway_cluster = Unicode(
        "",
        config=True,
        help="Name of a running Dask Gateway cluster that runs notebook jobs when job_executor_class is "
        "DaskJobExecutor (the gateway's address and authentication come from dask-gateway's own "
        "configuration, as JupyterHub sets it). Default '': none; takes precedence over "
        "dask_scheduler_address. Needs the dask-gateway extra.",
    )

    # -- agent changes (review and undo) ---------------------------------------------------

    record_changes = Bool(
        True,
        config=True,
        help="Record every change an MCP client makes to a notebook (its cells before and after), so that a "
        "person can review and revert it from JupyterLab or the changes REST API. Default True.",
    )
    changes_db_path = Unicode(
        "",
        config=True,
        help="SQLite file holding the change records (readable by the server's user only). Default '': "
        "changes.sqlite beside the job database (jobs_db_path).",
    )
    changes_max_bytes = Int(
        50 * 1024 * 1024,
        min=0,
        config=True,
        help="Most bytes the change records may take (their JSON); the oldest go first. Default 50 MiB. "
        "0 means no size bound.",
    )
    changes_max_age_days = Float(
        30.0,
        min=0,
        config=True,
        help="Days a change record is kept. Default 30. 0 means records are kept until the size bound drops them.",
    )

    # ----------------------------------------------------------------------------------------

    # Set by ensure_mcp_running; class-level so that stop_extension works even when
    # initialize_settings failed half-way.
    _mcp_task: asyncio.Task[None] | None = None
    _mcp_ready: asyncio.Event | None = None
    _mcp_stop: asyncio.Event | None = None
    #: Set when the extension stops: the session manager (whose ``run()`` works once) is not started again.
    mcp_stopping = False
    services: Services | None = None

    @default("jobs_db_path")
    def _default_jobs_db_path(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "jupyter_mcp_ext", "jobs.sqlite")

    @default("changes_db_path")
    def _default_changes_db_path(self) -> str:
        return os.path.join(os.path.dirname(os.path.abspath(self.jobs_db_path)), "changes.sqlite")

    @validate(
        "session_idle_timeout",
        "execution_timeout",
        "jupyter_timeout",
        "kernel_idle_timeout",
        "cleanup_interval",
        "job_timeout",
        "max_request_body_bytes",
        "max_concurrent_jobs",
        "changes_max_age_days",
    )
    def _check_number(self, proposal: Any) -> Any:
        # traitlets' own ``min`` allows 0 and NaN; these settings need a finite number, some > 0.
        value = proposal["value"]
        if isinstance(value, float) and not math.isfinite(value):
            raise TraitError(f"{proposal['trait'].name} must be a finite number")
        if proposal["trait"].metadata.get("exclusive_min") is not None and value <= 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0")
        return value

    @validate("allowed_tools", "denied_tools")
    def _check_tool_names(self, proposal: Any) -> Any:
        # The command line hands a list trait each argument as one item: accept the forms people
        # type there (--MCPExtensionApp.denied_tools=a,b or ='["a", "b"]') as in the environment.
        value = proposal["value"]
        if value is None:
            return None
        names: list[str] = []
        for item in value:
            text = item.strip()
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except ValueError as e:
                    raise TraitError(f"{text!r} is not a JSON list of names") from e
                if not isinstance(parsed, list) or not all(isinstance(n, str) for n in parsed):
                    raise TraitError(f"{text!r} is not a JSON list of names")
                names += parsed
            else:
                names += [part.strip() for part in text.split(",") if part.strip()]
        return names

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        """Link to the server, then apply ``JUPYTER_MCP_CONFIG`` and ``JUPYTER_MCP_*`` and check every value.

        Any problem stops the server's start-up (``refuse_to_start``): an MCP endpoint that runs
        with a setting other than the operator wrote (a read-only endpoint that is not) is worse
        than a server that does not start.
        """
        problems: list[str] = []
        try:
            super()._link_jupyter_server_extension(serverapp)
        except TraitError as e:
            # traitlets stops at the first bad value; look at each to report them all.
            section = {**serverapp.config.get(type(self).__name__, {}), **self.config.get(type(self).__name__, {})}
            problems = jupyter_config_problems(self, section) or [str(e)]
        else:
            # traitlets only warns about a name it does not know: a typo (``read_onyl``) must not
            # leave the endpoint as it would be without the setting.
            traits = self.traits(config=True)
            section = self.config.get(type(self).__name__, {})
            problems = [unknown(n, self, JUPYTER_CONFIG) for n in section if n not in traits]
        problems += apply_overrides(self, log=self.log)
        if problems:
            self.refuse_to_start(problems)

    def refuse_to_start(self, problems: list[str]) -> None:
        """Log why the configuration is refused, one line per setting, and stop the server's start-up.

        ``SystemExit`` is the one exception that jupyter_server's extension loader does not turn
        into a warning (it would start the server without the MCP endpoint, or with it misconfigured).
        """
        lines = "\n".join(f"  - {p}" for p in problems)
        self.log.critical(
            "jupyter_mcp_ext: the server does not start because %s not valid:\n%s\n"
            "The settings are described by `jupyter mcp-ext --help-all` and docs/configuration.md.",
            "this setting is" if len(problems) == 1 else f"these {len(problems)} settings are",
            lines,
        )
        raise SystemExit(1)

    def initialize_settings(self) -> None:
        """Build the services and the MCP server; handlers find them in the tornado settings."""
        try:
            self._initialize_settings()
        except ConfigurationError as e:
            self.refuse_to_start(e.problems)

    def _initialize_settings(self) -> None:
        import logging

        from .jobs.service import JobService
        from .notebooks.paths import normalize_api_path
        from .server import build_mcp_server

        logging.getLogger("mcp").setLevel(self.log_level_mcp)
        serverapp = self.serverapp
        assert serverapp is not None, "initialize_settings runs after the extension is linked to a server"
        attach_to_server_log(serverapp.log)
        install_trust_filter(serverapp.contents_manager)
        live = LiveDocuments(serverapp.web_app.settings, self.log)
        live.presence = Presence(
            self.log, idle_timeout=self.presence_idle_timeout, global_room=live.global_awareness_room
        )
        notebooks = NotebookService(
            serverapp.contents_manager,
            serverapp.kernel_spec_manager,
            max_source_chars=self.max_source_chars,
            cache_max_bytes=self.notebook_cache_max_bytes,
            log=self.log,
            # jupyter-collaboration's rooms, found in the server's settings when it runs (it may load later).
            live=live,
        )
        problems = []
        if self.output_directory:
            try:
                normalize_api_path(
                    self.output_directory, serverapp.contents_manager, argument="output_directory", allow_root=True
                )
            except Exception as e:
                problems.append(f"MCPExtensionApp.output_directory = {self.output_directory!r} is not valid: {e}")
        services = self.services = Services(app=self, notebooks=notebooks)
        services.lab = LabContext()
        kernel_manager = serverapp.kernel_manager
        ACTIVE_KERNELS_GAUGE.set_function(lambda: len(kernel_manager.list_kernel_ids()))
        from .kernels.service import KernelService

        services.kernels = KernelService.from_app(self, services)
        services.jobs = JobService.from_app(self, services)
        if self.record_changes:
            from .changes.service import ChangeService

            services.changes = ChangeService.from_app(self, services)
        try:
            self.mcp = build_mcp_server(services)
        except ConfigurationError as e:
            problems += e.problems
        if problems:
            raise ConfigurationError(problems)
        from mcp.server.transport_security import TransportSecuritySettings

        # Jupyter Server checks Host and Origin for every handler (ServerApp.allow_origin,
        # allow_remote_access, local_hostnames); the SDK's own guard would second-guess a
        # reverse proxy's Host, so it is switched off here.
        from .mcp_native.event_store import MemoryEventStore

        replay = self.sse_replay_events
        self.mcp.streamable_http_app(
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=self.max_request_body_bytes,
            session_idle_timeout=self.session_idle_timeout or None,
            event_store=MemoryEventStore(replay, min(replay, 1000)) if replay else None,
            retry_interval=self.sse_retry_ms if replay else None,
        )
        self.settings.update(
            {
                "jupyter_mcp_ext_app": self,
                "jupyter_mcp_ext_services": services,
            }
        )

    def initialize_handlers(self) -> None:
        """Route ``<base_url>mcp`` to the MCP transport and the REST API under ``jupyter-mcp-ext/``."""
        from .changes.handlers import default_handlers as change_handlers
        from .jobs.handlers import default_handlers as job_handlers
        from .jobs.schedule_handlers import default_handlers as schedule_handlers
        from .lab.handlers import default_handlers as lab_handlers
        from .probes import discovery_handlers, root_discovery_handlers

        base_url = self.serverapp.base_url if self.serverapp is not None else "/"
        if base_url != "/" and self.serverapp is not None:
            # OAuth discovery puts the well-known path before the endpoint's: at the server's root.
            self.serverapp.web_app.add_handlers(".*$", root_discovery_handlers())
        self.handlers.extend(
            [
                (rf"/{self.mcp_path}/?", MCPHandler),
                *discovery_handlers(self.mcp_path),
                (r"/jupyter-mcp-ext/status", StatusHandler),
                (r"/jupyter-mcp-ext/connect", ConnectHandler),
                *job_handlers,
                *schedule_handlers,
                *change_handlers,
                *lab_handlers,
            ]
        )

    async def ensure_mcp_running(self) -> None:
        """Start the SDK's session manager once, in a task of its own (``run()`` must be entered
        and left in the same task); later calls wait until it is ready. Once the extension is
        stopping, it is not started again: the caller answers 503."""
        if self.mcp_stopping:
            return
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
        native = self.services.native
        if native is not None:
            native.start()
        self.log.info("jupyter_mcp_ext %s | MCP endpoint at %s%s", __version__, serverapp.connection_url, self.mcp_path)
        withheld = self.services.extra.get("withheld_tools") or []
        if withheld:
            self.log.info(
                "jupyter_mcp_ext | %s; tools withheld: %s",
                "read-only endpoint" if self.read_only else "the endpoint offers a subset of its tools",
                ", ".join(withheld),
            )

    async def stop_extension(self) -> None:
        """Stop the services and the MCP session manager, so that Ctrl-C / SIGTERM is prompt."""
        self.mcp_stopping = True
        if self.services is not None:
            native = self.services.native
            if native is not None:
                await native.close()
            await self.services.stop()
            if self.services.notebooks.live is not None:
                await self.services.notebooks.live.close()
        if self._mcp_task is not None and self._mcp_stop is not None:
            self._mcp_stop.set()
            try:
                await asyncio.wait_for(self._mcp_task, timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._mcp_task.cancel()
            except Exception:
                self.log.exception("The MCP session manager stopped with an error")
            self._mcp_task = None
