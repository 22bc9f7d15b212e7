"""The files of a job's directory (shared by the server and the job process): events, log, stop.

The runner writes them and the server reads them.

``<state_dir>/<job_id>/`` holds:

- ``events.jsonl``: the runner's state changes, one JSON object a line (``accepted``,
  ``kernel_started``, ``progress``, ``finished``). The server tails it; after a restart it reads
  it again to learn how far the job got.
- ``log.jsonl``: the job's log, one JSON object a line: ``{"t": seconds since the epoch,
  "level": "info" | "warning" | "error" | "stdout" | "stderr", "message": str}``. Line N of
  the file is log line N (1-based).
- ``runner.log``: the runner's and the kernel's raw stdout/stderr (diagnostics only).
- ``stop``: written by the server before it signals the runner; holds the reason
  (``cancel`` or ``server_shutdown``).

Only the stdlib is imported here: the runner imports this module too.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import IO, Any

EVENTS = "events.jsonl"
LOG = "log.jsonl"
RUNNER_LOG = "runner.log"
STOP = "stop"

#: Longest log line kept, in characters; longer ones are cut with a marker.
MAX_LINE_CHARS = 10_000


class JsonLinesWriter:
    """Appends JSON lines to a file (or to an open text ``stream``, such as a pipe), one write and
    flush per line, safe across threads."""

    def __init__(self, path: str | None = None, *, stream: IO[str] | None = None) -> None:
        self._lock = threading.Lock()
        if stream is not None:
            self._file = stream
        else:
            assert path is not None, "a path or a stream"
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the job

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def log_record(level: str, message: str) -> dict[str, Any]:
    """A log line as a job's log holds it (``{"t", "level", "message"}``), an overlong message cut."""
    if len(message) > MAX_LINE_CHARS:
        message = message[:MAX_LINE_CHARS] + f" [... {len(message) - MAX_LINE_CHARS} more characters cut]"
    return {"t": time.time(), "level": level, "message": message}


class LogWriter(JsonLinesWriter):
    """Writes log lines (``{"t", "level", "message"}``), cutting overlong ones."""

    def log(self, level: str, message: str) -> None:
        self.write(log_record(level, message))


class StreamLines:
    """A file-like object that turns a notebook's stream text into log lines.

    Papermill writes stdout/stderr text here as it arrives (``stdout_file=``/``stderr_file=``);
    text is cut at newlines and a partial line waits for its end, ``flush_partial`` or a cap.
    """

    def __init__(self, log: LogWriter, level: str) -> None:
        self._log = log
        self._level = level
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._log.log(self._level, line.rstrip("\r"))
        if len(self._buffer) > MAX_LINE_CHARS:
            self.flush_partial()
        return len(text)

    def flush(self) -> None:
        """Called by papermill after each write; a partial line keeps waiting for its end."""

    def flush_partial(self) -> None:
        if self._buffer:
            self._log.log(self._level, self._buffer.rstrip("\r"))
            self._buffer = ""


class JsonLinesTail:
    """Reads the complete JSON lines appended to a file since the last call."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._offset = 0

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self._offset += end + 1
        records = []
        for raw in data[: end + 1].splitlines():
            try:
                records.append(json.loads(raw))
            except ValueError:
                continue
        return records


class LogIndex:
    """Random access to the lines of a growing ``log.jsonl``: keeps the byte offset of each line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._starts: list[int] = []
        self._scanned = 0

    def _scan(self) -> None:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return
        if size <= self._scanned:
            return
        with open(self.path, "rb") as f:
            f.seek(self._scanned)
            data = f.read(size - self._scanned)
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            self._starts.append(self._scanned + pos)
            pos = nl + 1
        self._scanned += pos

    def count(self) -> int:
        """Number of complete lines now."""
        self._scan()
        return len(self._starts)

    def read(self, since_line: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Lines ``since_line + 1`` .. ``since_line + limit`` (1-based) and the total line count."""
        total = self.count()
        first = max(0, since_line)
        last = min(total, first + max(0, limit))
        if first >= last:
            return [], total
        end = self._starts[last] if last < total else self._scanned
        with open(self.path, "rb") as f:
            f.seek(self._starts[first])
            data = f.read(end - self._starts[first])
        lines = []
        for number, raw in enumerate(data.splitlines(), start=first + 1):
            try:
                record = json.loads(raw)
            except ValueError:
                record = {"t": None, "level": "error", "message": raw.decode("utf-8", "replace")}
            lines.append(
                {
                    "line": number,
                    "timestamp": record.get("t"),
                    "level": record.get("level", "info"),
                    "message": record.get("message", ""),
                }
            )
        return lines, total


def tail_text(path: str, max_chars: int = 2000) -> str:
    """The last ``max_chars`` characters of a text file ('' if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_chars))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
