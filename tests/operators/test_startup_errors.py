"""A setting that is not valid, from any source, stops the server's start-up with one message naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..test_transport import free_port


def start_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 90) -> tuple[int, str]:
    """Run ``jupyter server`` with the extension; return (exit code, stderr). A server that starts is a failure."""
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MCP_")}
    environ.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        **(env or {}),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--allow-root",
        "--no-browser",
        f"--port={free_port()}",
        f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=t",
        '--ServerApp.jpserver_extensions={"jupyter_mcp_ext": True}',
        *args,
    ]
    proc = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the server started although its configuration is not valid")
    return proc.returncode, stderr


def refusal(stderr: str) -> str:
    """The extension's start-up refusal in the server's log, checked to be a message and not a traceback."""
    assert "Traceback" not in stderr, stderr
    assert "jupyter_mcp_ext: the server does not start because" in stderr, stderr
    return stderr[stderr.index("jupyter_mcp_ext: the server does not start") :]


def test_bad_values_on_the_command_line_are_all_named_with_what_is_valid(tmp_path):
    code, stderr = start_server(
        tmp_path,
        "--MCPExtensionApp.execution_timeout=-1",
        "--MCPExtensionApp.max_kernels=many",
        "--MCPExtensionApp.job_executor_class=no_such_module.Executor",
        "--MCPExtensionApp.error_output_type=medium",
    )
    message = refusal(stderr)
    assert code == 1
    assert "these 4 settings are not valid" in message
    assert "MCPExtensionApp.execution_timeout = '-1'" in message and "a number >= 0" in message
    assert "MCPExtensionApp.max_kernels = 'many'" in message and "a whole number >= 0" in message
    assert "No module named 'no_such_module'" in message
    assert "a subclass of jupyter_mcp_ext.jobs.executor.JobExecutor" in message
    assert "one of 'full', 'short'" in message


def test_a_misspelt_setting_in_jupyter_server_config_stops_start_up_with_the_name_it_meant(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text("c.MCPExtensionApp.read_onyl = True\n")
    code, stderr = start_server(tmp_path)
    message = refusal(stderr)
    assert code == 1
    assert "'read_onyl' is not a setting of MCPExtensionApp. Did you mean 'read_only'?" in message
    assert "Valid names: allow_server_shutdown, allowed_tools," in message
    assert "answer_yes" not in message, "only the extension's own settings are listed"


def test_the_json_file_and_environment_are_checked_too(tmp_path):
    settings = tmp_path / "mcp.json"
    settings.write_text(json.dumps({"read_only": True, "max_kernel": 3, "jupyter_timeout": 0}))
    env = {"JUPYTER_MCP_CONFIG": str(settings), "JUPYTER_MCP_MAX_OUTPUT_CHARS": "lots"}
    code, stderr = start_server(tmp_path, env=env)
    message = refusal(stderr)
    assert code == 1
    assert f"JUPYTER_MCP_CONFIG file {settings}: 'max_kernel' is not a setting" in message
    assert "Did you mean 'max_kernels'?" in message
    assert "MCPExtensionApp.jupyter_timeout = 0 (from JUPYTER_MCP_CONFIG file" in message and "> 0" in message
    assert (
        "MCPExtensionApp.max_output_chars = 'lots' (from environment variable JUPYTER_MCP_MAX_OUTPUT_CHARS)" in message
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{'read_only': true}", "not valid JSON (line 1, column 2"),
        ("[1, 2]", "the file must hold a JSON object of settings"),
        (None, "the file does not exist"),
    ],
)
def test_a_json_file_that_cannot_be_used_stops_start_up(tmp_path, content, expected):
    settings = tmp_path / "mcp.json"
    if content is not None:
        settings.write_text(content)
    code, stderr = start_server(tmp_path, env={"JUPYTER_MCP_CONFIG": str(settings)})
    assert code == 1
    assert f"JUPYTER_MCP_CONFIG={settings}: {expected}" in refusal(stderr)


def test_unknown_tool_names_and_an_output_directory_outside_the_root_stop_start_up(tmp_path):
    code, stderr = start_server(
        tmp_path,
        '--MCPExtensionApp.allowed_tools=["read_cells", "run_everything"]',
        "--MCPExtensionApp.denied_tools=read_cell",
        "--MCPExtensionApp.output_directory=../outside",
    )
    message = refusal(stderr)
    assert code == 1
    assert "MCPExtensionApp.allowed_tools names 'run_everything', which is not a tool of this server" in message
    assert "valid names: add_cell, create_notebook, execute_notebook," in message
    assert "'read_cell', which is not a tool of this server: it is a deprecated alias of read_cells" in message
    assert "MCPExtensionApp.output_directory = '../outside' is not valid" in message
    assert "these 3 settings are not valid" in message


def test_help_all_lists_the_settings_with_the_help_of_docs_configuration():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mcp_ext.cli", "--help-all"], capture_output=True, text=True, timeout=120
    ).stdout
    for name in ("read_only", "allowed_tools", "denied_tools", "execution_timeout", "job_executor_class"):
        assert f"--MCPExtensionApp.{name}=" in out
    assert "Offer only the tools that change nothing" in out and "open_browser" not in out
