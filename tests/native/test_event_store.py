"""The in-memory event store of resumable streams: replay after an id, and its bounds."""

from __future__ import annotations

from mcp_types import JSONRPCNotification, JSONRPCResponse

from jupyter_mcp_ext.mcp_native.event_store import MemoryEventStore


def note(n: int) -> JSONRPCNotification:
    return JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"n": n})


async def replayed(store: MemoryEventStore, after: str) -> tuple[str | None, list]:
    seen: list = []

    async def send(event) -> None:
        seen.append(event.message.params["n"] if event.message.params else event.message.result)

    return await store.replay_events_after(after, send), seen


async def test_a_stream_replays_what_came_after_the_last_event_and_nothing_of_other_streams():
    store = MemoryEventStore()
    first = await store.store_event("s1", None)
    for n in range(3):
        await store.store_event("s1", note(n))
        await store.store_event("s2", note(100 + n))
    assert await replayed(store, first) == ("s1", [0, 1, 2])
    assert await replayed(store, "unknown") == (None, [])


async def test_the_store_keeps_at_most_its_events_per_stream_and_bytes_of_results():
    store = MemoryEventStore(max_events=100, max_per_stream=5, max_bytes=3000)
    ids = [await store.store_event("s", note(n)) for n in range(8)]
    assert store.size == 5 and (await replayed(store, ids[3]))[1] == [4, 5, 6, 7]
    for n in range(5):
        await store.store_event(f"r{n}", JSONRPCResponse(jsonrpc="2.0", id=n, result={"text": "x" * 1000}))
    assert store.size <= 5 + 3
