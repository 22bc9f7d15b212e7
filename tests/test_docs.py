"""The documentation stays in step with the code."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_page_lists_every_trait_as_the_code_defines_it():
    render = runpy.run_path(str(ROOT / "docs" / "make_configuration.py"))["render"]
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run: python docs/make_configuration.py"
