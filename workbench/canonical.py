"""Canonical text: the one string every offset in the study points into.

The canonical text of a file is its text decoded, byte-order mark removed, line ends made
`\\n`, and Unicode NFC applied; nothing else changes. Offsets are Unicode code points.
`OffsetMap` carries offsets that pointed into the decoded original (e.g. a REFI-QDA
selection) through those changes.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from .errors import InputError

BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 with BOM"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 with BOM"),
)
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # what the import report says, e.g. "UTF-8" or "Windows-1252 (fallback)"


def decode_bytes(data: bytes, filename: str) -> Decoded:
    """Decode a text file: BOM-marked UTF-8/16/32, else UTF-8, else Windows-1252.

    Raises InputError for empty files and binary data.
    """
    if not data.strip(b" \t\r\n\x00"):
        raise InputError("the file is empty", filename)
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            try:
                return Decoded(_check_text(data.decode(codec), filename), label)
            except UnicodeDecodeError:
                raise InputError(f"not valid {label} text", filename) from None
    if b"\x00" in data:
        raise InputError("binary data, not a text file", filename)
    try:
        return Decoded(_check_text(data.decode("utf-8"), filename), "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError("neither UTF-8 nor Windows-1252 text", filename) from None
    return Decoded(_check_text(text, filename), "Windows-1252 (not valid UTF-8; fallback)")


def _check_text(text: str, filename: str) -> str:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    if controls > max(2, len(text) // 200):
        raise InputError("binary data, not a text file", filename)
    return text


@dataclass(frozen=True)
class OffsetMap:
    """Maps code-point offsets in an original text to the canonical text.

    Anchors are pairs (original offset, canonical offset) at every point where both texts
    agree exactly; between anchors (inside a composed character) an offset maps to the
    enclosing piece's start (`start`) or end (`end`), so a mapped span always covers what the
    original span covered.
    """

    original: tuple[int, ...]
    canonical: tuple[int, ...]

    def start(self, offset: int) -> int:
        i = bisect.bisect_right(self.original, offset) - 1
        return self.canonical[max(i, 0)]

    def end(self, offset: int) -> int:
        i = bisect.bisect_left(self.original, offset)
        return self.canonical[min(i, len(self.canonical) - 1)]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.start(start), self.end(end)


def canonicalize(raw: str) -> tuple[str, OffsetMap]:
    """The canonical form of a decoded text and the map from its offsets to canonical ones."""
    pieces = _pieces(raw)
    original, canonical = [0], [0]
    out: list[str] = []
    o = c = 0
    for piece in pieces:
        if piece == "\ufeff" and o == 0:
            norm = ""
        elif piece in ("\r\n", "\r"):
            norm = "\n"
        else:
            norm = unicodedata.normalize("NFC", piece)
        out.append(norm)
        o += len(piece)
        c += len(norm)
        original.append(o)
        canonical.append(c)
    text = "".join(out)
    if text != unicodedata.normalize("NFC", text):  # a composition across pieces: never seen
        text = unicodedata.normalize("NFC", text)  # fall back to line-level anchors
        return text, _line_map(raw, text)
    return text, OffsetMap(tuple(original), tuple(canonical))


def canonical_text(raw: str) -> str:
    return canonicalize(raw)[0]


def _pieces(raw: str) -> list[str]:
    """Split into pieces that normalise independently: line ends, and runs that start at a
    character with combining class 0 (a starter) and hold the non-starters after it."""
    pieces: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\r":
            j = i + 2 if raw.startswith("\r\n", i) else i + 1
        else:
            j = i + 1
            while j < n and raw[j] not in "\r\n" and _attaches(raw[j]):
                j += 1
        pieces.append(raw[i:j])
        i = j
    return pieces


def _attaches(ch: str) -> bool:
    """True if NFC may combine `ch` with what precedes it: combining marks and Hangul
    medial vowels / final consonants. Rarer composing starters are caught by the check in
    `canonicalize`, which then falls back to line-level anchors."""
    return bool(unicodedata.combining(ch)) or 0x1161 <= ord(ch) <= 0x11C2


_LINE_END = re.compile(r"\r\n|\r|\n")


def _line_map(raw: str, text: str) -> OffsetMap:
    """Anchors at line starts only (line ends are one character in the canonical text)."""
    original, canonical = [0], [0]
    c = 0
    canonical_lines = text.split("\n")
    for match, line in zip(_LINE_END.finditer(raw), canonical_lines):
        c += len(line) + 1
        original.append(match.end())
        canonical.append(c)
    original.append(len(raw))
    canonical.append(len(text))
    return OffsetMap(tuple(original), tuple(canonical))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
