"""Turning what a coder selected into a coding's span (pure: text in, offsets out).

Offsets are code points of the canonical text (Python `str` indices; the browser counts with
`Array.from`). A selection is snapped to whole words: a drag that ends inside "that's" takes
the whole word, and one that starts inside an emoji sequence or after a combining accent takes
the whole character. `workbench/ui/coding_surface.js` draws the same snapping at once; the
server's result (this module) is what is stored.
"""

from __future__ import annotations

import unicodedata

# joined to the character before them: zero-width joiner, variation selectors, skin tones
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}
# inside a word when letters stand on both sides: apostrophes and hyphens
_INNER = {"'", "\u2019", "-", "\u2010", "\u2011"}


def _attached(ch: str) -> bool:
    """Is `ch` part of the character before it (a combining mark, joiner or modifier)?"""
    return ch in _JOINERS or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Sk") or "\U0001f3fb" <= ch <= "\U0001f3ff"


def _wordlike(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or _attached(ch)


def _in_word(text: str, i: int) -> bool:
    """Is position `i` (between text[i-1] and text[i]) inside a word or a composed character?"""
    if i <= 0 or i >= len(text):
        return False
    before, after = text[i - 1], text[i]
    if before.isspace() or after.isspace():
        return False
    if _attached(after) or before == "\u200d":
        return True
    if _wordlike(before) and _wordlike(after):
        return True
    if after in _INNER and _wordlike(before) and i + 1 < len(text) and _wordlike(text[i + 1]):
        return True
    return before in _INNER and _wordlike(after) and i >= 2 and _wordlike(text[i - 2])


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`[start, end)` without the white space at its ends (the exact selection, kept as made)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen `[start, end)` to whole words and whole characters, and trim the white space at
    its ends. Returns an empty span at `start` when nothing but white space was selected."""
    start, end = trim_span(text, max(0, min(start, end)), min(len(text), max(start, end)))
    if start == end:
        return start, start
    while _in_word(text, start):
        start -= 1
    while _in_word(text, end):
        end += 1
    return start, end


def in_vivo_name(selected: str, limit: int = 60) -> str:
    """A code name made from the selected words: white space collapsed, quotes and punctuation
    at the ends dropped, cut at a word boundary within `limit` characters."""
    words = " ".join(selected.split()).strip(" \"'“”‘’.,;:!?…-–—()[]")
    if len(words) <= limit:
        return words
    cut = words[:limit].rsplit(" ", 1)[0]
    return cut or words[:limit]


def turn_parts(text: str, turn) -> list:
    """What the coding surface shows of one turn (a `workspace.TurnView`), in order: `[start,
    end, n]` for sentence `n`, `[start, end]` for talk between sentences, `None` for a line
    break. The label repeated at the start of a speaker's later lines is not talk, so not shown;
    every shown character is one code point of the canonical text at its own offset."""
    parts: list = []
    position = turn.text_start
    for segment in turn.segments:
        gap = text[position:segment.start]
        if "\n" in gap:
            parts.append(None)
        elif segment.start > position:
            parts.append([position, segment.start])
        parts.append([segment.start, segment.end, segment.number])
        position = segment.end
    if turn.end > position and text[position:turn.end].strip():
        parts.append([position, turn.end])
    return parts


def turn_talk(turn) -> tuple[int, int] | None:
    """The span a click on the speaker's name selects: from the turn's first sentence to its last."""
    if not turn.segments:
        return None
    return turn.segments[0].start, turn.segments[-1].end
