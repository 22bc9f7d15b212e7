"""Following a notebook or a job without polling: resources/subscribe (2025-11-25) and subscriptions/listen
(2026-07-28), told of every change — another client's edit, a JupyterLab save, a job's output — at most once a
second, never to an identity that may not read it, and no longer once the session ends."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from ..conftest import listed_cells, poll, result_json
from ..integrity.test_sessions import TwoUsers, as_user

pytestmark = [
    pytest.mark.kernel,
    # The SDK's client marks resources/subscribe deprecated: 2025-11-25 clients still use it.
    pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed"),
]


async def test_a_legacy_subscriber_is_told_of_another_clients_edit(mcp_client, make_notebook, received):
    make_notebook("nb.ipynb", ["a = 1"])
    async with mcp_client(message_handler=received) as watcher, mcp_client() as editor:
        await watcher.subscribe_resource("notebook://nb.ipynb")
        result_json(await editor.call_tool("update_cell", {"path": "nb.ipynb", "index": 0, "source": "a = 2"}))
        await received.update_of("notebook://nb.ipynb")
        view = await watcher.read_resource("notebook://nb.ipynb")
    assert listed_cells(json.loads(view.contents[0].text))[0]["preview"] == "a = 2"


async def test_a_legacy_subscriber_is_told_of_a_jupyterlab_save(mcp_client, make_notebook, contents_api, received):
    path = make_notebook("saved.ipynb", ["a = 1"])
    async with mcp_client(message_handler=received) as watcher, contents_api() as rest:
        await watcher.subscribe_resource("notebook://saved.ipynb")
        model = (await rest.get(f"api/contents/{path}")).json()
        model["content"]["cells"][0]["source"] = "a = 'typed in Lab'"
        saved = await rest.put(f"api/contents/{path}", json={"type": "notebook", "content": model["content"]})
        assert saved.status_code == 200, saved.text
        await received.update_of("notebook://saved.ipynb")


async def test_a_legacy_subscriber_is_told_of_a_jobs_output_and_the_jobs_progress(mcp_client, make_notebook, received):
    make_notebook("run.ipynb", ["import time; time.sleep(0.5)", "print('done')"])
    async with mcp_client(message_handler=received) as watcher:
        await watcher.subscribe_resource("notebook://run.ipynb")
        job = result_json(await watcher.call_tool("execute_notebook", {"notebook_path": "run.ipynb", "mode": "async"}))
        job_uri = f"job://{job['job_id']}"
        await watcher.subscribe_resource(job_uri)
        await received.update_of(job_uri)

        async def finished() -> bool:
            status = result_json(
                await watcher.call_tool("manage_async_job", {"operation": "status", "job_id": job["job_id"]})
            )
            return status["status"] == "completed"

        await poll(finished, 60, "the job to finish")
        await received.update_of(job_uri, 2)


async def test_updates_come_at_most_once_a_second_per_notebook(mcp_client, make_notebook, received):
    make_notebook("busy.ipynb", ["a = 0"])
    async with mcp_client(message_handler=received) as watcher, mcp_client() as editor:
        await watcher.subscribe_resource("notebook://busy.ipynb")
        started = time.monotonic()
        for i in range(8):
            await editor.call_tool("update_cell", {"path": "busy.ipynb", "index": 0, "source": f"a = {i + 1}"})
        elapsed = time.monotonic() - started
        await received.update_of("notebook://busy.ipynb")
        await asyncio.sleep(1.5)
    count = len(received.updates("notebook://busy.ipynb"))
    assert 1 <= count <= elapsed + 2, (count, elapsed)


async def test_unsubscribing_and_ending_the_session_stop_the_updates(mcp_client, make_notebook, received, jp_serverapp):
    native = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].native
    make_notebook("quiet.ipynb", ["a = 0"])
    async with mcp_client() as editor:
        async with mcp_client(message_handler=received) as watcher:
            await watcher.subscribe_resource("notebook://quiet.ipynb")
            await watcher.unsubscribe_resource("notebook://quiet.ipynb")
            with pytest.raises(MCPError) as again:
                await watcher.unsubscribe_resource("notebook://quiet.ipynb")
            await watcher.subscribe_resource("notebook://quiet.ipynb")
            assert native.subscriptions.watched() == [("notebook", "quiet.ipynb")]

        async def forgotten() -> bool:
            return native.subscriptions.watched() == [] and native.subscriptions.session_count() == 0

        await poll(forgotten, 10, "the ended session's subscriptions to be dropped")
        await editor.call_tool("update_cell", {"path": "quiet.ipynb", "index": 0, "source": "a = 1"})
        await asyncio.sleep(1.5)
    assert received.updates() == []
    assert "not subscribed" in again.value.error.message


async def test_subscribing_to_what_does_not_exist_or_is_not_a_resource_is_refused(mcp_client):
    async with mcp_client() as client:
        with pytest.raises(MCPError) as missing:
            await client.subscribe_resource("notebook://deleted.ipynb")
        with pytest.raises(MCPError) as outside:
            await client.subscribe_resource("notebook:///etc/x.ipynb")
        with pytest.raises(MCPError) as unknown:
            await client.subscribe_resource("test://watched-resource")
    assert missing.value.error.code == -32002 and "deleted.ipynb" in missing.value.error.message
    assert outside.value.error.code == -32602 and "uri" in outside.value.error.message
    assert unknown.value.error.code == -32602 and "notebook://<path>" in unknown.value.error.message


async def test_a_deleted_notebook_is_told_once_and_its_subscription_ends(
    mcp_client, make_notebook, contents_api, received
):
    make_notebook("gone.ipynb", ["a = 0"])
    async with mcp_client(message_handler=received) as watcher, contents_api() as rest:
        await watcher.subscribe_resource("notebook://gone.ipynb")
        assert (await rest.delete("api/contents/gone.ipynb")).status_code == 204
        await received.update_of("notebook://gone.ipynb")
        with pytest.raises(MCPError) as read:
            await watcher.read_resource("notebook://gone.ipynb")
        with pytest.raises(MCPError):
            await watcher.unsubscribe_resource("notebook://gone.ipynb")
    assert read.value.error.code == -32002


async def test_a_2026_listener_is_told_of_another_clients_edit(mcp_client, make_notebook, jp_serverapp):
    native = jp_serverapp.web_app.settings["jupyter_mcp_ext_services"].native
    make_notebook("listened.ipynb", ["a = 1"])
    async with mcp_client(mode="2026-07-28") as watcher, mcp_client() as editor:
        async with watcher.listen(resource_subscriptions=["notebook://listened.ipynb"]) as subscription:
            assert subscription.honored.resource_subscriptions == ["notebook://listened.ipynb"]
            await editor.call_tool("update_cell", {"path": "listened.ipynb", "index": 0, "source": "a = 2"})
            event = await asyncio.wait_for(subscription.__anext__(), 20)

        async def closed() -> bool:
            return native.subscriptions.watched() == [] and native.bus.listener_count() == 0

        await poll(closed, 10, "the listen stream's followers to be dropped")
    assert event == ResourceUpdated(uri="notebook://listened.ipynb")


async def test_a_2026_listen_to_a_missing_notebook_is_refused_before_the_stream_opens(mcp_client):
    async with mcp_client(mode="2026-07-28") as client:
        with pytest.raises(MCPError) as refused:
            async with client.listen(resource_subscriptions=["notebook://a.ipynb", "notebook://nope.ipynb"]):
                pass
    assert (
        "resourceSubscriptions[0]" in refused.value.error.message
        or "resourceSubscriptions[1]" in refused.value.error.message
    )


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "identity_provider_class": TwoUsers,
                "authorizer_class": "tests.native.authorizers.NoContentsForBob",
                "allow_root": True,
                "jpserver_extensions": {"jupyter_mcp_ext": True},
            }
        }
    ],
    indirect=False,
    ids=["alice-and-bob"],
)
async def test_no_update_reaches_an_identity_that_may_not_read_the_notebook(
    mcp_client, make_notebook, received, jp_server_config
):
    make_notebook("private.ipynb", ["secret = 1"])
    bob_received = type(received)()
    async with (
        mcp_client(headers=as_user("alice-token"), message_handler=received) as alice,
        mcp_client(headers=as_user("bob-token"), message_handler=bob_received) as bob,
    ):
        await alice.subscribe_resource("notebook://private.ipynb")
        with pytest.raises(MCPError) as refused:
            await bob.subscribe_resource("notebook://private.ipynb")
        listed = [r.uri for r in (await bob.list_resources()).resources]
        await alice.call_tool("update_cell", {"path": "private.ipynb", "index": 0, "source": "secret = 2"})
        await received.update_of("notebook://private.ipynb")
    assert "Not allowed" in refused.value.error.message
    assert bob_received.updates() == [] and not [u for u in listed if u.startswith("notebook://")]


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "identity_provider_class": TwoUsers,
                "authorizer_class": "tests.native.authorizers.NoContentsForBob",
                "allow_root": True,
                "jpserver_extensions": {"jupyter_mcp_ext": True},
            }
        }
    ],
    ids=["alice-and-bob"],
)
async def test_a_2026_listen_of_an_identity_that_may_not_read_is_refused(mcp_client, make_notebook, jp_server_config):
    make_notebook("private26.ipynb", ["secret = 1"])
    async with mcp_client(mode="2026-07-28", headers=as_user("bob-token")) as bob:
        with pytest.raises(MCPError) as refused:
            async with bob.listen(resource_subscriptions=["notebook://private26.ipynb"]):
                pass
    assert "Not allowed" in refused.value.error.message


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "identity_provider_class": TwoUsers,
                "authorizer_class": "tests.native.authorizers.Revocable",
                "allow_root": True,
                "jpserver_extensions": {"jupyter_mcp_ext": True},
            }
        }
    ],
    ids=["revocable"],
)
async def test_a_follower_whose_grant_was_revoked_hears_nothing_more(
    mcp_client, make_notebook, received, jp_server_config
):
    from .authorizers import Revocable

    make_notebook("revoked.ipynb", ["a = 1"])
    uri = "notebook://revoked.ipynb"
    try:
        async with (
            mcp_client(headers=as_user("alice-token"), message_handler=received) as legacy,
            mcp_client(mode="2026-07-28", headers=as_user("alice-token")) as modern,
            mcp_client(headers=as_user("bob-token")) as editor,
        ):
            await legacy.subscribe_resource(uri)
            async with modern.listen(resource_subscriptions=[uri]) as stream:
                Revocable.no_contents.add("alice")
                await editor.call_tool("update_cell", {"path": "revoked.ipynb", "index": 0, "source": "a = 2"})
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(stream.__anext__(), 2.5)
                assert received.updates() == []
                # Granted again: the same streams hear the next change (they were silent, not broken).
                Revocable.no_contents.clear()
                await editor.call_tool("update_cell", {"path": "revoked.ipynb", "index": 0, "source": "a = 3"})
                assert await asyncio.wait_for(stream.__anext__(), 20) == ResourceUpdated(uri=uri)
                await received.update_of(uri)
    finally:
        Revocable.no_contents.clear()


async def test_a_cell_subscriber_is_told_of_its_notebooks_changes(mcp_client, make_notebook, received):
    make_notebook("celled.ipynb", ["a = 1", "b = 1"])
    async with mcp_client(message_handler=received) as watcher, mcp_client() as editor:
        view = await watcher.read_resource("notebook://celled.ipynb")
        cell_id = listed_cells(json.loads(view.contents[0].text))[1]["id"]
        uri = f"notebook-cell://celled.ipynb/{cell_id}"
        await watcher.subscribe_resource(uri)
        with pytest.raises(MCPError):
            await watcher.subscribe_resource("notebook-cell://celled.ipynb/gone")
        await editor.call_tool("update_cell", {"path": "celled.ipynb", "cell_id": cell_id, "source": "b = 2"})
        await received.update_of(uri)


async def test_a_subscriber_of_a_jobs_output_notebook_is_told_when_the_job_writes_it(
    mcp_client, make_notebook, received
):
    make_notebook("source.ipynb", ["print('written by the job')"])
    make_notebook("outputs/result.ipynb", ["'an older run'"])
    async with mcp_client(message_handler=received) as watcher:
        await watcher.subscribe_resource("notebook://outputs/result.ipynb")
        done = result_json(
            await watcher.call_tool(
                "execute_notebook", {"notebook_path": "source.ipynb", "output_path": "outputs/result.ipynb"}
            )
        )
        await received.update_of("notebook://outputs/result.ipynb")
        view = await watcher.read_resource("notebook://outputs/result.ipynb")
    assert done["execution_status"] == "completed" and done["output_path"] == "outputs/result.ipynb"
    assert "written by the job" in view.contents[0].text
