"""From coders' spans to coded / not-coded decisions on natural transcript units (pure).

A unit is coded by a coder for a code when the union of that coder's spans of the code covers
at least `threshold` (default half) of the unit's talk. Units are participants' words: the
sentence segments of the included turns (interviewer turns only when asked for). Speaker
labels are never part of a unit.

- `sentence`: each sentence segment;
- `turn`: each speaker turn (the talk of its segments);
- `transcript`: the whole transcript — coded when the coder applied the code anywhere in its talk;
- `character`: each code point of talk (as NVivo's coding comparison does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNITS = ("sentence", "turn", "transcript", "character")


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    turn: int
    interviewer: bool = False


@dataclass
class TranscriptCoding:
    """One transcript: its length, segments, and each coder's spans per code."""

    title: str
    length: int
    segments: list[Segment]
    spans: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)  # coder -> code -> spans


@dataclass
class Decisions:
    """Decisions on one transcript: `coded[coder]` is a (units × codes) boolean array."""

    title: str
    units: list[tuple[int, int]]  # each unit's outer span, for showing it (character units: runs)
    codes: list[str]
    coded: dict[str, np.ndarray]

    @property
    def n_units(self) -> int:
        return len(self.units)


def _mask(length: int, spans: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    for start, end in spans:
        mask[max(start, 0):min(end, length)] = True
    return mask


def unit_pieces(transcript: TranscriptCoding, unit: str, include_interviewer: bool = False):
    """(pieces, owner, outer spans): every unit is one or more [start, end) pieces of talk."""
    segments = [s for s in transcript.segments if include_interviewer or not s.interviewer]
    if unit == "sentence":
        pieces = [(s.start, s.end) for s in segments]
        return pieces, list(range(len(pieces))), pieces
    if unit == "turn":
        turns: dict[int, list[tuple[int, int]]] = {}
        for s in segments:
            turns.setdefault(s.turn, []).append((s.start, s.end))
        pieces, owner, outer = [], [], []
        for k, (_turn, parts) in enumerate(sorted(turns.items())):
            pieces += parts
            owner += [k] * len(parts)
            outer.append((parts[0][0], parts[-1][1]))
        return pieces, owner, outer
    if unit == "transcript":
        pieces = [(s.start, s.end) for s in segments]
        outer = [(pieces[0][0], pieces[-1][1])] if pieces else []
        return pieces, [0] * len(pieces), outer
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def decide(transcript: TranscriptCoding, coders: list[str], codes: list[str], unit: str = "sentence",
           threshold: float = 0.5, include_interviewer: bool = False) -> Decisions:
    """Each coder's coded / not-coded decision for every unit and code of one transcript."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if unit == "character":
        talk = _mask(transcript.length, [(s.start, s.end) for s in transcript.segments
                                         if include_interviewer or not s.interviewer])
        positions = np.flatnonzero(talk)
        coded = {}
        for coder in coders:
            spans = transcript.spans.get(coder, {})
            coded[coder] = np.stack([_mask(transcript.length, spans.get(code, []))[positions] for code in codes],
                                    axis=1) if codes else np.zeros((len(positions), 0), dtype=bool)
        return Decisions(transcript.title, [(int(p), int(p) + 1) for p in positions], codes, coded)

    pieces, owner, outer = unit_pieces(transcript, unit, include_interviewer)
    n_units = len(outer)
    starts = np.array([p[0] for p in pieces], dtype=int)
    ends = np.array([p[1] for p in pieces], dtype=int)
    owner_arr = np.array(owner, dtype=int)
    size = np.bincount(owner_arr, weights=ends - starts, minlength=n_units) if pieces else np.zeros(0)
    coded = {}
    for coder in coders:
        spans = transcript.spans.get(coder, {})
        columns = []
        for code in codes:
            if not spans.get(code) or not pieces:
                columns.append(np.zeros(n_units, dtype=bool))
                continue
            prefix = np.concatenate([[0], np.cumsum(_mask(transcript.length, spans[code]))])
            covered = np.bincount(owner_arr, weights=prefix[ends] - prefix[starts], minlength=n_units)
            if unit == "transcript":
                columns.append(covered > 0)
            else:
                columns.append(covered >= threshold * size - 1e-9)
        coded[coder] = np.stack(columns, axis=1) if columns else np.zeros((n_units, 0), dtype=bool)
    return Decisions(transcript.title, outer, codes, coded)
