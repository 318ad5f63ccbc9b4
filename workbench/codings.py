"""Codings: one coder's application of one code to a span `[start, end)` of a transcript.

CSV import (`transcript`, `coder`, `code`, optional `memo`, and `start`,`end` and/or `quote`)
serves teams migrating from spreadsheet coding. A quote is located in the transcript with
whitespace normalised; a missing or ambiguous quote is an error naming the row. When both
offsets and a quote are given, the offsets win and the quote must match them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import record
from .codebook import CodeIndex
from .csvio import read_rows
from .errors import InputError, ValidationError
from .store import Study
from .store.models import Coding, Transcript
from .users import ensure_coder

CSV_COLUMNS = ("transcript", "coder", "code", "memo", "start", "end", "quote")


@dataclass
class CodingsReport:
    added: int = 0
    duplicates: int = 0
    created_coders: list[str] = field(default_factory=list)


def locate_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Every `[start, end)` where `quote` occurs in `text`, whitespace normalised (any run of
    whitespace in either matches any run in the other)."""
    words = unicodedata.normalize("NFC", quote).split()
    if not words:
        return []
    pattern = r"\s+".join(map(re.escape, words))
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def same_words(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a).split() == unicodedata.normalize("NFC", b).split()


def import_codings(study: Study, data: bytes, filename: str = "codings.csv",
                   actor: str | None = None, origin: str = "import") -> CodingsReport:
    rows = list(read_rows(data, filename, required=("transcript", "coder", "code")))
    report = CodingsReport()
    with study.transaction() as session:
        transcripts = {t.title: t for t in session.scalars(select(Transcript))}
        index = CodeIndex(session)
        existing = {(c.coder_id, c.code_id, c.transcript_id, c.start, c.end)
                    for c in session.scalars(select(Coding))}
        for number, row in rows:
            where = f"{filename}, row {number}"
            transcript = transcripts.get(row["transcript"])
            if transcript is None:
                raise ValidationError(f"no transcript titled {row['transcript']!r}", where)
            if not row["coder"]:
                raise ValidationError("no coder given", where)
            coder, created = ensure_coder(session, row["coder"])
            if created:
                report.created_coders.append(coder.name)
            code = index.resolve(row["code"], where)
            start, end = _span(transcript.text, row, where)
            key = (coder.id, code.id, transcript.id, start, end)
            if key in existing:
                report.duplicates += 1
                continue
            existing.add(key)
            session.add(Coding(coder_id=coder.id, code_id=code.id, transcript_id=transcript.id,
                               start=start, end=end, memo=row.get("memo", ""), origin=origin))
            report.added += 1
        record(session, actor, "codings.import", file=filename, added=report.added,
               duplicates=report.duplicates)
    return report


def _span(text: str, row: dict[str, str], where: str) -> tuple[int, int]:
    quote = row.get("quote", "")
    if row.get("start") or row.get("end"):
        try:
            start, end = int(row.get("start", "")), int(row.get("end", ""))
        except ValueError:
            raise ValidationError("start and end must both be whole numbers", where) from None
        if not 0 <= start < end <= len(text):
            raise ValidationError(
                f"span {start}–{end} is outside the transcript (0–{len(text)}) or empty", where)
        if quote and not same_words(text[start:end], quote):
            raise ValidationError(f"the quote does not match the text at {start}–{end}", where)
        return start, end
    if not quote:
        raise InputError("give start and end, or a quote", where)
    found = locate_quote(text, quote)
    if not found:
        raise ValidationError(f"quote not found in the transcript: {_short(quote)!r}", where)
    if len(found) > 1:
        raise ValidationError(
            f"quote is ambiguous: found {len(found)} times (at {', '.join(str(s) for s, _ in found[:5])});"
            " give start and end", where)
    return found[0]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def coding_rows(session: Session) -> list[dict]:
    """Every coding as a plain dict (transcript title, coder, code path, span, text, memo)."""
    index = CodeIndex(session)
    rows = []
    for coding in session.scalars(select(Coding).order_by(Coding.transcript_id, Coding.start, Coding.id)):
        rows.append(dict(
            transcript=coding.transcript.title, coder=coding.coder.name,
            code=index.path(coding.code), start=coding.start, end=coding.end,
            text=coding.transcript.text[coding.start:coding.end], memo=coding.memo,
            origin=coding.origin,
        ))
    return rows
