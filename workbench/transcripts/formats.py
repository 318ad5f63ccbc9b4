"""Readers for transcript files: pure functions from (file name, bytes) to a `Source`.

Every reader returns the canonical text (see `canonical`) plus speaker hints the file's
structure gives and plain text would lose: bold speaker runs in .docx, `<v Name>` voice tags
and cue times in captions. Turn detection (`speakers`) then reads the text and the hints.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from ..canonical import canonical_text, decode_bytes
from ..errors import InputError

FORMATS = (".txt", ".docx", ".vtt", ".srt")


@dataclass(frozen=True)
class LineHint:
    """What the file's structure says about one line of the canonical text."""

    speaker: str | None = None
    label_end: int = 0  # characters of the line taken by the speaker label
    time_start: float | None = None
    time_end: float | None = None


@dataclass
class Source:
    filename: str
    format: str
    text: str
    encoding: str
    hints: dict[int, LineHint] = field(default_factory=dict)  # line number -> hint
    notes: list[str] = field(default_factory=list)


def read_source(filename: str, data: bytes) -> Source:
    """Read a transcript file of any supported format. Raises InputError for bad input."""
    name = PurePath(filename).name
    ext = PurePath(filename).suffix.lower()
    if ext not in FORMATS:
        raise InputError(
            f"unknown extension {ext or '(none)'!r}; expected one of {', '.join(FORMATS)}", name
        )
    reader = {".txt": read_txt, ".docx": read_docx, ".vtt": read_vtt, ".srt": read_srt}[ext]
    source = reader(name, data)
    if not source.text.strip():
        raise InputError("no text found in the file", name)
    return source


def read_txt(name: str, data: bytes) -> Source:
    decoded = decode_bytes(data, name)
    return Source(name, "txt", canonical_text(decoded.text), decoded.encoding)


# --- Word ---------------------------------------------------------------------------------

_NAME_WORD = r"[A-Z][\w'’.\-]*|\d+"
_BOLD_LABEL = re.compile(rf"^\s*(?P<name>(?:{_NAME_WORD})(?:\s+(?:{_NAME_WORD})){{0,3}})\s*:?\s*$")


def read_docx(name: str, data: bytes) -> Source:
    """Paragraphs of the body (and of table cells, row by row) joined by `\\n`."""
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputError("not a valid .docx file (it is not a zip package)", name)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a valid .docx file ({exc.__class__.__name__})", name) from None
    except Exception as exc:  # lxml errors from a damaged part
        raise InputError(f"damaged .docx file: {exc}", name) from None
    lines: list[str] = []
    hints: dict[int, LineHint] = {}
    for paragraph in _body_paragraphs(document):
        text = canonical_text(paragraph.text)
        hint = _bold_label(paragraph, text)
        for k, line in enumerate(text.split("\n")):
            if k == 0 and hint:
                hints[len(lines)] = hint
            lines.append(line)
    return Source(name, "docx", "\n".join(lines), "UTF-8 (Word)", hints)


def _body_paragraphs(document):
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    yield from cell.paragraphs


def _bold_label(paragraph, text: str) -> LineHint | None:
    """A bold run at the start of a paragraph that reads as a name is a speaker label."""
    prefix = ""
    for run in paragraph.runs:
        if not run.text:
            continue
        if run.bold:
            prefix += run.text
        else:
            break
    prefix = canonical_text(prefix)
    if not prefix.strip() or not text.startswith(prefix):
        return None
    match = _BOLD_LABEL.match(prefix)
    if not match:
        return None
    label_end = len(prefix)
    rest = text[label_end:]
    label_end += len(rest) - len(rest.lstrip(": \t"))
    return LineHint(speaker=match.group("name"), label_end=label_end)


# --- Captions -----------------------------------------------------------------------------

_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?")


def parse_time(value: str) -> float:
    match = _TIME.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (int(fraction.ljust(3, "0")) / 1000 if fraction else 0.0)


_TAG = re.compile(r"</?(?:c|i|b|u|v|lang|ruby|rt)(?:[.\s][^>]*)?>|<\d[\d:.]*>")


def _cue_lines(cues) -> tuple[str, dict[int, LineHint]]:
    """One line per cue, `Speaker: text` when the cue names its speaker."""
    lines: list[str] = []
    hints: dict[int, LineHint] = {}
    for speaker, text, start, end in cues:
        body = canonical_text(" ".join(part.strip() for part in text.splitlines() if part.strip()))
        if not body:
            continue
        if speaker:
            speaker = canonical_text(speaker.strip())
            line = f"{speaker}: {body}"
            hints[len(lines)] = LineHint(speaker, len(speaker) + 2, start, end)
        else:
            line = body
            hints[len(lines)] = LineHint(None, 0, start, end)
        lines.append(line)
    return "\n".join(lines), hints


def read_vtt(name: str, data: bytes) -> Source:
    """WebVTT (Teams, Zoom): `<v Name>` voice tags become `Name: ` labels."""
    import webvtt
    from webvtt.errors import MalformedFileError

    decoded = decode_bytes(data, name)
    try:
        captions = webvtt.from_buffer(io.StringIO(decoded.text.lstrip("\ufeff")))
    except MalformedFileError as exc:
        raise InputError(f"not a valid WebVTT file ({exc})", name) from None
    cues = []
    for caption in captions:
        voices = re.findall(r"<v(?:\.[\w.]+)?\s+([^>]+)>", caption.raw_text)
        speaker = voices[0].strip() if voices else None
        text = _TAG.sub("", caption.raw_text)
        cues.append((speaker, _unescape(text), parse_time(caption.start), parse_time(caption.end)))
    text, hints = _cue_lines(cues)
    return Source(name, "vtt", text, decoded.encoding, hints)


def read_srt(name: str, data: bytes) -> Source:
    import srt

    decoded = decode_bytes(data, name)
    try:
        subtitles = list(srt.parse(decoded.text.lstrip("\ufeff")))
    except (srt.SRTParseError, ValueError) as exc:
        raise InputError(f"not a valid SubRip (.srt) file ({exc.__class__.__name__})", name) from None
    cues = [
        (None, _TAG.sub("", s.content), s.start.total_seconds(), s.end.total_seconds())
        for s in subtitles
    ]
    text, hints = _cue_lines(cues)
    return Source(name, "srt", text, decoded.encoding, hints)


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u00a0")
            .replace("&lrm;", "\u200e").replace("&rlm;", "\u200f").replace("&amp;", "&"))
