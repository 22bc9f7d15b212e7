"""The server's connection to the Dask cluster that runs notebook jobs (service layer).

It connects (a scheduler's address or a Dask Gateway cluster by name) in the background,
reconnects, knows the workers, and says at once when the cluster cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ...exceptions import JobsUnavailable


class ClusterNotRunning(ConnectionError):
    """The Dask Gateway reports the cluster stopped (or failed)."""


class ClusterConnection:
    """One asynchronous ``distributed.Client`` on the server's event loop, kept connected by a
    background task that also looks at the workers every ``monitor_interval`` seconds.

    Nothing here waits on the cluster in the request path: ``describe()`` returns what was last
    seen, and ``ready()`` raises JobsUnavailable at once once a connection attempt has failed.

    Parameters
    ----------
    scheduler_address, gateway_cluster : str
        Where the cluster is (a Gateway cluster's name wins over the address).
    connect_timeout, monitor_interval : float
        Seconds, as ``DaskJobExecutor``'s traits of the same names.
    on_checked : callable
        ``on_checked(workers)`` after each successful look at the cluster (address -> worker info).
    on_connected : callable
        Called after a new client connected (the jobs followed before may be taken up again).
    """

    def __init__(
        self,
        *,
        scheduler_address: str,
        gateway_cluster: str,
        connect_timeout: float,
        monitor_interval: float,
        log: logging.Logger | Any,
        on_checked: Callable[[dict[str, Any]], None],
        on_connected: Callable[[], None],
    ) -> None:
        self.scheduler_address = scheduler_address
        self.gateway_cluster = gateway_cluster
        self.connect_timeout = connect_timeout
        self.monitor_interval = monitor_interval
        self.log = log
        self.on_checked = on_checked
        self.on_connected = on_connected
        self.client: Any = None
        self._gateway: Any = None
        #: The ``GatewayCluster`` connected to (it watches the cluster's workers until closed).
        self._gateway_cluster: Any = None
        self._ready: asyncio.Event | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._error: str | None = None
        self._failed_attempts = 0
        self._workers: dict[str, dict[str, Any]] = {}
        self._checked_at: float | None = None

    def where(self) -> str:
        if self.gateway_cluster:
            return f"the Dask Gateway cluster {self.gateway_cluster!r}"
        return f"the Dask scheduler at {self.scheduler_address}"

    def unconfigured(self) -> str | None:
        """Why jobs cannot run on Dask at all (a setting or the package missing), or None."""
        if not self.scheduler_address and not self.gateway_cluster:
            return (
                "Notebook jobs are set to run on Dask (job_executor_class is DaskJobExecutor), but neither "
                "MCPExtensionApp.dask_scheduler_address nor MCPExtensionApp.dask_gateway_cluster is set."
            )
        try:
            import distributed  # noqa: F401
        except ImportError:
            return (
                "Notebook jobs are set to run on Dask, but the 'distributed' package is not installed in the "
                'server\'s environment: pip install "jupyter-mcp-ext[dask]".'
            )
        return None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._ready = asyncio.Event()
        problem = self.unconfigured()
        if problem:
            self._error = problem
            self._failed_attempts = 1
            self.log.error("%s", problem)
            return
        # Connect in the background: the server starts serving at once, whatever the cluster does.
        self._monitor_task = asyncio.ensure_future(self._monitor())

    async def stop(self) -> None:
        self._stopping = True
        if self._monitor_task is not None:
            self._monitor_task.cancel()
            self._monitor_task = None
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
        await self._close_gateway()

    async def _close_gateway(self) -> None:
        """Let go of the Gateway cluster object (its worker watch and connections) and of the
        Gateway client, whose HTTP session the cluster object's close ends; the cluster, which the
        server did not start, keeps running."""
        cluster, self._gateway_cluster = self._gateway_cluster, None
        gateway, self._gateway = self._gateway, None
        if cluster is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(cluster.close(shutdown=False), 5)
        if gateway is not None:
            with contextlib.suppress(Exception):
                await gateway.close()

    # -- connecting -----------------------------------------------------------------------------

    async def _connect(self) -> Any:
        from distributed import Client

        if self.gateway_cluster:
            from dask_gateway import Gateway

            await self._close_gateway()
            self._gateway = Gateway(asynchronous=True)
            cluster = await asyncio.wait_for(self._gateway.connect(self.gateway_cluster), self.connect_timeout)
            self._gateway_cluster = cluster
            return await asyncio.wait_for(cluster.get_client(set_as_default=False), self.connect_timeout)
        return await Client(
            self.scheduler_address, asynchronous=True, timeout=self.connect_timeout, set_as_default=False
        )

    def connected(self) -> bool:
        return self.client is not None and self.client.status == "running" and self._error is None

    async def _monitor(self) -> None:
        """Keep a client connected and know the workers."""
        while not self._stopping:
            try:
                if self.client is None or self.client.status in ("closing", "closed"):
                    await self._reconnect()
                if self.client is not None:
                    await self._check()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._set_unreachable(e)
            await asyncio.sleep(self.monitor_interval if self.connected() else max(self.monitor_interval, 2.0))

    async def _reconnect(self) -> None:
        assert self._ready is not None
        old, self.client = self.client, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        try:
            client = await self._connect()
        except Exception as e:
            self._set_unreachable(e)
            return
        self.client = client
        self._error = None
        self._failed_attempts = 0
        self.log.info("Notebook jobs run on %s.", self.where())
        self._ready.set()
        self.on_connected()

    def _set_unreachable(self, error: BaseException) -> None:
        assert self._ready is not None
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, ClusterNotRunning) or (self.gateway_cluster and "stopped" in str(error)):
            message = (
                f"Notebook jobs run on {self.where()}, which is not running ({detail}). A Dask Gateway stops a "
                "cluster that has run nothing for its idle_timeout: start a cluster "
                "(dask_gateway.Gateway().new_cluster()) and set MCPExtensionApp.dask_gateway_cluster to its "
                "name, or raise the gateway's idle_timeout. New jobs are refused until it runs; the server keeps "
                "trying."
            )
        else:
            message = (
                f"Notebook jobs run on {self.where()}, which cannot be reached ({detail}). New jobs are refused "
                "until it answers; the server keeps trying."
            )
        if message != self._error:
            self.log.warning("%s", message)
        self._error = message
        self._failed_attempts += 1
        self._ready.clear()

    async def _check(self) -> None:
        client = self.client
        if client.status != "running":
            if self.gateway_cluster and self._gateway is not None:
                # The scheduler is gone or cut off: the gateway says whether the cluster still runs.
                report = await asyncio.wait_for(self._gateway.get_cluster(self.gateway_cluster), self.connect_timeout)
                status = getattr(report.status, "name", str(report.status))
                if status not in ("PENDING", "RUNNING"):
                    raise ClusterNotRunning(f"the gateway reports it {status}")
            raise ConnectionError(f"the client is {client.status}")
        # An asynchronous client's scheduler_info() carries no workers: ask the scheduler.
        info = await asyncio.wait_for(client.scheduler.identity(n_workers=-1), max(2.0, self.connect_timeout / 2))
        self._workers = dict(info.get("workers") or {})
        self._checked_at = time.time()
        if self._error is not None:
            self._error = None
            self._failed_attempts = 0
            assert self._ready is not None
            self._ready.set()
        self.on_checked(self._workers)

    async def ready(self, wait: float | None = None) -> Any:
        """The connected client; raises JobsUnavailable at once when the cluster is known to be
        unreachable, or after ``wait`` seconds (default ``connect_timeout``) on the first attempt."""
        problem = self.unconfigured()
        if problem:
            raise JobsUnavailable(problem)
        if self.connected():
            return self.client
        if self._failed_attempts and wait is None:
            raise JobsUnavailable(self._error or f"{self.where()} cannot be reached.")
        assert self._ready is not None
        try:
            await asyncio.wait_for(self._ready.wait(), self.connect_timeout if wait is None else wait)
        except asyncio.TimeoutError:
            raise JobsUnavailable(
                self._error
                or f"Notebook jobs run on {self.where()}, which did not answer within {self.connect_timeout:g} s."
            ) from None
        return self.client

    def describe(self) -> dict[str, Any]:
        """The cluster as last seen (never waits for it)."""
        connected = self.connected()
        workers = self._workers if connected else {}
        return {
            "scheduler_address": self.scheduler_address or None,
            "gateway_cluster": self.gateway_cluster or None,
            "state": "connected" if connected else ("unreachable" if self._failed_attempts else "connecting"),
            "error": None if connected else self._error,
            "workers": len(workers),
            "worker_threads": sum(int(w.get("nthreads") or 0) for w in workers.values()),
            "checked_at": self._checked_at,
        }
