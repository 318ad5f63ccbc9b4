"""The Framework matrix: participants (cases) by themes, each cell the lead's summary of what
that person says about the theme and the quotes behind it (or their count), rows grouped by a
participant attribute — and the code × participant presence table (0/1) for mixed methods.

Cells come from `workbench.analysis.quotes` (so a cell's quotes are exactly those of the quote tables)
and the summaries a lead writes in the app (`set_summary`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..access import Actor, require
from ..audit import record
from ..codebook.study import CodeIndex
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import Code, FrameworkSummary, Participant, utcnow
from .crosstabs import attribute_value, presence
from .quotes import PRESETS, collect_quotes

LEVELS = ("theme", "code")


@dataclass
class Matrix:
    group_by: str
    columns: list[str]  # theme (or code) paths
    rows: list[dict]  # {"participant", group_by, then one cell per column: {"summary", "quotes"}}


def set_summary(study: Study, actor: Actor, pseudonym: str, code: str, text: str) -> None:
    """Write (or, with empty text, remove) the lead's summary for one participant and theme."""
    require(actor, "write_summaries")
    with study.transaction() as session:
        person = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
        if person is None:
            raise NotFound(f"no participant {pseudonym!r} in the key")
        target = CodeIndex(session).resolve(code)
        summary = session.scalar(select(FrameworkSummary).where(
            FrameworkSummary.participant_id == person.id, FrameworkSummary.code_id == target.id))
        if not text.strip():
            if summary is not None:
                session.delete(summary)
        elif summary is None:
            session.add(FrameworkSummary(participant_id=person.id, code_id=target.id, text=text.strip(),
                                         updated_by=actor.name))
        else:
            summary.text, summary.updated_by, summary.updated_at = text.strip(), actor.name, utcnow()
        record(session, actor.signature, "framework.summary", participant=person.guid, code=target.guid,
               removed=not text.strip())


def summaries(study: Study) -> dict[tuple[str, str], str]:
    """(pseudonym, code path) → the lead's summary."""
    with study.session() as session:
        index = CodeIndex(session)
        people = dict(session.execute(select(Participant.id, Participant.pseudonym)).all())
        return {(people[s.participant_id], index.path(session.get(Code, s.code_id))): s.text
                for s in session.scalars(select(FrameworkSummary))}


def framework_matrix(study: Study, actor: Actor, coder: str | None = None, level: str = "theme",
                     group_by: str = "role") -> Matrix:
    """Participants × themes (`level` "theme": top-level themes, sub-themes rolled up; "code":
    every code) from `coder`'s coding (default: the consensus; a coder's own for coders)."""
    if level not in LEVELS:
        raise ValidationError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    quotes = collect_quotes(study, actor, coder, PRESETS["pseudonym"])
    notes = summaries(study)
    if level == "theme":
        columns = [path for path, depth, _d in quotes.themes if depth == 0]
    else:
        columns = [path for path, _depth, _d in quotes.themes]
    with study.session() as session:
        people = {p.pseudonym: p for p in session.scalars(select(Participant))}
    cells: dict[tuple[str, str], list] = {}
    for q in quotes.quotes:
        column = q.theme.split("/")[0] if level == "theme" else q.theme
        cells.setdefault((q.pseudonym, column), []).append(q)
    shown = sorted({p for p, _c in cells} | {p for p, c in notes if c in columns},
                   key=lambda name: (attribute_value(people[name], group_by), name))
    rows = []
    for name in shown:
        row = {"participant": name, group_by: attribute_value(people[name], group_by)}
        for column in columns:
            row[column] = {"summary": notes.get((name, column), ""), "quotes": cells.get((name, column), [])}
        rows.append(row)
    return Matrix(group_by, columns, rows)


def matrix_sheets(matrix: Matrix, counts: bool = False) -> tuple[list[str], list[dict]]:
    """The matrix as spreadsheet columns and rows: a cell holds the summary, then each quote
    with its transcript (or, with `counts`, the number of quotes)."""
    columns = ["participant", matrix.group_by] + matrix.columns
    rows = []
    for row in matrix.rows:
        out = {"participant": row["participant"], matrix.group_by: row[matrix.group_by]}
        for column in matrix.columns:
            cell = row[column]
            if counts:
                out[column] = len(cell["quotes"])
            else:
                parts = [f"Summary: {cell['summary']}"] if cell["summary"] else []
                parts += [f"‘{q.text}’ ({q.transcript})" for q in cell["quotes"]]
                out[column] = "\n".join(parts)
        rows.append(out)
    return columns, rows


def presence_sheet(study: Study, actor: Actor, coder: str | None = None) -> tuple[list[str], list[dict]]:
    """Code × participant, 1 where any of the participant's talk is coded with the code."""
    rows = presence(study, actor, coder)
    columns = ["code"] + sorted({k for r in rows for k in r} - {"code"})
    return columns, rows
