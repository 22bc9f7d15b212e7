"""Resource subscriptions in both protocol generations, fed by every change of a notebook or a job.

- 2025-11-25 sessions: ``resources/subscribe`` / ``resources/unsubscribe``; a change is told with
  ``notifications/resources/updated`` on the session's standalone stream (its GET stream). A
  session's subscriptions end with it.
- 2026-07-28: ``subscriptions/listen`` (the SDK's ``ListenHandler``) over ``ReaderBus``, which
  remembers who opened each listen stream and delivers an update only where that identity may read
  the resource. ``NativeMiddleware`` checks the URIs a listen request names before the stream opens.

``Subscriptions`` counts who follows each notebook and job (``watch``), so that the change sources
(``sources.py``) only look where somebody follows, and sends at most one notification per resource
per ``MIN_INTERVAL`` seconds (the first at once, the next ones at the end of the interval).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel
from mcp.server.subscriptions import ResourceUpdated, ServerEvent
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from ..exceptions import MCPExtError, NotFound
from ..services import Services
from . import sdk
from .identity import Reader, reader_of
from .uris import RESOURCE_NOT_FOUND, Target, parse

log = logging.getLogger(__name__)

#: Seconds between two notifications of one resource, at least.
MIN_INTERVAL = 1.0
#: Most resources one session may subscribe to.
MAX_SUBSCRIPTIONS_PER_SESSION = 256

#: Key of a followed resource: ("notebook", api_path) or ("job", job_id).
Key = tuple[str, str]

#: The identity of the ``subscriptions/listen`` request being served (set by the middleware for the
#: request's task), read by ``ReaderBus.subscribe``.
listen_reader: contextvars.ContextVar[Reader | None] = contextvars.ContextVar("jupyter_mcp_ext_listen_reader")


@dataclass
class _Session:
    """The 2025-11-25 subscriptions of one session: URI as the client spelled it -> key."""

    session: Any
    reader: Reader
    uris: dict[str, Key] = field(default_factory=dict)


class Subscriptions:
    """Who follows which notebook and job, and the delivery of their changes.

    Parameters
    ----------
    services : Services
        For resolving and checking URIs (the notebook service, the job service).
    bus : ReaderBus
        The ``subscriptions/listen`` fan-out of the MCP server.
    """

    def __init__(self, services: Services, bus: ReaderBus) -> None:
        self.services = services
        self.bus = bus
        bus.subscriptions = self
        #: The resource kinds the server offers (``resources.offered_kinds``); set by ``NativeFeatures.install``.
        self.kinds: set[str] = {"notebook", "cell", "job"}
        self._sessions: dict[int, _Session] = {}
        #: key -> URI spelling -> how many subscriptions and listen streams use it.
        self._watched: dict[Key, dict[str, int]] = {}
        self._keys: dict[str, Key] = {}
        self._last_sent: dict[Key, float] = {}
        self._pending: dict[Key, asyncio.TimerHandle | None] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Called with (key, watched) when a resource starts or stops being followed (``sources.py``).
        self.on_watch: list[Callable[[Key, bool], None]] = []

    # -- what a URI names ---------------------------------------------------------------------

    async def resolve(self, uri: Any, reader: Reader, *, argument: str = "uri") -> Key:
        """The key of the notebook or job ``uri`` names, checked: it exists and ``reader`` may read it.

        Raises a JSON-RPC error naming ``argument``: invalid params for a URI that is not one of this
        server's resources or leaves the root, -32002 for a notebook or job that does not exist."""
        target = parse(uri, argument=argument)
        if target.kind == "ui":
            raise MCPError(INVALID_PARAMS, f"{argument} {uri!r}: the MCP App views do not change; nothing to follow.")
        if target.kind not in self.kinds:
            raise MCPError(
                INVALID_PARAMS,
                f"{argument} {uri!r}: this server's operator does not offer {target.kind} resources (the tools that "
                "read them are withheld).",
                data={"uri": uri},
            )
        await reader.require(*_permission(target), f"following {uri}")
        try:
            if target.kind in ("notebook", "cell"):
                notebooks = self.services.notebooks
                api_path = notebooks.api_path(target.name, argument=argument)
                if not await notebooks.exists(api_path):
                    raise MCPError(
                        RESOURCE_NOT_FOUND,
                        f"{argument} {uri!r}: there is no notebook {api_path!r} (a deleted notebook cannot be "
                        "followed; list_notebook_files shows those there are).",
                        data={"uri": uri},
                    )
                if target.cell_id is not None:
                    _, nb = await notebooks.get(api_path, argument=argument)
                    notebooks.locate(api_path, list(nb.cells), cell_id=target.cell_id)
                return ("notebook", api_path)
            jobs = self.services.jobs
            if jobs is None:
                raise MCPError(INVALID_PARAMS, f"{argument} {uri!r}: notebook jobs are not available on this server.")
            job = await jobs.get(target.name)
            return ("job", job.job_id)
        except NotFound as e:
            raise MCPError(RESOURCE_NOT_FOUND, f"{argument} {uri!r}: {e}", data={"uri": uri}) from e
        except MCPExtError as e:
            raise MCPError(INVALID_PARAMS, f"{argument} {uri!r}: {e}", data={"uri": uri}) from e

    def watch(self, uri: str, key: Key) -> None:
        """Count one more follower of ``key`` under the spelling ``uri``."""
        spellings = self._watched.setdefault(key, {})
        first = not spellings
        spellings[uri] = spellings.get(uri, 0) + 1
        self._keys[uri] = key
        if first:
            for hook in self.on_watch:
                hook(key, True)

    def unwatch(self, uri: str, key: Key) -> None:
        """Count one follower of ``key`` (spelled ``uri``) less."""
        spellings = self._watched.get(key)
        if not spellings or uri not in spellings:
            return
        spellings[uri] -= 1
        if spellings[uri] <= 0:
            del spellings[uri]
            self._keys.pop(uri, None)
        if not spellings:
            del self._watched[key]
            self._last_sent.pop(key, None)
            handle = self._pending.pop(key, None)
            if handle is not None:
                handle.cancel()
            for hook in self.on_watch:
                hook(key, False)

    def watched(self, kind: str | None = None) -> list[Key]:
        """The keys somebody follows (of ``kind``, if given)."""
        return [k for k in self._watched if kind is None or k[0] == kind]

    def key_of(self, uri: str) -> Key | None:
        """The key a followed URI spelling stands for."""
        return self._keys.get(uri)

    # -- 2025-11-25: resources/subscribe ------------------------------------------------------

    async def subscribe(self, ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
        """``resources/subscribe``: follow ``params.uri`` in this session until it unsubscribes or ends."""
        reader = reader_of(ctx)
        key = await self.resolve(params.uri, reader)
        session_key = sdk.connection_key(ctx.session)
        entry = self._sessions.get(session_key)
        if entry is None:
            entry = self._sessions[session_key] = _Session(ctx.session, reader)
            sdk.on_session_end(ctx.session, lambda: self.end_session(session_key))
        if params.uri in entry.uris:
            return EmptyResult()
        if len(entry.uris) >= MAX_SUBSCRIPTIONS_PER_SESSION:
            raise MCPError(
                INVALID_PARAMS,
                f"uri {params.uri!r}: this session already follows {MAX_SUBSCRIPTIONS_PER_SESSION} resources, the "
                "most one session may; unsubscribe from some first.",
            )
        entry.uris[params.uri] = key
        self.watch(params.uri, key)
        return EmptyResult()

    async def unsubscribe(self, ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
        """``resources/unsubscribe``: stop following ``params.uri`` (a URI not followed is told so)."""
        entry = self._sessions.get(sdk.connection_key(ctx.session))
        key = entry.uris.pop(params.uri, None) if entry is not None else None
        if key is None:
            parse(params.uri)
            raise MCPError(
                INVALID_PARAMS,
                f"uri {params.uri!r}: this session is not subscribed to it (resources/subscribe first).",
                data={"uri": params.uri},
            )
        self.unwatch(params.uri, key)
        return EmptyResult()

    def end_session(self, session_key: int) -> None:
        """Drop the subscriptions of a session that ended."""
        entry = self._sessions.pop(session_key, None)
        if entry is not None:
            for uri, key in entry.uris.items():
                self.unwatch(uri, key)

    def session_count(self) -> int:
        return len(self._sessions)

    # -- changes ------------------------------------------------------------------------------

    def changed(self, key: Key, *, gone: bool = False) -> None:
        """A followed resource (or one nobody follows: then nothing happens) changed; ``gone``: it was
        deleted, and the 2025-11-25 subscriptions to it end after this notification."""
        if key not in self._watched:
            return
        if key in self._pending and not gone:
            return  # a notification is already on its way
        now = time.monotonic()
        last = self._last_sent.get(key)
        delay = 0.0 if last is None or gone else max(0.0, last + MIN_INTERVAL - now)
        self._last_sent[key] = now + delay
        loop = asyncio.get_running_loop()
        previous = self._pending.pop(key, None)
        if previous is not None:
            previous.cancel()
        self._pending[key] = loop.call_later(delay, self._fire, key, gone)

    def _fire(self, key: Key, gone: bool) -> None:
        self._pending.pop(key, None)
        task = asyncio.ensure_future(self._deliver(key, gone))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, key: Key, gone: bool) -> None:
        spellings = list(self._watched.get(key, {}))
        for entry in list(self._sessions.values()):
            uris = [uri for uri, k in entry.uris.items() if k == key]
            if not uris or not await entry.reader.may_read(key[0]):
                continue
            for uri in uris:
                try:
                    await entry.session.send_resource_updated(uri)
                except Exception:
                    log.debug("Could not tell a session of %s", uri, exc_info=True)
                if gone:
                    entry.uris.pop(uri, None)
                    self.unwatch(uri, key)
        for uri in spellings:
            await self.bus.publish(ResourceUpdated(uri=uri))

    async def close(self) -> None:
        for handle in self._pending.values():
            if handle is not None:
                handle.cancel()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()


def _permission(target: Target) -> tuple[str, str]:
    return ("read", "kernels") if target.kind == "job" else ("read", "contents")


class ReaderBus:
    """The ``SubscriptionBus`` of ``subscriptions/listen`` (2026-07-28), which knows who listens.

    ``subscribe`` is called by the SDK's ``ListenHandler`` in the task serving a listen request, where
    ``listen_reader`` holds that request's identity; ``publish`` delivers a resource update only to the
    listeners whose identity may read the resource (the SDK's in-memory bus knows no identities)."""

    def __init__(self) -> None:
        self._listeners: dict[object, tuple[Callable[[ServerEvent], None], Reader | None]] = {}
        self.subscriptions: Subscriptions | None = None

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._listeners[token] = (listener, listen_reader.get(None))

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    async def publish(self, event: ServerEvent) -> None:
        key = None
        if isinstance(event, ResourceUpdated) and self.subscriptions is not None:
            key = self.subscriptions.key_of(event.uri)
        for listener, reader in list(self._listeners.values()):
            if key is not None and reader is not None and not await reader.may_read(key[0]):
                continue
            try:
                listener(event)
            except Exception:
                log.exception("A subscriptions/listen listener failed")
        await anyio.lowlevel.checkpoint()

    def listener_count(self) -> int:
        return len(self._listeners)


def register(mcp: Any, subscriptions: Subscriptions) -> None:
    """Serve ``resources/subscribe`` and ``resources/unsubscribe`` (2025-11-25 sessions) on ``mcp``."""
    sdk.add_request_handler(mcp, "resources/subscribe", SubscribeRequestParams, subscriptions.subscribe)
    sdk.add_request_handler(mcp, "resources/unsubscribe", UnsubscribeRequestParams, subscriptions.unsubscribe)


__all__ = ["MIN_INTERVAL", "Key", "ReaderBus", "Subscriptions", "listen_reader", "register"]
