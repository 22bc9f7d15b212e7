"""Fixtures of the live-notebook tests: a server with jupyter-collaboration, and JupyterLab-like Y clients."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from ..conftest import TOKEN
from .fixtures import collaboration_config, merge_config
from .yclient import LabClient, lab_user, open_in_lab, open_room


def collaboration(**ydoc: Any) -> Callable[[Any], Any]:
    """Run the decorated test with these ``YDocExtension`` traits (e.g. ``document_save_delay=60``)."""

    def mark(test: Any) -> Any:
        test.ydoc_config = ydoc
        return test

    return mark


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], jp_root_dir: Any, request: Any) -> dict[str, Any]:
    ydoc = dict(getattr(request.function, "ydoc_config", {}))
    save_delay = ydoc.pop("document_save_delay", 0.2)
    return merge_config(jp_server_config, collaboration_config(jp_root_dir, save_delay, **ydoc))


@pytest.fixture
def open_lab(server_url: str) -> Callable[..., AbstractAsyncContextManager[LabClient]]:
    """``async with open_lab("nb.ipynb") as tab``: the notebook open in a JupyterLab-like Y client."""

    def connect(path: str, user: str = "person") -> AbstractAsyncContextManager[LabClient]:
        return open_in_lab(server_url, TOKEN, path, user=lab_user(user))

    return connect


@pytest.fixture
def rooms(jp_serverapp: Any) -> Callable[[], dict[str, Any]]:
    """The collaboration rooms in memory, by room id."""

    def get() -> dict[str, Any]:
        return dict(jp_serverapp.web_app.settings["jupyter_server_ydoc"].ywebsocket_server.rooms)

    return get


@pytest.fixture
def open_lab_awareness(server_url: str) -> Callable[..., AbstractAsyncContextManager[LabClient]]:
    """``async with open_lab_awareness() as everyone``: JupyterLab's global awareness room, as a tab joins it."""

    def connect(user: str = "person") -> AbstractAsyncContextManager[LabClient]:
        return open_room(server_url, TOKEN, "JupyterLab:globalAwareness", user=lab_user(user))

    return connect


@pytest.fixture
def kernels_stopped(jp_serverapp: Any, jp_asyncio_loop: Any):
    """The test leaves no kernel behind."""
    yield
    jp_asyncio_loop.run_until_complete(jp_serverapp.kernel_manager.shutdown_all(now=True))
