"""HTML for the coding screen (pure functions; no Streamlit). All transcript text is escaped.

Every piece of talk carries `data-o`, its code-point offset in the canonical text, so the
browser can report a selection as canonical offsets (see `selection.js` in `code_page`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..coding.workspace import TurnView
from ..places import clock


@dataclass(frozen=True)
class Mark:
    """A coding to highlight: its span, colour and label."""

    id: int
    start: int
    end: int
    color: str
    label: str
    own: bool = True


def _pieces(start: int, end: int, marks: list[Mark]) -> list[tuple[int, int, list[Mark]]]:
    """Cut [start, end) wherever a mark begins or ends; each piece lists the marks covering it."""
    cuts = {start, end}
    for mark in marks:
        if mark.start < end and mark.end > start:
            cuts.update(p for p in (mark.start, mark.end) if start < p < end)
    points = sorted(cuts)
    return [(a, b, [m for m in marks if m.start <= a and m.end >= b]) for a, b in zip(points, points[1:])]


def _piece_html(text: str, a: int, b: int, covering: list[Mark], focus: int | None) -> str:
    body = html.escape(text[a:b])
    if not covering:
        return f'<span data-o="{a}">{body}</span>'
    top = covering[-1]
    shade = f"{top.color}55" if top.own else "#cccccc66"
    border = "2px solid #111" if any(m.id == focus for m in covering) else f"2px solid {top.color}"
    title = html.escape("; ".join(m.label for m in covering), quote=True)
    focused = ' data-focus="1"' if any(m.id == focus for m in covering) else ""
    return (f'<span data-o="{a}" class="wb-mark" title="{title}"{focused} '
            f'style="background:{shade};border-bottom:{border}">{body}</span>')


def turns_html(text: str, turns: tuple[TurnView, ...], marks: list[Mark], focus: int | None = None) -> str:
    """The page of turns: a header per turn (speaker, role, time) and its talk, with segment
    numbers and coloured highlights; interviewer turns are set apart."""
    marks = sorted(marks, key=lambda m: (m.start, -m.end))
    out = []
    for turn in turns:
        # Labels are CSS generated content (attr()), so a mouse selection never includes them.
        who = html.escape(turn.speaker or "(no speaker)", quote=True)
        role = f'<span class="wb-role" data-v="{html.escape(turn.role, quote=True)}"></span>' if turn.role else ""
        when = (f'<span class="wb-time" data-v="{clock(turn.time_start)}"></span>'
                if turn.time_start is not None else "")
        css = "wb-turn wb-interviewer" if turn.interviewer else "wb-turn"
        parts = []
        position = turn.text_start
        for segment in turn.segments:
            if "\n" in text[position:segment.start]:
                # a new line of the same speaker: its repeated label is not talk, so not shown
                parts.append("<br>")
            elif segment.start > position:
                parts += [_piece_html(text, a, b, c, focus) for a, b, c in _pieces(position, segment.start, marks)]
            parts.append(f'<span class="wb-n" data-n="{segment.number}"></span>')
            parts += [_piece_html(text, a, b, c, focus) for a, b, c in _pieces(segment.start, segment.end, marks)]
            position = segment.end
        if turn.end > position:
            parts += [_piece_html(text, a, b, c, focus) for a, b, c in _pieces(position, turn.end, marks)]
        body = "".join(parts).replace("\n", "<br>")
        out.append(f'<div class="{css}" id="wb-turn-{turn.index}"><div class="wb-who" data-v="{who}">{role}{when}'
                   f'</div><div class="wb-talk">{body}</div></div>')
    return "\n".join(out)


CSS = """
.wb-root { font-size: 0.98rem; line-height: 1.6; max-height: 70vh; overflow-y: auto; padding-right: .5rem; }
.wb-turn { margin: 0 0 .7rem 0; }
.wb-interviewer .wb-talk { color: #555; font-style: italic; }
.wb-who { font-weight: 600; font-size: .85rem; user-select: none; }
.wb-who::before { content: attr(data-v); }
.wb-role::before { content: " · " attr(data-v); font-weight: 400; color: #666; }
.wb-time::before { content: " · " attr(data-v); font-weight: 400; color: #888; }
.wb-n::before { content: attr(data-n); font-size: .65rem; color: #999; vertical-align: super; margin: 0 .15rem; user-select: none; }
.wb-mark { border-radius: 2px; }
"""
