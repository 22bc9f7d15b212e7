"""Without jupyter-collaboration installed, the extension loads and the notebook service uses the files."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_extension_works_when_the_collaboration_packages_cannot_be_imported(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        for name in ("pycrdt", "jupyter_ydoc", "jupyter_server_ydoc", "jupyter_collaboration"):
            sys.modules[name] = None  # import fails, as when they are not installed
        import jupyter_mcp_ext.extension, jupyter_mcp_ext.server
        from jupyter_mcp_ext.notebooks.live import LiveDocuments
        live = LiveDocuments({})
        assert live.room("a.ipynb") is None and live.find("a.ipynb") is None and not live.enabled
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
