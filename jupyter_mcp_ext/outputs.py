"""Output shaping (service layer, shared by the tools): nbformat outputs turned into what a model can read.

The one shaper of every tool result that carries outputs (execute_on_kernel today, the
notebook read tools next), so that one rule cannot drift between them. The services keep
outputs exactly as nbformat stores them (that is what is written back into notebooks);
this module builds the model's view of them:

- ``stream`` text merged in order, ANSI colour codes stripped, carriage-return progress
  bars reduced to their last state;
- ``execute_result`` / ``display_data`` as ``text`` (``text/plain``; else ``text/markdown``,
  ``text/latex`` or ``text/html`` made readable), with the other MIME types named in ``data``;
- ``image/png`` and ``image/jpeg`` taken out as images (base64 data, MIME type), referenced
  from ``data`` by their position, each up to ``max_image_bytes``;
- errors as ``ename``, ``evalue`` and an ANSI-free ``traceback``, "full" or "short",
  up to ``max_error_output`` characters;
- all text together within ``max_output_chars``: short outputs are kept whole, long ones
  keep their beginning and end around a marker saying how much was cut and how to see it.

``summarize_outputs`` gives the cheaper view (output types, sizes, error names) that the read
tools return for ``outputs="summary"`` and in their cell lists.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

#: Image MIME types returned to the client as images; others are only named.
IMAGE_MIME_TYPES = ("image/png", "image/jpeg")

#: Most images returned by one call; further ones are only named (each still obeys max_image_bytes).
MAX_IMAGES = 20

#: Text MIME types tried, in order, for the ``text`` of a rich output.
TEXT_MIME_TYPES = ("text/plain", "text/markdown", "text/latex", "text/html")

#: MIME types that carry no information for a model once ``text`` is there (shown by Lab only).
_SILENT_MIME_TYPES = {"text/plain", "text/markdown", "text/latex", "text/html"}

_OBJECT_REPR_RE = re.compile(r"^<[^<>\n]*>$")

_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves, OSC hyperlinks)."""
    if "\x1b" not in text:
        return text
    return _ANSI_RE.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    r"""Keep, of each line, what a terminal would show after its ``\r`` rewrites (progress bars)."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        lines.append(line)
    return "\n".join(lines)


def join_text(value: Any) -> str:
    """nbformat multiline strings are a string or a list of strings."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


class _HTMLText(HTMLParser):
    """Readable text of an HTML fragment: blocks on their own lines, table cells tab-separated."""

    _BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "ul", "ol", "hr"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "pre":
            self._pre += 1
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th") and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\t")
        elif tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not self._pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment (tags dropped, blocks on lines, cells tab-separated)."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # malformed HTML: fall back to removing tags
        return re.sub(r"<[^>]+>", "", html).strip()
    return parser.text()


def base64_size(data: str) -> int:
    """Decoded size in bytes of base64 ``data`` (without decoding it)."""
    n = len(data)
    if n == 0:
        return 0
    return n * 3 // 4 - (2 if data.endswith("==") else 1 if data.endswith("=") else 0)


def image_dimensions(mime_type: str, data: str) -> tuple[int, int] | None:
    """(width, height) read from a PNG header; None for other formats or unreadable data."""
    if mime_type != "image/png" or len(data) < 32:
        return None
    try:
        head = base64.b64decode(data[:32])
    except (binascii.Error, ValueError):
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@dataclass
class ShapeOptions:
    """The limits of one call (from the extension's traits, some overridable per call).

    max_output_chars: characters of text for the whole call; 0 means no limit.
    max_image_bytes: bytes of one image; larger ones are named, not returned; 0 means no images.
    error_output_type: "full" (every frame) or "short" (the last frame and the error line).
    max_error_output: characters of one traceback; 0 means no limit.
    truncation_hint: what the truncation marker tells the reader to do to see the rest.
    image_budget: base64 characters of all images of one result together (so that the whole
        result stays receivable, see ``tools.results``); 0 means no limit.
    image_hint: what the note of an image left out for ``image_budget`` tells the reader to do.
    error_tracebacks: whether error outputs keep their traceback; False where the result gives
        it once elsewhere (execute_on_kernel's ``error`` field).
    """

    max_output_chars: int = 20_000
    max_image_bytes: int = 2 * 1024 * 1024
    error_output_type: str = "full"
    max_error_output: int = 5_000
    truncation_hint: str = "run it again with a larger max_output_chars (0 = no limit), or print a smaller part."
    image_budget: int = 0
    image_hint: str = "ask for it alone, or save a smaller version (lower dpi or size)."
    error_tracebacks: bool = True


