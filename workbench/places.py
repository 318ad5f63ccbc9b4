"""Where something was said, as a person reads it (pure): "M03_Carla, turn 37, 00:14:05".
Pages and human-readable command output show places; offsets stay in machine outputs (JSON,
CSV, REFI-QDA)."""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    """A time in the recording as hh:mm:ss ("" when the transcript has none)."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def place(transcript: str, turn: int | None, time: float | None) -> str:
    """`M03_Carla, turn 37, 00:14:05` (turn counted from 1; the time only where the source had one)."""
    parts = [transcript] + ([f"turn {turn}"] if turn is not None else []) + ([clock(time)] if time is not None else [])
    return ", ".join(parts)
