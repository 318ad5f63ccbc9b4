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
import hmac
import re
import unicodedata
from array import array
from collections.abc import Sequence
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


MAX_CHARACTERS = 2_000_000
"""The longest text one transcript may have: about 30 hours of talk. Longer files are refused
before they are decoded in full (`decode_bytes(..., max_chars=MAX_CHARACTERS)`)."""

_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))  # UTF-8 bytes that start a character
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # category Cc but tab and line ends


def too_long(filename: str, max_chars: int = MAX_CHARACTERS) -> InputError:
    limit = f"{MAX_CHARACTERS:,} characters (about 30 hours of talk)"
    if max_chars == MAX_CHARACTERS:
        return InputError(f"too long: more than {limit}, the most one transcript may have; split it into parts",
                          filename)
    return InputError(f"too long: more than {max_chars:,} characters in the file, and one transcript may have "
                      f"at most {limit}; split it into parts", filename)


def _fewest_characters(data: bytes) -> int:
    """At least how many characters `data` decodes to, whichever encoding `decode_bytes` picks."""
    for bom in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return (len(data) - len(bom)) // 4
    if data.isascii():
        return len(data)
    # UTF-8: a character per byte that is not a continuation byte (Windows-1252: one per byte)
    continuations = len(data.translate(None, _NOT_CONTINUATION))
    return len(data) - continuations - data.startswith(codecs.BOM_UTF8)