@dataclass
class Image:
    """An image to return as MCP image content: base64 ``data`` and its ``mime_type``."""

    data: str
    mime_type: str


@dataclass
class Shaped:
    """The model's view of the outputs of one or more executions.

    ``outputs`` has one list of shaped outputs per input list, in the same order; ``images``
    the images referenced from them (``"[image #1 ...]"`` is ``images[0]``).
    ``truncated_chars`` counts the characters of text cut by ``max_output_chars``.
    """

    outputs: list[list[dict[str, Any]]] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    truncated_chars: int = 0

    @property
    def image_chars(self) -> int:
        """Base64 characters of the images taken so far."""
        return sum(len(image.data) for image in self.images)


def shape_error(ename: Any, evalue: Any, traceback: Any, options: ShapeOptions) -> dict[str, Any]:
    """An error as ``{"ename", "evalue", "traceback"}``: ANSI stripped, "short" or "full", capped.

    "short" keeps the last two traceback entries (for IPython: the failing frame and the
    ``Name: value`` line). Over ``max_error_output`` characters, middle entries are replaced
    by one marker entry, and an entry still too long keeps its beginning and end.
    """
    entries = [strip_ansi(join_text(t)) for t in (traceback or [])]
    if options.error_output_type == "short" and len(entries) > 2:
        entries = entries[-2:]
    limit = options.max_error_output
    value = strip_ansi(join_text(evalue))
    if limit and len(value) > limit:
        value = _cut_middle(value, limit, "max_error_output")[0]
    if limit and sum(len(e) for e in entries) > limit:
        entries = _cap_traceback(entries, limit)
    return {"ename": strip_ansi(join_text(ename)), "evalue": value, "traceback": entries}


def _cap_traceback(entries: list[str], limit: int) -> list[str]:
    total = sum(len(e) for e in entries)
    head = entries[:1] if len(entries) > 2 else []
    tail: list[str] = []
    used = sum(len(e) for e in head)
    for entry in reversed(entries[len(head) :]):
        if used + len(entry) > limit and tail:
            break
        tail.insert(0, entry)
        used += len(entry)
    kept = head + tail
    if sum(len(e) for e in kept) > limit:
        # One entry alone is over the limit: keep the beginning and the end of the last one.
        kept = [_cut_middle(kept[-1], limit, "max_error_output")[0]]
    omitted = len(entries) - len(kept)
    cut = total - sum(len(e) for e in kept)
    if omitted > 0:
        marker = (
            f"[... {omitted} traceback entr{'y' if omitted == 1 else 'ies'} ({cut:,} characters) cut by "
            f"max_error_output={limit:,}; error_output_type='short' keeps only the last frame ...]"
        )
        kept.insert(len(head), marker)
    return kept


