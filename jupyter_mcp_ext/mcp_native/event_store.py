"""Resumable SSE streams (SEP-1699): the events of each stream kept in memory, bounded, for a client that
reconnects with ``Last-Event-ID`` after its connection dropped (a proxy's idle timeout, a network change)."""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque

from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp_types import JSONRPCMessage


class MemoryEventStore(EventStore):
    """The SDK's ``EventStore`` in memory: at most ``max_events`` events in all (the oldest go first) and
    ``max_per_stream`` per stream. Event ids are ``<sequence>-<stream>``: increasing, unique in this
    server process (a client that resumes against a restarted server finds nothing to replay)."""

    def __init__(self, max_events: int = 10_000, max_per_stream: int = 1_000) -> None:
        self.max_events = max_events
        self.max_per_stream = max_per_stream
        self._counter = itertools.count(1)
        #: event id -> (stream id, message or None for a priming event), oldest first.
        self._events: OrderedDict[str, tuple[str, JSONRPCMessage | None]] = OrderedDict()
        self._streams: dict[str, deque[str]] = {}

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = f"{next(self._counter)}-{stream_id}"
        self._events[event_id] = (stream_id, message)
        ids = self._streams.setdefault(stream_id, deque())
        ids.append(event_id)
        if len(ids) > self.max_per_stream:
            self._events.pop(ids.popleft(), None)
        while len(self._events) > self.max_events:
            old_id, (old_stream, _) = self._events.popitem(last=False)
            old_ids = self._streams.get(old_stream)
            if old_ids and old_ids[0] == old_id:
                old_ids.popleft()
                if not old_ids:
                    del self._streams[old_stream]
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        found = self._events.get(last_event_id)
        if found is None:
            return None
        stream_id = found[0]
        after = False
        for event_id in list(self._streams.get(stream_id, ())):
            if after:
                message = self._events.get(event_id, (stream_id, None))[1]
                if message is not None:
                    await send_callback(EventMessage(message, event_id))
            elif event_id == last_event_id:
                after = True
        return stream_id

    def __len__(self) -> int:
        return len(self._events)


__all__ = ["MemoryEventStore"]
