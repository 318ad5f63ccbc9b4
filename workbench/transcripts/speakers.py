"""Speaker turns: where each speaker's talk starts and ends in the canonical text.

Recognised line starts: `Name:` / `NAME:` / `I:` / `R:` (1–4 words or digits, each word
starting with a capital of any script: `Łukasz:`), `[Name]` (capitalised; bracketed lowercase
roles such as `[support worker]` are redactions, not speakers), an optional leading
`[00:01:23]` timestamp, Teams/Zoom header lines (`Amy Smith   0:03` or `[Amy Smith] 10:32:01`
on a line of their own, the talk on the next lines), caption time lines
(`0:00:01.0 --> 0:00:04.0`, or SMPTE time codes `00:00:01:12`) followed by a name line, and
hints from the file's structure (bold labels in .docx, voice tags in captions). A line with
no label continues the previous speaker; consecutive lines of one speaker form one turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

from .formats import CAPITAL, LineHint, parse_time

_WORD = rf"{CAPITAL}[\w'’.\-]*|\d+"
NAME = rf"(?:{_WORD})(?:[ \t]+(?:{_WORD})){{0,3}}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_CLOCK = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"  # mm:ss or h:mm:ss, with milliseconds
_SMPTE = r"\d+:\d{2}:\d{2}[:;]\d{2}"  # hh:mm:ss:ff, frames last (';' in drop-frame time code)
_CUE_CLOCK = rf"{_SMPTE}|{_CLOCK}"

_COLON_LABEL = regex.compile(rf"^(?:\[(?P<ts>{_TIME})\][ \t]*)?(?P<name>{NAME})[ \t]*:(?:[ \t]+|$)")
_BRACKET_LABEL = regex.compile(rf"^\[(?P<name>{CAPITAL}[^\]\n]{{0,39}})\][ \t]*:?(?:[ \t]+|$)")
_HEADER = regex.compile(
    rf"^(?:\[(?P<bname>{NAME})\]|(?P<name>{NAME}))[ \t]+\(?(?P<ts>{_TIME})\)?[ \t]*$"
)
_CUE_TIME = regex.compile(rf"^[ \t]*(?P<start>{_CUE_CLOCK})[ \t]*-->[ \t]*(?P<end>{_CUE_CLOCK})[ \t]*$")
_NAME_ONLY = regex.compile(rf"^(?P<name>{NAME})[ \t]*$")

# Labels that open header lines of a document rather than a speaker's talk.
NOT_SPEAKERS = {
    "date", "time", "duration", "location", "note", "notes", "nb", "transcript", "title",
    "subject", "re", "source", "recording", "file", "project", "page", "key", "venue",
}
INTERVIEWER = regex.compile(
    r"^(?:interviewer|int|i|q|facilitator|co-facilitator|moderator|researcher)(?:[ \t]*\d+)?$",
    regex.IGNORECASE,
)
RESPONDENT = regex.compile(r"^(?:respondent|r|a|interviewee|participant|p)$", regex.IGNORECASE)


def is_interviewer(speaker: str | None) -> bool:
    return bool(speaker) and bool(INTERVIEWER.match(speaker.strip()))


def is_respondent(speaker: str | None) -> bool:
    return bool(speaker) and bool(RESPONDENT.match(speaker.strip()))


@dataclass
class TurnSpan:
    """`[start, end)` covers the label and the talk; `talk` lists the `[start, end)` of each
    line's talk after its label (a turn may span several lines)."""

    speaker: str | None
    start: int
    text_start: int
    end: int
    time_start: float | None = None
    time_end: float | None = None
    talk: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Line:
    start: int
    text: str


def _lines(text: str) -> list[_Line]:
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append(_Line(pos, line))
        pos += len(line) + 1
    return lines


def _label(line: str) -> tuple[str, int, float | None] | None:
    """(speaker, label length, time) if the line opens with a speaker label."""
    match = _COLON_LABEL.match(line)
    if match and match.group("name").lower() not in NOT_SPEAKERS:
        ts = match.group("ts")
        return match.group("name"), match.end(), parse_time(ts) if ts else None
    match = _BRACKET_LABEL.match(line)
    if match and not _CUE_TIME.match(line):
        return match.group("name").strip(), match.end(), None
    return None


@dataclass
class _Header:
    """A line that announces the next talk (Teams/Zoom header, caption time line)."""

    speaker: str | None
    start: int
    time_start: float | None
    time_end: float | None


def _cue_seconds(value: str) -> float:
    """Seconds of a cue time; an SMPTE time code's frames are dropped (the frame rate is not
    given, and a frame is less than a second)."""
    if regex.fullmatch(_SMPTE, value):
        value = value[:-3]
    return parse_time(value)


def _header(line: str, pending: _Header | None, start: int) -> _Header | None:
    """The header this line opens (or completes), or None if the line is talk."""
    match = _CUE_TIME.match(line)
    if match:
        return _Header(None, start, _cue_seconds(match.group("start")), _cue_seconds(match.group("end")))
    if pending and pending.speaker is None:
        match = _NAME_ONLY.match(line)
        if match and match.group("name").lower() not in NOT_SPEAKERS:
            return _Header(match.group("name"), pending.start, pending.time_start, pending.time_end)
    match = _HEADER.match(line)
    if match:
        name = match.group("name") or match.group("bname")
        if name.lower() not in NOT_SPEAKERS:
            return _Header(name, start, parse_time(match.group("ts")), None)
    return None


def detect_turns(text: str, hints: dict[int, LineHint] | None = None) -> list[TurnSpan]:
    """Split canonical text into speaker turns. Blank lines belong to no talk."""
    hints = hints or {}
    turns: list[TurnSpan] = []
    current: TurnSpan | None = None
    pending: _Header | None = None
    for number, line in enumerate(_lines(text)):
        if not line.text.strip():
            continue
        hint = hints.get(number)
        if hint is None:
            header = _header(line.text, pending, line.start)
            if header:
                pending = header
                continue
        if hint is not None and hint.speaker:
            speaker, label_end, t0, t1 = hint.speaker, hint.label_end, hint.time_start, hint.time_end
        else:
            found = _label(line.text)
            speaker, label_end, t0 = found if found else (None, 0, None)
            t0, t1 = (hint.time_start, hint.time_end) if hint and hint.time_start is not None else (t0, None)
        turn_start = line.start
        if pending:
            speaker = speaker or pending.speaker
            turn_start = pending.start
            if t0 is None:
                t0, t1 = pending.time_start, pending.time_end
            pending = None

        rest = line.text[label_end:]
        talk_start = line.start + label_end + len(rest) - len(rest.lstrip())
        talk_end = line.start + len(line.text.rstrip())
        if current is None or (speaker is not None and speaker != current.speaker):
            current = TurnSpan(speaker, turn_start, talk_start, talk_start, t0, t1)
            turns.append(current)
        if current.time_start is None:
            current.time_start = t0
        if t1 is not None:
            current.time_end = t1
        if talk_end > talk_start:
            current.talk.append((talk_start, talk_end))
            current.end = talk_end
    return [turn for turn in turns if turn.talk]