def decode_bytes(data: bytes, filename: str, max_chars: int | None = None) -> Decoded:
    """Decode a text file: BOM-marked UTF-8/16/32, else UTF-8, else Windows-1252.

    Raises InputError for empty files, binary data and (with `max_chars`) texts longer than
    `max_chars` characters — refused on the bytes, before decoding, whenever the length shows
    it (no encoding takes more than 4 bytes a character; UTF-8 characters are counted).
    """
    if max_chars is not None and len(data) > max_chars and (len(data) > 4 * max_chars + 4
                                                            or _fewest_characters(data) > max_chars):
        raise too_long(filename, max_chars)
    if not data.strip(b" \t\r\n\x00"):
        raise InputError("the file is empty", filename)
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            try:
                return Decoded(_check_text(data.decode(codec), filename, max_chars), label)
            except UnicodeDecodeError:
                raise InputError(f"not valid {label} text", filename) from None
    if b"\x00" in data:
        raise InputError("binary data, not a text file", filename)
    try:
        return Decoded(_check_text(data.decode("utf-8"), filename, max_chars), "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError("neither UTF-8 nor Windows-1252 text", filename) from None
    return Decoded(_check_text(text, filename, max_chars), "Windows-1252 (not valid UTF-8; fallback)")


def _check_text(text: str, filename: str, max_chars: int | None = None) -> str:
    if max_chars is not None and len(text) > max_chars:
        raise too_long(filename, max_chars)
    controls = len(_CONTROLS.findall(text))
    if controls > max(2, len(text) // 200):
        raise InputError("binary data, not a text file", filename)
    return text


@dataclass(frozen=True)
class OffsetMap:
    """Maps code-point offsets in an original text to the canonical text.

    Anchors are pairs (`original[k]`, `canonical[k]`), increasing, at the ends of every piece the
    canonical form changed (a byte-order mark, a `\\r\\n`, a composed character) and at both ends
    of the text. `exact[k]` is 1 where the stretch from anchor k to k + 1 is unchanged, so
    offsets inside it move by the same amount as its ends; inside a changed piece an offset
    maps to the piece's start (`start`) or end (`end`), so a mapped span always covers what the
    original span covered. Memory grows with the number of changes, not with the text's length.
    (`exact` None: every stretch is a changed piece.)
    """

    original: Sequence[int]
    canonical: Sequence[int]
    exact: bytes | bytearray | None = None

    def _exact(self, k: int) -> bool:
        return self.exact is not None and k < len(self.exact) and bool(self.exact[k])

    def start(self, offset: int) -> int:
        i = bisect.bisect_right(self.original, offset) - 1
        if i < 0:
            return self.canonical[0]
        if offset > self.original[i] and self._exact(i):
            return self.canonical[i] + offset - self.original[i]
        return self.canonical[i]

    def end(self, offset: int) -> int:
        i = bisect.bisect_left(self.original, offset)
        if i >= len(self.original):
            return self.canonical[-1]
        if i > 0 and offset < self.original[i] and self._exact(i - 1):
            return self.canonical[i - 1] + offset - self.original[i - 1]
        return self.canonical[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.start(start), self.end(end)


class _Builder:
    """The canonical text and its anchors, built from the changes in order: unchanged stretches
    are copied as slices (joined every so often, so memory stays near the text's own size)."""

    def __init__(self, raw: str):
        self.raw = raw
        self.parts: list[str] = []
        self.chunks: list[str] = []
        self.copied = 0  # raw[:copied] is in the output
        self.delta = 0  # canonical offset - original offset after `copied`
        self.original = array("q", [0])
        self.canonical = array("q", [0])
        self.exact = bytearray()

    def change(self, start: int, end: int, replacement: str) -> None:
        if start > self.copied:
            self.parts.append(self.raw[self.copied:start])
        self.parts.append(replacement)
        if self.original[-1] != start:  # an unchanged stretch up to here
            self.exact.append(1)
            self.original.append(start)
            self.canonical.append(start + self.delta)
        self.delta += len(replacement) - (end - start)
        self.exact.append(0)
        self.original.append(end)
        self.canonical.append(end + self.delta)
        self.copied = end
        if len(self.parts) >= 4096:
            self.chunks.append("".join(self.parts))
            self.parts.clear()

    def finish(self) -> tuple[str, OffsetMap]:
        n = len(self.raw)
        if self.copied == 0:
            text = self.raw  # nothing changed: the same string, no copy
        else:
            self.parts.append(self.raw[self.copied:])
            self.chunks.append("".join(self.parts))
            self.parts.clear()
            text = self.chunks[0] if len(self.chunks) == 1 else "".join(self.chunks)
            self.chunks.clear()
        if self.original[-1] != n:
            self.exact.append(1)
            self.original.append(n)
            self.canonical.append(n + self.delta)
        return text, OffsetMap(self.original, self.canonical, bytes(self.exact))


def canonicalize(raw: str) -> tuple[str, OffsetMap]:
    """The canonical form of a decoded text and the map from its offsets to canonical ones.

    Linear in time and memory: lines that are already NFC cost one C-level check each, and only
    the pieces that change get anchors (about 17 bytes each)."""
    builder = _Builder(raw)
    for start, end, replacement in _changes(raw):
        builder.change(start, end, replacement)
    text, offsets = builder.finish()
    if not unicodedata.is_normalized("NFC", text):  # a composition across pieces: never seen
        text = unicodedata.normalize("NFC", text)  # fall back to line-level anchors
        return text, _line_map(raw, text)
    return text, offsets


def canonical_text(raw: str) -> str:
    if "\r" not in raw and not raw.startswith("\ufeff") and unicodedata.is_normalized("NFC", raw):
        return raw  # already canonical (most paragraphs and cues): no map to build
    return canonicalize(raw)[0]


_CR = re.compile(r"\r\n?")
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _changes(raw: str):
    """(start, end, replacement) for each piece of `raw` the canonical form changes, in order:
    a leading byte-order mark, `\\r\\n` and `\\r`, and pieces NFC changes. A piece is a line end,
    or a run that starts at a character and holds the characters that attach to it (see
    `_attaches`); pieces normalise independently."""
    pos = 0
    if raw.startswith("\ufeff") and not (len(raw) > 1 and _attaches(raw[1])):
        yield 0, 1, ""
        pos = 1
    if unicodedata.is_normalized("NFC", raw):
        for match in _CR.finditer(raw, pos):
            yield match.start(), match.end(), "\n"
        return
    for line in _LINE.finditer(raw, pos):
        start, end = line.span(1)
        if start < end and not unicodedata.is_normalized("NFC", line.group(1)):
            yield from _normalised_pieces(raw, start, end)
        if line.group(2) in ("\r\n", "\r"):
            yield line.start(2), line.end(2), "\n"


def _normalised_pieces(raw: str, start: int, end: int):
    """Pieces of the line raw[start:end] that NFC changes. Only pieces holding a non-ASCII
    character can change; an ASCII character never attaches to the one before, so each run of
    non-ASCII characters, with the character before it, is a whole number of pieces."""
    for match in _NON_ASCII.finditer(raw, start, end):
        i, stop = max(match.start() - 1, start), match.end()
        while i < stop:
            j = i + 1
            while j < stop and _attaches(raw[j]):
                j += 1
            piece = raw[i:j]
            norm = unicodedata.normalize("NFC", piece)
            if norm != piece:
                yield i, j, norm
            i = j


def _attaches(ch: str) -> bool:
    """True if NFC may combine `ch` with what precedes it: combining marks and Hangul
    medial vowels / final consonants. Rarer composing starters are caught by the check in
    `canonicalize`, which then falls back to line-level anchors."""
    return bool(unicodedata.combining(ch)) or 0x1161 <= ord(ch) <= 0x11C2


_LINE_END = re.compile(r"\r\n|\r|\n")


def _line_map(raw: str, text: str) -> OffsetMap:
    """Anchors at line starts only (line ends are one character in the canonical text)."""
    original, canonical = array("q", [0]), array("q", [0])
    position = 0
    for match in _LINE_END.finditer(raw):
        position = text.find("\n", position) + 1
        if position == 0:
            break
        original.append(match.end())
        canonical.append(position)
    original.append(len(raw))
    canonical.append(len(text))
    return OffsetMap(original, canonical, bytes(len(original) - 1))


def content_hash(text: str, key: bytes) -> str:
    """The stored hash of a text: HMAC-SHA-256 under the study's key (`store.secrets`), so that
    nobody holding a hash but not the key can test guessed texts against it."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
