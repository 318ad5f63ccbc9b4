"""Inter-coder agreement on a study: read the coders' codings (leads only — it compares coders),
build units from the transcripts' segments, and compute the report. The page, the CLI and the
exports all call `study_agreement`, so their numbers are the same function's output.

By default only transcripts every chosen coder has submitted are compared; others are opt-in.
`agreement_summary` gives those allowed `read_agreement_summary` but not `compute_agreement`
(viewers) the summary numbers only — on transcripts every chosen coder has submitted, without
decisions, passages, disagreements or per-transcript tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from sqlalchemy import select

from ..access import Actor, allowed, released_filter, require
from ..codebook.study import CodeIndex
from ..errors import NotFound, ValidationError
from ..store import Study
from ..store.models import CONSENSUS_NAME, Assignment, Code, Coding, Transcript, Turn, User
from ..store.models import Segment as SegmentRow
from .report import (
    CODED,
    SUBMITTED,
    Disagreement,
    Report,
    Settings,
    agreement_report,
    default_transcripts,
    disagreements,
    unfinished_transcripts,
)
from .unitizing import UnitizingResult, unitizing_alpha_result
from .units import UNITS, Decisions, Segment, TranscriptCoding, decide


@dataclass
class StudyAgreement:
    report: Report
    disagreements: list[Disagreement]
    decisions: list[Decisions]
    texts: dict[str, str]
    unused_codes: int
    unitizing: dict[str | None, UnitizingResult] | None = None  # code (None: pooled) -> αu
    settings: Settings | None = None  # what produced it (the face sets the coefficient it shows)
    left_out: list[str] = field(default_factory=list)  # not submitted by every coder, so not compared


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def span_alpha(per_transcript: list[tuple[int, dict[str, dict[str, list]]]], coders: list[str],
               codes: list[str]) -> dict[str | None, UnitizingResult]:
    """Krippendorff's αu per code and pooled, over the transcripts laid end to end as one
    continuum of characters (each coder's passages of a code merged where they overlap)."""
    spans_by_coder: list[list[tuple[int, int, str]]] = [[] for _ in coders]
    offset = 0
    for length, spans in per_transcript:
        for k, coder in enumerate(coders):
            for code, pieces in spans.get(coder, {}).items():
                spans_by_coder[k] += [(offset + a, offset + b, code) for a, b in _merged(pieces)]
        offset += length
    out = {None: unitizing_alpha_result(spans_by_coder, (0, offset))}
    for code in codes:
        out[code] = unitizing_alpha_result(spans_by_coder, (0, offset), category=code)
    return out


def _descendants(codes: list[Code]) -> dict[int, set[int]]:
    children: dict[int | None, list[int]] = {}
    for code in codes:
        children.setdefault(code.parent_id, []).append(code.id)
    out = {}
    for code in codes:
        stack, seen = [code.id], set()
        while stack:
            node = stack.pop()
            seen.add(node)
            stack += children.get(node, [])
        out[code.id] = seen
    return out


def transcript_states(study: Study, actor: Actor, coders: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Each transcript's title (in order) -> each coder's state there: their assignment's status
    (`assigned` / `submitted`), or `coded` for codings without an assignment (the consensus, a
    lead, imported codings). Leads only: it tells whose work is where."""
    require(actor, "compute_agreement")
    with study.session() as session:
        return _states(session, coders)


def _states(session, coders: list[str] | None, released_only_for: Actor | None = None) -> dict[str, dict[str, str]]:
    users = select(User.id, User.name)
    if coders is not None:
        users = users.where(User.name.in_(coders))
    name_of = dict(session.execute(users).all())
    titles = select(Transcript.id, Transcript.title).order_by(Transcript.title)
    if released_only_for is not None:
        titles = titles.where(released_filter(released_only_for))
    title_of = dict(session.execute(titles).all())
    states: dict[str, dict[str, str]] = {title: {} for title in title_of.values()}
    for transcript_id, coder_id, status in session.execute(
            select(Assignment.transcript_id, Assignment.coder_id, Assignment.status)
            .where(Assignment.coder_id.in_(name_of))):
        if transcript_id in title_of:
            states[title_of[transcript_id]][name_of[coder_id]] = status
    if released_only_for is None:
        for transcript_id, coder_id in session.execute(
                select(Coding.transcript_id, Coding.coder_id).where(Coding.coder_id.in_(name_of)).distinct()):
            if transcript_id in title_of:
                states[title_of[transcript_id]].setdefault(name_of[coder_id], CODED)
    return states


def agreement_coders(study: Study, actor: Actor) -> list[str]:
    """Whose work `actor` may compare: for a lead every account with codings (the consensus
    last); for a summary reader the accounts that have submitted an assignment."""
    if allowed(actor, "compute_agreement"):
        with study.session() as session:
            names = session.scalars(select(User.name).join(Coding, Coding.coder_id == User.id).distinct())
            return sorted(names, key=lambda n: (n == CONSENSUS_NAME, n))
    require(actor, "read_agreement_summary")
    with study.session() as session:
        return sorted(session.scalars(select(User.name).join(Assignment, Assignment.coder_id == User.id)
                                      .where(Assignment.status == SUBMITTED).distinct()))


def study_agreement(study: Study, actor: Actor, coders: list[str], transcripts: list[str] | None = None,
                    unit: str = "sentence", threshold: float = 0.5, include_interviewer: bool = False,
                    rollup: bool = False, draws: int = 1000, seed: int = 1,
                    unitizing: bool = False) -> StudyAgreement:
    """Agreement between `coders` on `transcripts` (default: every transcript all of them have
    submitted — or coded, for a coder without an assignment there, such as the consensus;
    others are opt-in by naming them). `rollup` counts a sub-theme's codings for its theme too;
    `unitizing` adds Krippendorff's αu over the coders' character spans."""
    require(actor, "compute_agreement")
    return _agreement(study, coders, transcripts, unit, threshold, include_interviewer, rollup, draws, seed,
                      unitizing)


def agreement_summary(study: Study, actor: Actor, coders: list[str], unit: str = "sentence",
                      threshold: float = 0.5, include_interviewer: bool = False, rollup: bool = False,
                      draws: int = 1000, seed: int = 1) -> StudyAgreement:
    """The summary of agreement between `coders` for a methods section — overall, per pair and
    per code — on the released transcripts every one of them has submitted (no other choice).
    No decisions, passages, disagreements or per-transcript numbers: a reader of the summary
    learns no coder's individual codings."""
    require(actor, "read_agreement_summary")
    with study.session() as session:
        states = _states(session, coders, released_only_for=actor)
    submitted = [t for t, by in states.items() if all(by.get(c) == SUBMITTED for c in coders)]
    if len(set(coders)) < 2:
        raise ValidationError("name at least two different coders")
    if not submitted:
        raise ValidationError(f"no transcript has been submitted by all of {', '.join(coders)}")
    full = _agreement(study, coders, submitted, unit, threshold, include_interviewer, rollup, draws, seed, False)
    report = replace(full.report, by_transcript=[], cells={},
                     notes=[n for n in full.report.notes if not n.startswith("Not yet submitted")])
    return StudyAgreement(report, [], [], {}, full.unused_codes, None, full.settings, [])


def _agreement(study: Study, coders: list[str], transcripts: list[str] | None, unit: str, threshold: float,
               include_interviewer: bool, rollup: bool, draws: int, seed: int, unitizing: bool) -> StudyAgreement:
    if unit not in UNITS:
        raise ValidationError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
    if len(set(coders)) < 2:
        raise ValidationError("name at least two different coders")
    if not 0 < threshold <= 1:
        raise ValidationError("the threshold must be above 0 and at most 1")
    with study.session() as session:
        users = {}
        for name in coders:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise NotFound(f"no user named {name!r}")
            users[name] = user.id
        index = CodeIndex(session)
        all_codes = list(session.scalars(select(Code)))
        below = _descendants(all_codes) if rollup else {c.id: {c.id} for c in all_codes}
        rows = session.execute(
            select(Coding.transcript_id, Coding.coder_id, Coding.code_id, Coding.start, Coding.end)
            .where(Coding.coder_id.in_(users.values()))).all()
        titles = dict(session.execute(select(Transcript.id, Transcript.title)).all())
        by_title = {t: i for i, t in titles.items()}
        left_out: list[str] = []
        if transcripts:
            missing = [t for t in transcripts if t not in by_title]
            if missing:
                raise NotFound(f"no transcript titled {missing[0]!r}")
            chosen = [by_title[t] for t in transcripts]
        else:
            states = _states(session, list(coders))
            chosen = sorted((by_title[t] for t in default_transcripts(states, list(coders))), key=titles.get)
            left_out = unfinished_transcripts(states, list(coders))
        if not chosen:
            raise ValidationError(f"no transcript has been submitted (or, without an assignment, coded) "
                                  f"by all of {', '.join(coders)}")
        used = sorted({code_id for t, _c, code_id, *_ in rows if t in chosen})
        if rollup:
            used = sorted({c.id for c in all_codes if below[c.id] & set(used)})
        code_by_id = {c.id: c for c in all_codes}
        code_paths = [index.path(code_by_id[i]) for i in used]
        name_of = {v: k for k, v in users.items()}
        spans: dict[int, dict[str, dict[int, list]]] = {}
        for transcript_id, coder_id, code_id, start, end in rows:
            if transcript_id in chosen:
                spans.setdefault(transcript_id, {}).setdefault(name_of[coder_id], {}).setdefault(code_id, []).append((start, end))
        interviewer = dict(session.execute(select(Turn.id, Turn.is_interviewer)).all())
        turn_index = dict(session.execute(select(Turn.id, Turn.index)).all())
        decisions, texts, continuum = [], {}, []
        for transcript_id in chosen:
            text = session.scalar(select(Transcript.text).where(Transcript.id == transcript_id))
            texts[titles[transcript_id]] = text
            segments = [Segment(s, e, turn_index[t], interviewer[t]) for s, e, t in session.execute(
                select(SegmentRow.start, SegmentRow.end, SegmentRow.turn_id)
                .where(SegmentRow.transcript_id == transcript_id).order_by(SegmentRow.start))]
            per_coder = {}
            for name, by_code in spans.get(transcript_id, {}).items():
                per_coder[name] = {path: [span for code_id in below[i] for span in by_code.get(code_id, [])]
                                   for i, path in zip(used, code_paths)}
            coding = TranscriptCoding(titles[transcript_id], len(text), segments, per_coder)
            continuum.append((len(text), per_coder))
            decisions.append(decide(coding, coders, code_paths, unit, threshold, include_interviewer))
        open_work = sorted({titles[a.transcript_id] for a in session.scalars(
            select(Assignment).where(Assignment.transcript_id.in_(chosen), Assignment.coder_id.in_(users.values()),
                                     Assignment.status != "submitted"))})
    report = agreement_report(decisions, coders, unit, threshold, draws, seed)
    if open_work:
        report.notes.append(f"Not yet submitted by every coder: {', '.join(open_work)} (their coding may change).")
    if left_out:
        report.notes.append(f"Left out, not yet submitted by every coder: {', '.join(left_out)} "
                            "(name them to include them).")
    settings = Settings(tuple(coders), unit, threshold, tuple(report.transcripts), rollup=rollup,
                        include_interviewer=include_interviewer, draws=draws, seed=seed,
                        date=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
                        independent=CONSENSUS_NAME not in coders)
    return StudyAgreement(report, disagreements(decisions, coders), decisions, texts,
                          len(all_codes) - len(used),
                          span_alpha(continuum, coders, code_paths) if unitizing else None, settings, left_out)


def report_json(result: StudyAgreement) -> dict:
    """The report as plain JSON-ready data (keys documented in docs/cli.md)."""
    report = result.report

    def row(r) -> dict:
        return {
            "code": r.code, "transcript": r.transcript, "coders": list(r.coders), "units": r.n_units,
            "both": r.table[0], "only_first": r.table[1], "only_second": r.table[2], "neither": r.table[3],
            "marginals": r.marginals, "flag": r.flag, "notes": r.notes,
            "coefficients": {name: {"value": _num(e.value), "ci_low": _num(e.low), "ci_high": _num(e.high),
                                    "undefined_reason": e.reason} for name, e in r.estimates.items()},
        }

    return {
        "unit": report.unit, "threshold": report.threshold, "coders": report.coders,
        "transcripts": report.transcripts, "codes": len(report.codes), "codes_never_used": result.unused_codes,
        "bootstrap_draws": report.draws, "seed": report.seed,
        "overall": row(report.overall) if report.overall else None,
        "by_pair": [row(r) for r in report.by_pair],
        "by_code": [row(r) for r in report.by_code],
        "by_transcript": [row(r) for r in report.by_transcript],
        "disagreements": len(result.disagreements),
        "unitizing_alpha": None if result.unitizing is None else {
            "overall": _num(result.unitizing[None].value),
            "by_code": {code: _num(r.value) for code, r in result.unitizing.items() if code is not None},
        },
        "notes": report.notes,
    }


def _num(value: float) -> float | None:
    return None if value != value else round(value, 6)


def disagreement_rows(result: StudyAgreement, limit_text: int = 400) -> list[dict]:
    rows = []
    for d in result.disagreements:
        text = " ".join(result.texts[d.transcript][d.start:d.end].split())
        rows.append({**asdict(d), "text": text[:limit_text]})
    return rows
