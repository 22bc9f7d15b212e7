"""The per-path lock and the ContentsManager wrapper: what they guarantee on their own, on the server's
real ContentsManager classes."""

from __future__ import annotations

import asyncio
import time

import nbformat
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager, LargeFileManager

from jupyter_mcp_ext.notebooks.locks import PathLocks, guard_contents_manager, lock_key


def test_the_server_keeps_its_own_contents_manager_object_and_class(jp_serverapp):
    cm = jp_serverapp.contents_manager
    assert type(cm) is AsyncLargeFileManager and isinstance(cm, AsyncFileContentsManager)
    assert jp_serverapp.web_app.settings["contents_manager"] is cm
    services = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"]
    assert guard_contents_manager(cm) is services.notebooks.locks, "one PathLocks per ContentsManager"
    assert getattr(cm.save, "__jupyter_mcp_ext_guarded__", False) and not hasattr(type(cm).save, "__wrapped__")


def test_a_sync_contents_manager_is_left_as_it_is(tmp_path):
    cm = LargeFileManager(root_dir=str(tmp_path))
    guard_contents_manager(cm)
    assert "save" not in vars(cm) and "get" not in vars(cm), "sync calls run whole on the loop: nothing to wrap"


def test_spellings_of_one_path_share_a_lock():
    assert lock_key("/dir//sub/./nb.ipynb") == lock_key("dir/sub/nb.ipynb") == "dir/sub/nb.ipynb"


async def test_a_save_inside_the_write_lock_of_the_same_task_does_not_deadlock(tmp_path):
    cm = AsyncLargeFileManager(root_dir=str(tmp_path))
    locks = guard_contents_manager(cm)
    nb = nbformat.v4.new_notebook()
    async with locks.write("nb.ipynb"):  # save() calls get() and create_checkpoint() itself
        await asyncio.wait_for(cm.save({"type": "notebook", "content": nb}, "nb.ipynb"), 10)
        model = await asyncio.wait_for(cm.get("nb.ipynb", require_hash=True), 10)
    assert model["hash"] and not locks.busy("nb.ipynb")


async def test_readers_share_a_path_and_a_writer_waits_for_them_but_is_not_starved():
    locks = PathLocks()
    log: list[str] = []

    async def reader(n: int) -> None:
        for _ in range(20):
            async with locks.read("a.ipynb"):
                log.append(f"r{n}+")
                await asyncio.sleep(0.005)
                log.append(f"r{n}-")

    async def writer() -> float:
        await asyncio.sleep(0.02)
        started = time.monotonic()
        async with locks.write("a.ipynb"):
            log.append("w+")
            await asyncio.sleep(0.005)
            log.append("w-")
        return time.monotonic() - started

    *_, waited = await asyncio.gather(reader(1), reader(2), writer())
    at = log.index("w+")
    assert log[at + 1] == "w-", "nobody reads beside the writer"
    assert log.count("r1+") == log.count("r1-") == 20
    assert any(log[i].endswith("+") and log[i + 1].endswith("+") for i in range(len(log) - 1)), "readers overlap"
    assert at < len(log) - 10 and waited < 1, "the writer got in while readers kept coming"


async def test_two_multi_path_writers_in_opposite_order_do_not_deadlock():
    locks = PathLocks()

    async def move(a: str, b: str) -> None:
        for _ in range(50):
            async with locks.write(a, b):
                await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(move("x.ipynb", "y.ipynb"), move("y.ipynb", "x.ipynb")), 10)
    assert not locks.busy("x.ipynb") and not locks.busy("y.ipynb")
