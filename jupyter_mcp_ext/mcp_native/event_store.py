"""Resumable SSE streams (SEP-1699): the events of each stream kept in memory, bounded, for a client that
reconnects with ``Last-Event-ID`` after its connection dropped (a proxy's idle timeout, a network change)."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict, deque

from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp_types import JSONRPCMessage, JSONRPCResponse

#: Bytes counted for an event that is not a result (a notification, a priming event): they are small.
SMALL_EVENT_BYTES = 512


class MemoryEventStore(EventStore):
    """The SDK's ``EventStore`` in memory, bounded three ways: at most ``max_events`` events (and
    ``max_per_stream`` per stream), at most ``max_bytes`` of results, none older than ``max_age`` seconds
    (a client reconnects within its retry interval, seconds). The oldest go first.

    Event ids are ``<sequence>-<stream>``: increasing and unique in this server process (a client that
    resumes against a restarted server finds nothing to replay, and starts over).
    """

    def __init__(
        self, max_events: int = 10_000, max_per_stream: int = 1_000, max_bytes: int = 64 << 20, max_age: float = 300
    ) -> None:
        self.max_events = max_events
        self.max_per_stream = max_per_stream
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._counter = itertools.count(1)
        #: event id -> (stream id, message or None for a priming event, bytes counted, time stored), oldest first.
        self._events: OrderedDict[str, tuple[str, JSONRPCMessage | None, int, float]] = OrderedDict()
        self._streams: dict[str, deque[str]] = {}
        self._bytes = 0

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = f"{next(self._counter)}-{stream_id}"
        size = len(message.model_dump_json()) if isinstance(message, JSONRPCResponse) else SMALL_EVENT_BYTES
        now = time.monotonic()
        self._events[event_id] = (stream_id, message, size, now)
        self._bytes += size
        ids = self._streams.setdefault(stream_id, deque())
        ids.append(event_id)
        if len(ids) > self.max_per_stream:
            self._drop(ids[0])
        while self._events and (
            len(self._events) > self.max_events
            or self._bytes > self.max_bytes
            or next(iter(self._events.values()))[3] < now - self.max_age
        ):
            self._drop(next(iter(self._events)))
        return event_id

    def _drop(self, event_id: str) -> None:
        stream_id, _, size, _ = self._events.pop(event_id)
        self._bytes -= size
        ids = self._streams.get(stream_id)
        if ids:
            try:
                ids.remove(event_id)
            except ValueError:
                pass
            if not ids:
                del self._streams[stream_id]

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        found = self._events.get(last_event_id)
        if found is None:
            return None
        stream_id = found[0]
        after = False
        for event_id in list(self._streams.get(stream_id, ())):
            if after:
                message = self._events[event_id][1] if event_id in self._events else None
                if message is not None:
                    await send_callback(EventMessage(message, event_id))
            elif event_id == last_event_id:
                after = True
        return stream_id

    @property
    def size(self) -> int:
        """Events held now. (No ``__len__``: the SDK tests the store for truth, and an empty one must count.)"""
        return len(self._events)


__all__ = ["MemoryEventStore"]
