"""A person typing in JupyterLab (a real Y client in the notebook's collaboration room) is seen by subscribers at
once, before the room saves the file."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.subscriptions import ResourceUpdated

from ..conftest import TOKEN
from ..live.fixtures import collaboration_config, merge_config
from ..live.yclient import lab_user, open_in_lab

pytestmark = [pytest.mark.kernel, pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], jp_root_dir: Any) -> dict[str, Any]:
    # The room saves only after a minute: an update can only come from the document itself.
    return merge_config(jp_server_config, collaboration_config(jp_root_dir, 60))


async def test_a_legacy_subscriber_sees_a_person_typing_in_jupyterlab(mcp_client, make_notebook, server_url, received):
    make_notebook("typed.ipynb", ["a = 1"])
    async with open_in_lab(server_url, TOKEN, "typed.ipynb", user=lab_user("person")) as tab:
        async with mcp_client(message_handler=received) as watcher:
            await watcher.subscribe_resource("notebook://typed.ipynb")
            cell_id = str(tab.doc.ycells[0]["id"])
            tab.type_into(cell_id, "  # typed")
            await received.update_of("notebook://typed.ipynb")
            view = await watcher.read_resource("notebook://typed.ipynb")
    assert "a = 1  # typed" in view.contents[0].text


async def test_a_2026_listener_sees_a_person_typing_in_jupyterlab(mcp_client, make_notebook, server_url):
    import asyncio

    make_notebook("typed26.ipynb", ["b = 1"])
    async with open_in_lab(server_url, TOKEN, "typed26.ipynb", user=lab_user("person")) as tab:
        async with mcp_client(mode="2026-07-28") as watcher:
            async with watcher.listen(resource_subscriptions=["notebook://typed26.ipynb"]) as subscription:
                tab.type_into(str(tab.doc.ycells[0]["id"]), "0")
                event = await asyncio.wait_for(subscription.__anext__(), 20)
    assert event == ResourceUpdated(uri="notebook://typed26.ipynb")
