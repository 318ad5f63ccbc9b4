"""Turn some of the sample .txt transcripts into the formats researchers actually receive.

Run once when the sample transcripts were written (kept to show how the sample files were
made): Word files with bold speaker labels or Teams-style headers, and WebVTT captions in
Teams (voice tags) and Zoom (`Name: text`) styles with plausible cue times.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import docx

ROOT = Path(__file__).resolve().parents[1] / "transcripts"
LABEL = re.compile(r"^([^:]{1,40}):\s+(.*)$")
SENTENCE_END = re.compile(r"(?<=[.?!…])\s+")


def turns(path: Path) -> list[tuple[str | None, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        match = LABEL.match(line)
        out.append((match.group(1), match.group(2)) if match else (None, line))
    return out


def to_docx_bold(path: Path) -> None:
    document = docx.Document()
    for speaker, text in turns(path):
        paragraph = document.add_paragraph()
        if speaker:
            paragraph.add_run(f"{speaker}:").bold = True
            paragraph.add_run(f" {text}")
        else:
            paragraph.add_run(text)
    document.save(path.with_suffix(".docx"))


def to_docx_teams(path: Path) -> None:
    document = docx.Document()
    clock = 3.0
    for speaker, text in turns(path):
        if speaker:
            minutes, seconds = divmod(int(clock), 60)
            document.add_paragraph(f"{speaker}   {minutes}:{seconds:02d}")
        document.add_paragraph(text)
        clock += len(text.split()) / 2.6 + 1.5
    document.save(path.with_suffix(".docx"))


def stamp(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def cues(text: str, max_words: int = 22) -> list[str]:
    out, current = [], []
    for sentence in SENTENCE_END.split(text):
        if current and len(" ".join(current + [sentence]).split()) > max_words:
            out.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        out.append(" ".join(current))
    return out


def to_vtt(path: Path, style: str) -> None:
    """style: 'teams' (voice tag on every cue), 'first' (voice tag on a turn's first cue
    only) or 'zoom' (`Name: text` in every cue, numbered cues)."""
    lines = ["WEBVTT", ""]
    clock, number = 1.2, 0
    for speaker, text in turns(path):
        for k, cue in enumerate(cues(text)):
            number += 1
            length = len(cue.split()) / 2.6 + 0.4
            if style == "zoom":
                lines.append(str(number))
            lines.append(f"{stamp(clock)} --> {stamp(clock + length)}")
            cue = cue.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if style == "zoom":
                body = f"{speaker}: {cue}" if speaker else cue
            elif speaker and (style == "teams" or k == 0):
                body = f"<v {speaker}>{cue}</v>"
            else:
                body = cue
            lines += [body, ""]
            clock += length + 0.3
        clock += 0.8
    path.with_suffix(".vtt").write_text("\n".join(lines), encoding="utf-8")


PLAN = {
    "M01_Amy": lambda p: to_docx_bold(p),
    "M03_Carla": lambda p: to_docx_bold(p),
    "FG01_Girls_Service5": lambda p: to_docx_bold(p),
    "S02_KW02": lambda p: to_docx_teams(p),
    "C01_Leo": lambda p: to_vtt(p, "first"),
    "C02_Maisie": lambda p: to_vtt(p, "teams"),
    "C03_Jack": lambda p: to_vtt(p, "zoom"),
}

if __name__ == "__main__":
    for stem, convert in PLAN.items():
        source = ROOT / f"{stem}.txt"
        if not source.exists():
            sys.exit(f"missing {source}")
        convert(source)
        source.unlink()
        print("converted", stem)
