"""Editing a transcript's canonical text and carrying every span along (pure).

An `Edit` replaces `[start, end)` of the old text with `replacement`. Edits of one change are
applied together and must not overlap. A position before an edit stays; a position after it
moves by the edit's change in length. A position strictly inside an edit has no counterpart in
the new text, so a span boundary there is *cut*:
- a coding (`map_coding`) keeps the replacement: its start snaps to the replacement's start, its
  end to the replacement's end — a coded quote that named someone now shows the placeholder;
- a structural span (`map_structural`: turn, segment, token, entity) snaps both ends to the
  replacement's end, so sentences that an edit joined do not overlap.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from ..errors import ValidationError


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str

    @property
    def delta(self) -> int:
        return len(self.replacement) - (self.end - self.start)


class EditMap:
    """A set of non-overlapping edits of a text of length `length`, ready to map positions."""

    def __init__(self, edits: list[Edit], length: int):
        self.edits = sorted(edits, key=lambda e: (e.start, e.end))
        previous = 0
        for edit in self.edits:
            if not 0 <= edit.start <= edit.end <= length:
                raise ValidationError(f"edit {edit.start}–{edit.end} is outside the text (0–{length})")
            if edit.start < previous:
                raise ValidationError(f"edits overlap at {edit.start}")
            previous = max(previous, edit.end if edit.end > edit.start else edit.start + 1)
        self.starts = [e.start for e in self.edits]
        self.shift_before: list[int] = []
        total = 0
        for edit in self.edits:
            self.shift_before.append(total)
            total += edit.delta

    def apply(self, text: str) -> str:
        out, position = [], 0
        for edit in self.edits:
            out += [text[position:edit.start], edit.replacement]
            position = edit.end
        out.append(text[position:])
        return "".join(out)

    def position(self, position: int, inside: str) -> tuple[int, bool]:
        """The new position and whether it was cut (strictly inside a replaced stretch);
        `inside` says where a cut one goes (`start`: the replacement's start, `end`: its end)."""
        k = bisect_right(self.starts, position)  # edits starting at or before `position`
        shift = 0
        for index in range(k):
            edit = self.edits[index]
            if edit.start < position < edit.end:
                new_start = edit.start + self.shift_before[index]
                return (new_start if inside == "start" else new_start + len(edit.replacement)), True
            if position >= edit.end and (edit.end > edit.start or position > edit.start):
                shift = self.shift_before[index] + edit.delta
        return position + shift, False

    def map_coding(self, start: int, end: int) -> tuple[int, int, bool]:
        """A coding's new span and whether an edit cut through a boundary. A coding wholly
        inside a replaced stretch covers the replacement; inside a deletion it comes out empty
        (nothing of it is left: drop it)."""
        new_start, cut_a = self.position(start, "start")
        new_end, cut_b = self.position(end, "end")
        return new_start, max(new_start, new_end), cut_a or cut_b

    def map_structural(self, start: int, end: int) -> tuple[int, int]:
        """A turn's, segment's, token's or entity's new span (may come out empty: drop it)."""
        return self.position(start, "end")[0], self.position(end, "end")[0]

    def touches(self, start: int, end: int) -> bool:
        """True if an edit falls within or on the edges of `[start, end]`."""
        return any(e.start <= end and start <= e.end for e in self.edits)
