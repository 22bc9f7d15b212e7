"""execute_on_kernel(mode="code") returns outputs a model can use: text, images as images, readable errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ..conftest import MODES, error_text, result_json
from .conftest import PNG_HELPER, decoded_png_size, images_of, run_code, start_kernel, stream_text

pytestmark = pytest.mark.kernel

MAX_IMAGE_BYTES = 50_000
MAX_OUTPUT_CHARS = 2_000


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """Small limits, so that the tests reach them quickly."""
    limits = {"max_image_bytes": MAX_IMAGE_BYTES, "max_output_chars": MAX_OUTPUT_CHARS}
    return {**jp_server_config, "MCPExtensionApp": limits}


@pytest.mark.parametrize("mode", MODES)
async def test_code_returns_printed_text_result_and_keeps_variables_between_calls(mcp_client, mode):
    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        first = result_json(await run_code(client, kernel_id, "x = 40\nprint('hello')\nx + 2"))
        assert first["status"] == "ok" and first["success"] is True and first["error"] is None
        assert first["kernel_id"] == kernel_id and first["mode"] == "code"
        assert stream_text(first) == "hello\n"
        assert [o["text"] for o in first["outputs"] if o["output_type"] == "execute_result"] == ["42"]
        second = result_json(await run_code(client, kernel_id, "x * 2"))
        assert second["outputs"][-1]["text"] == "80"
        assert second["execution_count"] == first["execution_count"] + 1
        assert second["execution_time"] > 0


async def test_stdout_and_stderr_come_back_merged_in_the_order_they_were_written(mcp_client):
    code = (
        "import sys\n"
        "for i in range(3):\n"
        "    print('out', i, flush=True)\n"
        "print('err', file=sys.stderr, flush=True)\n"
        "print('out', 3, flush=True)\n"
    )
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code))
    streams = [(o["name"], o["text"]) for o in data["outputs"]]
    assert streams == [("stdout", "out 0\nout 1\nout 2\n"), ("stderr", "err\n"), ("stdout", "out 3\n")]


async def test_progress_bars_written_with_carriage_returns_show_their_last_state(mcp_client):
    code = "import sys\nfor i in range(101):\n    sys.stdout.write(f'\\r{i}%')\nprint()\nprint('\\x1b[31mred\\x1b[0m')"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code))
    assert stream_text(data) == "100%\nred\n"


async def test_an_exception_gives_status_error_with_ename_evalue_and_a_traceback_without_colour_codes(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_code(client, kernel_id, "print('before')\ndef f():\n    return 1/0\nf()")
    assert not result.is_error  # the call worked; the code raised
    data = result_json(result)
    assert data["status"] == "error"
    assert stream_text(data) == "before\n"
    error = data["error"]
    assert error["ename"] == "ZeroDivisionError" and error["evalue"] == "division by zero"
    trace = "\n".join(error["traceback"])
    assert "1/0" in trace and "f()" in trace and "\x1b[" not in trace
    # The traceback comes once: in error, not again in the error output.
    assert data["outputs"][-1] == {"output_type": "error", "ename": error["ename"], "evalue": error["evalue"]}
    assert result.content[0].text.count("Traceback (most recent call last)") == 1


async def test_input_fails_at_once_with_a_message_saying_to_put_values_in_the_code(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, "name = input('Your name? ')", timeout=30))
    assert data["status"] == "error"
    assert data["error"]["ename"] == "StdinNotImplementedError"
    assert "input" in data["message"] and "in the code" in data["message"]
    assert data["execution_time"] < 10


async def test_png_and_jpeg_displays_come_back_as_image_content_not_base64_in_the_json(mcp_client):
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9").decode()
    code = (
        PNG_HELPER + "from IPython.display import Image, display\n"
        "display(Image(png(32, 16)))\n"
        f"display({{'image/jpeg': '{jpeg}', 'text/plain': 'a jpeg'}}, raw=True)\n"
        "print('done')"
    )
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_code(client, kernel_id, code)
    data = result_json(result)
    images = images_of(result)
    assert [i.mime_type for i in images] == ["image/png", "image/jpeg"]
    assert decoded_png_size(images[0]) == (32, 16)
    assert images[1].data == jpeg
    text = result.content[0].text
    assert images[0].data not in text and jpeg not in text
    displays = [o for o in data["outputs"] if o["output_type"] == "display_data"]
    assert "image #1" in displays[0]["data"]["image/png"] and "32x16" in displays[0]["data"]["image/png"]
    assert "text" not in displays[0]  # "<IPython.core.display.Image object>" is dropped
    assert displays[1]["text"] == "a jpeg" and "image #2" in displays[1]["data"]["image/jpeg"]


async def test_an_image_over_max_image_bytes_is_described_instead_of_sent(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_code(
            client, kernel_id, PNG_HELPER + "from IPython.display import Image\nImage(png(200, 200, noise=True))"
        )
    data = result_json(result)
    assert images_of(result) == []
    note = data["outputs"][0]["data"]["image/png"]
    assert "not returned" in note and f"max_image_bytes={MAX_IMAGE_BYTES:,}" in note and "200x200" in note


async def test_html_or_markdown_only_outputs_are_returned_as_readable_text(mcp_client):
    code = (
        "from IPython.display import HTML, Markdown, display\n"
        "display(HTML('<h3>Totals</h3><table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
        "<script>alert(1)</script>'))\n"
        "display(Markdown('**bold** text'))\n"
    )
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code))
    html, markdown = (o["text"] for o in data["outputs"])
    assert html == "Totals\na\tb\n1\t2"
    assert markdown == "**bold** text"


async def test_long_output_keeps_its_start_and_end_around_a_marker_saying_how_much_was_cut(mcp_client):
    code = "for i in range(5000):\n    print(f'line {i}')"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code))  # the server's max_output_chars
        full = result_json(await run_code(client, kernel_id, code, max_output_chars=0))
    text = stream_text(data)
    total = sum(len(f"line {i}\n") for i in range(5000))
    assert text.startswith("line 0\nline 1\n") and text.endswith("line 4999\n")
    assert "characters cut here by max_output_chars" in text and f"of {total:,}" in text
    assert "larger max_output_chars" in text
    assert data["truncated_chars"] == total - MAX_OUTPUT_CHARS
    assert len(text) < MAX_OUTPUT_CHARS + 400
    assert stream_text(full) == "".join(f"line {i}\n" for i in range(5000))


async def test_a_small_output_stays_whole_when_a_large_one_is_cut(mcp_client):
    code = "print('x' * 10_000)\nimport sys\nprint('small and important', file=sys.stderr)"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code, max_output_chars=1_000))
    assert stream_text(data, "stderr") == "small and important\n"
    assert "cut here" in stream_text(data, "stdout")


async def test_updated_and_cleared_displays_show_their_final_state(mcp_client):
    code = (
        "from IPython.display import display, clear_output\n"
        "handle = display('first', display_id=True)\n"
        "handle.update('updated')\n"
        "print('gone')\n"
        "clear_output(wait=True)\n"
        "print('kept')\n"
    )
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code))
    assert data["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "kept\n"}]


async def test_the_json_text_block_holds_the_same_result_as_structured_content(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_code(client, kernel_id, "print(1)")
    assert result.structured_content["outputs"][0]["text"] == "1\n"
    assert json.loads(result.content[0].text) == result.structured_content


async def test_a_result_with_an_image_is_its_json_text_and_the_image_without_a_structured_copy(mcp_client):
    # A client that prefers structured content would give the model that copy alone, without the image.
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        result = await run_code(
            client, kernel_id, PNG_HELPER + "from IPython.display import Image\nprint('chart')\nImage(png(40, 30))"
        )
    assert result.structured_content is None
    assert [block.type for block in result.content] == ["text", "image"]
    data = json.loads(result.content[0].text)
    assert data["status"] == "ok" and data["outputs"][0]["text"] == "chart\n"
    assert "image #1" in json.dumps(data["outputs"][1])


async def test_code_mode_without_code_or_with_a_path_is_refused_naming_the_argument(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        missing = error_text(await client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "code"}))
        extra = error_text(await run_code(client, kernel_id, "1", path="a.ipynb"))
    assert "needs code" in missing
    assert "takes no path" in extra and "notebook_cell" in extra
