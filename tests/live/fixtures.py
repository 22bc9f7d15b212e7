"""Fixtures that run the notebook tests in both modes: with JupyterLab's real-time collaboration on
(each notebook a test makes is open in a room, as a JupyterLab tab) and without it.

Import them into a test module or conftest (``from ..live.fixtures import *``): the autouse
``notebook_backend`` fixture then runs each test twice, ``[file]`` and ``[live]``.

In ``live`` mode, ``jp_server_config`` enables ``jupyter_server_ydoc`` and the file-id service;
``make_notebook`` and ``data_notebook`` note each notebook they write, and ``mcp_client`` opens
each of them in a ``LabClient`` before connecting (they stay open until the test ends). Leaving an
``mcp_client`` block waits until the rooms have saved what changed, as a person would wait for
JupyterLab's autosave before looking at the file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from ..conftest import TOKEN
from .yclient import LabClient, open_in_lab

#: Seconds a room waits after a change before saving, in these tests (JupyterLab's default is 1).
SAVE_DELAY = 0.1


def collaboration_config(root_dir: Any, save_delay: float = SAVE_DELAY, **ydoc: Any) -> dict[str, Any]:
    """Server config that runs jupyter-collaboration's server side with its state under ``root_dir``'s parent."""
    state = root_dir.parent
    return {
        "jpserver_extensions": {"jupyter_server_ydoc": True, "jupyter_server_fileid": True},
        "SQLiteYStore": {"db_path": str(state / "ystore.db")},
        "BaseFileIdManager": {"root_dir": str(root_dir), "db_path": str(state / "fileid.db"), "db_journal_mode": "OFF"},
        "YDocExtension": {"document_save_delay": save_delay, "file_poll_interval": 0.5, **ydoc},
    }


def merge_config(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra``'s sections merged in (``jpserver_extensions`` goes under ``ServerApp``)."""
    config = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    server = dict(config.get("ServerApp", {}))
    server["jpserver_extensions"] = {**server.get("jpserver_extensions", {}), **extra.get("jpserver_extensions", {})}
    config["ServerApp"] = server
    for section, values in extra.items():
        if section != "jpserver_extensions":
            config[section] = {**config.get(section, {}), **values}
    return config


@pytest.fixture(params=["file", "live"], autouse=True)
def notebook_backend(request: Any) -> str:
    """Which back end the notebook service uses in this test: the file, or the live document."""
    return str(request.param)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], notebook_backend: str, jp_root_dir: Any) -> dict[str, Any]:
    if notebook_backend != "live":
        return jp_server_config
    return merge_config(jp_server_config, collaboration_config(jp_root_dir))


class Lab:
    """The JupyterLab tabs of a live-mode test: one ``LabClient`` per notebook the test made."""

    def __init__(self, serverapp: Any, server_url: str) -> None:
        self.serverapp = serverapp
        self.server_url = server_url
        self.wanted: list[str] = []
        self.clients: dict[str, LabClient] = {}
        self.stack = AsyncExitStack()

    async def open_all(self) -> None:
        for path in self.wanted:
            # JupyterLab cannot open hidden files where the server hides them; neither do these tabs.
            hidden = any(part.startswith(".") for part in path.split("/"))
            allowed = getattr(self.serverapp.contents_manager, "allow_hidden", False)
            if path not in self.clients and (allowed or not hidden):
                self.clients[path] = await self.stack.enter_async_context(open_in_lab(self.server_url, TOKEN, path))

    def rooms(self) -> list[Any]:
        ydoc = self.serverapp.web_app.settings.get("jupyter_server_ydoc")
        if ydoc is None:
            return []
        return [r for c in self.clients.values() if (r := ydoc.ywebsocket_server.rooms.get(c.room_id)) is not None]

    async def saved(self, timeout: float = 20.0) -> None:
        """Wait until every open room has written its document to the file (no save pending)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = [
                r.room_id
                for r in self.rooms()
                if (r._saving_document is not None and not r._saving_document.done()) or r._update_lock.locked()
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"rooms {pending} still had a save pending after {timeout} s")
            await asyncio.sleep(0.02)


@pytest.fixture
def lab(jp_serverapp: Any, server_url: str, jp_asyncio_loop: Any) -> Iterator[Lab]:
    """The open JupyterLab tabs of this test (none in ``file`` mode); closed after the test."""
    tabs = Lab(jp_serverapp, server_url)
    yield tabs
    jp_asyncio_loop.run_until_complete(tabs.stack.aclose())


@pytest.fixture
def make_notebook(make_notebook: Callable[..., str], lab: Lab, notebook_backend: str) -> Callable[..., str]:
    def make(*args: Any, **kwargs: Any) -> str:
        path = make_notebook(*args, **kwargs)
        if notebook_backend == "live":
            lab.wanted.append(path)
        return path

    return make


@pytest.fixture
def data_notebook(data_notebook: Callable[..., str], lab: Lab, notebook_backend: str) -> Callable[..., str]:
    def copy(*args: Any, **kwargs: Any) -> str:
        path = data_notebook(*args, **kwargs)
        if notebook_backend == "live":
            lab.wanted.append(path)
        return path

    return copy


@pytest.fixture
def mcp_client(mcp_client: Callable[..., Any], lab: Lab) -> Callable[..., Any]:
    @asynccontextmanager
    async def connect(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await lab.open_all()
        async with mcp_client(*args, **kwargs) as client:
            yield client
        await lab.saved()

    return connect


__all__ = ["data_notebook", "jp_server_config", "lab", "make_notebook", "mcp_client", "notebook_backend"]
