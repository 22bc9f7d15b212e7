"""Run every benchmark of bench/ (``python bench/run.py [name ...]``) and print their figures.

Each ``bench/bench_<name>.py`` is a standalone script that measures its subject and a baseline
in the same process, prints a table with the ratio, and writes ``bench/results/<name>.json``.
They run one after another, each in a fresh interpreter, so that one's kernels, servers and
memory do not disturb the next.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {rc} in {time.perf_counter() - started:.1f} s", flush=True)
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