def _cut_middle(text: str, keep: int, setting: str, hint: str = "") -> tuple[str, int]:
    """``text`` reduced to about ``keep`` characters: its beginning and end around a marker."""
    if len(text) <= keep:
        return text, 0
    cut = len(text) - keep
    head = text[: (keep * 2) // 3]
    tail = text[len(text) - (keep - len(head)) :] if keep - len(head) > 0 else ""
    marker = f"\n[... {cut:,} of {len(text):,} characters cut here by {setting}. {hint}]\n".replace(". ]", ".]")
    return head + marker + tail, cut


def _text_of(data: dict[str, Any]) -> str | None:
    """The readable text of a rich output: text/plain, unless it is only an object's repr
    ("<IPython.core.display.HTML object>") and markdown, LaTeX or HTML says more."""
    found = [mime for mime in TEXT_MIME_TYPES if mime in data]
    if not found:
        return None
    mime = found[0]
    if mime == "text/plain" and len(found) > 1 and _OBJECT_REPR_RE.match(join_text(data[mime]).strip()):
        mime = found[1]
    value = join_text(data[mime])
    return html_to_text(value) if mime == "text/html" else value


def _budgets(lengths: Sequence[int], budget: int) -> list[int]:
    """Share ``budget`` characters: lengths that fit their fair share are kept whole, the rest
    split what is left equally (water-filling), so one huge output does not hide the others."""
    caps = [0] * len(lengths)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    remaining = budget
    for position, i in enumerate(order):
        share = remaining // (len(order) - position)
        caps[i] = min(lengths[i], share)
        remaining -= caps[i]
    return caps


def shape_outputs(
    output_lists: Iterable[Sequence[dict[str, Any]]], options: ShapeOptions, into: Shaped | None = None
) -> Shaped:
    """Build the model's view of ``output_lists`` (nbformat 4 outputs, one list per execution).

    Returns a Shaped whose ``outputs`` parallel ``output_lists`` (appended to ``into``'s, whose
    images go on being numbered, when given). Images beyond ``max_image_bytes``, ``MAX_IMAGES``
    or ``image_budget`` are named in ``data`` with their size instead.
    """
    shaped = into if into is not None else Shaped()
    texts: list[tuple[dict[str, Any], str]] = []  # (shaped output, key) whose text shares the budget
    for outputs in output_lists:
        view: list[dict[str, Any]] = []
        for output in outputs:
            kind = output.get("output_type")
            if kind == "stream":
                text = collapse_carriage_returns(strip_ansi(join_text(output.get("text"))))
                if view and view[-1].get("output_type") == "stream" and view[-1]["name"] == output.get("name"):
                    view[-1]["text"] += text
                    continue
                view.append({"output_type": "stream", "name": output.get("name", "stdout"), "text": text})
            elif kind in ("execute_result", "display_data"):
                view.append(_shape_rich(output, options, shaped))
            elif kind == "error":
                error = shape_error(output.get("ename"), output.get("evalue"), output.get("traceback"), options)
                if not options.error_tracebacks:
                    del error["traceback"]
                view.append({"output_type": "error", **error})
            else:
                view.append({"output_type": kind})
        for item in view:
            if isinstance(item.get("text"), str):
                texts.append((item, "text"))
        shaped.outputs.append(view)
    limit = options.max_output_chars
    if limit and sum(len(item[key]) for item, key in texts) > limit:
        caps = _budgets([len(item[key]) for item, key in texts], limit)
        for (item, key), cap in zip(texts, caps, strict=True):
            item[key], cut = _cut_middle(item[key], max(cap, 200), "max_output_chars", options.truncation_hint)
            shaped.truncated_chars += cut
    return shaped


def _shape_rich(output: dict[str, Any], options: ShapeOptions, shaped: Shaped) -> dict[str, Any]:
    data = output.get("data") or {}
    item: dict[str, Any] = {"output_type": output.get("output_type")}
    if output.get("output_type") == "execute_result" and output.get("execution_count") is not None:
        item["execution_count"] = output["execution_count"]
    text = _text_of(data)
    if text is not None:
        item["text"] = strip_ansi(text)
    others: dict[str, str] = {}
    metadata = output.get("metadata") or {}
    for mime, value in data.items():
        if mime in _SILENT_MIME_TYPES:
            continue
        if mime in IMAGE_MIME_TYPES:
            others[mime] = take_image(mime, join_text(value), metadata.get(mime) or {}, options, shaped)
        elif mime == "application/json":
            others[mime] = "[JSON: its text/plain form is in text]" if text is not None else join_text(value)[:2000]
        else:
            others[mime] = f"[{mime} output, {len(join_text(value)):,} characters: shown in JupyterLab, not here]"
    if others:
        item["data"] = others
    if "text" in item and "image #" in "".join(others.values()) and _OBJECT_REPR_RE.match(item["text"]):
        # "<IPython.core.display.Image object>" says nothing the image does not.
        del item["text"]
    return item


def take_image(mime: str, value: str, metadata: dict[str, Any], options: ShapeOptions, shaped: Shaped) -> str:
    """Take a base64 image into ``shaped.images`` if it fits the options; return the note that
    stands for it in the JSON (``[image #N of this result ...]``, or why it was not returned)."""
    data = "".join(value.split())
    size = base64_size(data)
    dims = image_dimensions(mime, data)
    if dims is None and isinstance(metadata, dict) and metadata.get("width") and metadata.get("height"):
        dims = (metadata["width"], metadata["height"])
    described = f"{mime}, {size:,} bytes" + (f", {dims[0]}x{dims[1]} px" if dims else "")
    if not options.max_image_bytes:
        return f"[image not returned ({described}): max_image_bytes is 0]"
    if size > options.max_image_bytes:
        return (
            f"[image not returned ({described}): larger than max_image_bytes={options.max_image_bytes:,}; "
            "save a smaller version (lower dpi or size) to see it]"
        )
    if len(shaped.images) >= MAX_IMAGES:
        return f"[image not returned ({described}): this result already has {MAX_IMAGES} images; {options.image_hint}]"
    if options.image_budget and shaped.image_chars + len(data) > options.image_budget:
        return (
            f"[image not returned ({described}): this result has no room left for it (images of one result "
            f"stay under {options.image_budget * 3 // 4:,} bytes so that every client can receive it); "
            f"{options.image_hint}]"
        )
    shaped.images.append(Image(data=data, mime_type=mime))
    return f"[image #{len(shaped.images)} of this result, returned as image content ({described})]"


def output_size(output: dict[str, Any]) -> int:
    """Characters an nbformat output takes: its text, or its MIME bundle's values."""
    kind = output.get("output_type")
    if kind == "stream":
        return len(join_text(output.get("text")))
    if kind == "error":
        return sum(len(join_text(t)) for t in output.get("traceback") or []) + len(join_text(output.get("evalue")))
    data = output.get("data") or {}
    return sum(len(join_text(v)) if not isinstance(v, dict) else len(str(v)) for v in data.values())


def summarize_output(output: dict[str, Any]) -> dict[str, Any]:
    """One output as its type and size: stream name and characters; MIME types and characters
    of a display or result; an error's ``ename`` and ``evalue`` (ANSI stripped, cut to 300)."""
    kind = output.get("output_type")
    item: dict[str, Any] = {"output_type": kind}
    if kind == "stream":
        item["name"] = output.get("name", "stdout")
        item["chars"] = output_size(output)
    elif kind == "error":
        item["ename"] = strip_ansi(join_text(output.get("ename")))
        item["evalue"] = strip_ansi(join_text(output.get("evalue")))[:300]
    elif kind in ("execute_result", "display_data"):
        item["mime_types"] = list((output.get("data") or {}).keys())
        item["chars"] = output_size(output)
    return item


def output_kinds(outputs: Sequence[dict[str, Any]]) -> list[str]:
    """What a cell's outputs are, in a few words each, in order without repeats: ``stdout``,
    ``stderr``, the richest MIME type of a display or result (``image/png``, ``text/html``,
    ``text/plain``), ``error``."""
    kinds: list[str] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            name = str(output.get("name", "stdout"))
        elif kind == "error":
            name = "error"
        elif kind in ("execute_result", "display_data"):
            mimes = list((output.get("data") or {}).keys())
            name = next((m for m in mimes if m.startswith("image/")), None) or next(
                (m for m in mimes if m != "text/plain"), "text/plain"
            )
        else:
            name = str(kind)
        if name not in kinds:
            kinds.append(name)
    return kinds
